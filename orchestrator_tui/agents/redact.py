"""Masking for agent output; the rules live in core (core/redact.py), shared with the engine."""

from __future__ import annotations

from ..core.redact import SECRET_HINTS, SecretMasker, redact_secrets

__all__ = ["SecretMasker", "might_hold_secret", "redact_secrets"]


def might_hold_secret(data: bytes) -> bool:
    """Could `data` hold anything the masker changes? (False: it would change nothing.)"""
    return b"PRIVATE KEY" in data or any(hint in data for hint in SECRET_HINTS)
