"""Sign-in budgets: per client address, for everyone together, and a lock-out per e-mail *and* address.

- Per address (`LOGIN_PER_IP_PER_MINUTE`) and overall (`LOGIN_GLOBAL_PER_MINUTE`): counted before any
  work, so a flood is turned away for the price of a dictionary (or Redis) increment.
- Lock-out: `LOGIN_MAX_FAILURES` wrong passwords for one e-mail from one address lock that pair for
  `LOGIN_LOCKOUT_MINUTES`. Keyed by the e-mail as typed, known or not, so the answer never tells known
  from unknown e-mails; and by address, so an attacker elsewhere locks out only themselves, never the
  account's owner. Guessing one account from many addresses is bounded by the overall budget.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from pipelet_app.api.ratelimit import limiter_for
from pipelet_app.settings import get_settings


@dataclass(frozen=True)
class Refusal:
    message: str
    retry_after_s: int


def _pair(email: str, address: str) -> str:
    digest = hashlib.sha256(f"{email.strip().lower()}|{address}".encode()).hexdigest()[:32]
    return f"login-fail:{digest}"


def _lockout_window_s() -> int:
    return max(60, int(get_settings().login_lockout_minutes * 60))


def admit(email: str, address: str) -> Refusal | None:
    """Count one attempt; a Refusal when a budget is spent or the pair is locked (same for any e-mail)."""
    settings = get_settings()
    limiter = limiter_for(settings.redis_url)
    failures, left_s = limiter.count(_pair(email, address), _lockout_window_s())
    if failures >= settings.login_max_failures:
        minutes = math.ceil(left_s / 60)
        return Refusal(f"Too many failed attempts. Try again in {minutes} minute(s).", left_s)
    for key, limit in (
        (f"login-ip:{address}", settings.login_per_ip_per_minute),
        ("login-all", settings.login_global_per_minute),
    ):
        if limit > 0 and (wait := limiter.hit(key, limit)) is not None:
            return Refusal(f"Too many sign-in attempts; try again in {wait} s.", wait)
    return None


def failed(email: str, address: str) -> bool:
    """Count one wrong password; True when this one locks the pair (the lock-out starts now)."""
    settings = get_settings()
    limiter = limiter_for(settings.redis_url)
    limiter.hit(_pair(email, address), 1_000_000, _lockout_window_s())
    failures, _left = limiter.count(_pair(email, address), _lockout_window_s())
    return failures == settings.login_max_failures


def succeeded(email: str, address: str) -> None:
    settings = get_settings()
    limiter_for(settings.redis_url).clear(_pair(email, address), _lockout_window_s())
