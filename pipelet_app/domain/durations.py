"""A duration in words a person reads at a glance: "45 s", "12 min", "3 h 05 min".

Why: fault and session durations were shown as hours with one decimal, so every fault under three
minutes read "0.0 h". The units (s, min, h) are the same in English and German; days are written as
hours on purpose ("52 h 10 min"), so no unit needs translating and long outages stay comparable.
"""

from __future__ import annotations

import math


def duration_text(seconds: float | None) -> str:
    """Whole seconds under a minute, whole minutes under an hour, else hours and minutes (rounded down:
    an open fault of 59.9 s has not lasted a minute yet). None, negative or not finite: "—"."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "—"
    total = int(seconds)
    if total < 60:
        return f"{total} s"
    minutes = total // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
