"""Settling a pre-authorised payment: capped at the authorisation, the rest a shortfall, free under
2 kWh, and exact minor-unit amounts for the card network."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain.payments import FREE_BELOW_WH, from_minor, settle, to_minor

money = st.decimals(min_value=0, max_value=10_000, places=2)
energy = st.floats(min_value=0, max_value=500_000, allow_nan=False)


@given(price=money, wh=energy, authorized=money)
def test_capture_never_exceeds_the_authorisation_and_nothing_is_lost(price, wh, authorized) -> None:
    s = settle(price, wh, authorized)
    assert Decimal(0) <= s.capture <= authorized
    assert s.shortfall >= 0
    if wh >= FREE_BELOW_WH:
        assert s.capture + s.shortfall == price  # every cent of the price is captured or recorded
    else:
        assert s.cancel and s.shortfall == 0


@given(price=money, wh=energy, authorized=money, more=money)
def test_a_higher_price_never_captures_less(price, wh, authorized, more) -> None:
    assert settle(price + more, wh, authorized).capture >= settle(price, wh, authorized).capture


def test_the_examples_the_receipt_shows() -> None:
    assert settle(Decimal("12.34"), 15_000, Decimal(50)).capture == Decimal("12.34")
    capped = settle(Decimal("61.20"), 90_000, Decimal(50))
    assert (capped.capture, capped.shortfall) == (Decimal(50), Decimal("11.20"))
    assert settle(Decimal("3.10"), 1999, Decimal(50)).cancel  # under 2 kWh: free
    assert not settle(Decimal("3.10"), 2000, Decimal(50)).cancel  # 2 kWh is not under 2 kWh
    assert settle(None, 9000, Decimal(50)).cancel  # unknown price: nothing taken
    assert settle(Decimal(0), 9000, Decimal(50)).cancel  # Stripe refuses a capture of 0


@given(minor=st.integers(min_value=0, max_value=10**9), currency=st.sampled_from(["EUR", "JPY", "BHD"]))
def test_minor_units_round_trip_exactly(minor, currency) -> None:
    assert to_minor(from_minor(minor, currency), currency) == minor


def test_minor_units_per_currency() -> None:
    assert to_minor(Decimal("12.34"), "EUR") == 1234
    assert to_minor(Decimal("1200"), "JPY") == 1200
    assert to_minor(Decimal("1.234"), "KWD") == 1234
    with pytest.raises(ValueError, match="amount"):
        to_minor(Decimal("0.001"), "EUR")  # would silently round on its way to the card
