"""Splitting a partnership amount among partners to the cent, so the parts add up to the whole.

Why largest remainder: each K-1 line is rounded to the cent, and the K-1s must add up exactly to the
Schedule K line they come from. Rounding each share on its own can miss by a cent or more; handing
out the leftover cents to the largest fractional remainders (ties broken by partner id, so the result
is reproducible) never does.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal

from pipelet_app.domain.tax import errors
from pipelet_app.domain.tax.errors import RuleViolation

CENT = Decimal("0.01")
ONE = Decimal(1)


def check_shares(shares: Mapping[str, Decimal], what: str) -> list[RuleViolation]:
    """Shares (fractions) must be within 0..1 and sum to exactly 1 (100 %)."""
    out: list[RuleViolation] = []
    for pid, share in shares.items():
        if share < 0 or share > ONE:
            out.append(errors.violation(errors.ALLOC_100, f"{what}[{pid}]", "share_range", share=share * 100))
    total = sum(shares.values(), Decimal(0))
    if total != ONE:
        out.append(
            errors.violation(errors.ALLOC_100, what, "shares_sum", total=total * 100, partners=len(shares))
        )
    return out


def allocate(amount: Decimal, shares: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Split `amount` (to the cent) by `shares` (summing to 1) so the parts sum exactly to `amount`."""
    errors.raise_if(check_shares(shares, "shares"))
    if amount < 0:
        return {pid: -part for pid, part in allocate(-amount, shares).items()}
    cents = int((amount / CENT).to_integral_value())
    if Decimal(cents) * CENT != amount:
        raise ValueError(f"amount {amount} is not a whole number of cents")
    exact = {pid: Decimal(cents) * share for pid, share in shares.items()}
    floor = {pid: int(value.to_integral_value(rounding=ROUND_DOWN)) for pid, value in exact.items()}
    left = cents - sum(floor.values())
    order = sorted(shares, key=lambda pid: (-(exact[pid] - floor[pid]), pid))
    for pid in order[:left]:
        floor[pid] += 1
    return {pid: Decimal(floor[pid]) * CENT for pid in shares}


def normalize(weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Shares proportional to non-negative `weights`, to 1e-12, summing exactly to 1 (the remainder on
    the largest weight); equal shares when every weight is zero."""
    if not weights:
        raise ValueError("no weights to normalize")
    total = sum(weights.values(), Decimal(0))
    if total <= 0:
        weights = dict.fromkeys(weights, ONE)
        total = Decimal(len(weights))
    step = Decimal("1e-12")
    shares = {pid: (w / total).quantize(step, rounding=ROUND_DOWN) for pid, w in weights.items()}
    largest = max(sorted(weights), key=lambda pid: weights[pid])
    shares[largest] += ONE - sum(shares.values(), Decimal(0))
    return shares
