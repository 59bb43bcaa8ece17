"""Largest-remainder allocation: parts sum exactly to the whole and each is within a cent of its share."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelet_app.domain.tax.allocation import allocate
from pipelet_app.domain.tax.errors import TaxValidationError


@st.composite
def shares(draw: st.DrawFn) -> dict[str, Decimal]:
    weights = draw(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=40).filter(any))
    total = sum(weights)
    out = {f"P{i:02d}": (Decimal(w) / total).quantize(Decimal("0.000001")) for i, w in enumerate(weights)}
    first = max(out, key=lambda k: out[k])
    out[first] += Decimal(1) - sum(out.values())
    return out


@settings(max_examples=200, deadline=None)
@given(
    amount=st.integers(min_value=-(10**12), max_value=10**12).map(lambda c: Decimal(c) / 100), split=shares()
)
def test_parts_sum_exactly_and_stay_within_a_cent(amount: Decimal, split: dict[str, Decimal]) -> None:
    parts = allocate(amount, split)
    assert sum(parts.values()) == amount
    for pid, part in parts.items():
        assert abs(part - amount * split[pid]) < Decimal("0.01")
        assert part == part.quantize(Decimal("0.01"))


def test_ties_go_by_partner_id_and_refuse_bad_shares() -> None:
    third = Decimal("0.333334")
    parts = allocate(Decimal("0.02"), {"B": Decimal("0.333333"), "A": Decimal("0.333333"), "C": third})
    assert parts == {
        "B": Decimal("0.00"),
        "A": Decimal("0.01"),
        "C": Decimal("0.01"),
    }  # C largest, then A before B
    with pytest.raises(TaxValidationError):
        allocate(Decimal("1.00"), {"A": Decimal("0.5"), "B": Decimal("0.49")})
    with pytest.raises(ValueError):
        allocate(Decimal("1.001"), {"A": Decimal("1")})


def test_normalize_sums_exactly_to_one() -> None:
    from pipelet_app.domain.tax.allocation import normalize

    shares = normalize({"A": Decimal("0.01"), "B": Decimal("0.96")})
    assert sum(shares.values()) == Decimal(1)
    assert abs(shares["A"] - Decimal(1) / 96 * Decimal("0.01") * 96 / Decimal("0.97")) < Decimal("1e-11")
    assert normalize({"A": Decimal(0), "B": Decimal(0)}) == {"A": Decimal("0.5"), "B": Decimal("0.5")}
