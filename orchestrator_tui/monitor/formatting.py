"""Short forms of durations, token counts and money for a pane 30 columns wide."""

from __future__ import annotations


def short_duration(seconds: float) -> str:
    """7s, 3m05s, 1h02m, 3d04h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def short_tokens(tokens: int) -> str:
    """950, 1.9k, 12k, 1.2M."""
    if tokens < 1000:
        return str(tokens)
    if tokens < 10_000:
        return f"{tokens / 1000:.1f}k"
    if tokens < 1_000_000:
        return f"{tokens // 1000}k"
    return f"{tokens / 1_000_000:.1f}M"


def short_cost(usd: float) -> str:
    """$0.012 below a dollar (agents cost cents), $3.40 above."""
    return f"${usd:.3f}" if usd < 1 else f"${usd:.2f}"


def age(seconds: float) -> str:
    """How old a heartbeat or an event is: "42 s" up to a minute, then 3m05s, 2d04h."""
    return f"{max(0.0, seconds):.0f} s" if seconds < 60 else short_duration(seconds)
