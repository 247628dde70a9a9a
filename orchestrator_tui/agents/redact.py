"""Masking for agent output; the rules live in core (core/redact.py), shared with the engine."""

from __future__ import annotations

from ..core.redact import SecretMasker, redact_secrets

__all__ = ["SecretMasker", "redact_secrets"]
