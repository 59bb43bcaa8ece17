"""The worker's price cache (`prices_to_rows` / `prices_from_rows`) and whether prices are in force now
(`prices_cover`): what the live loop reads each cycle instead of calling a tariff source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain.surplus import PricePoint, PriceSeries
from pipelet_app.domain.surplus.inputs import InputError, prices_cover, prices_from_rows, prices_to_rows

START = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # a DST day in Europe: the cache is UTC throughout


@given(
    st.lists(st.floats(min_value=-0.5, max_value=2.0, allow_nan=False), min_size=1, max_size=200),
    st.sampled_from([900.0, 3600.0]),
)
def test_the_cache_gives_back_the_same_series(prices: list[float], slot_s: float) -> None:
    series = PriceSeries(
        tuple(PricePoint(START + timedelta(seconds=slot_s * i), p) for i, p in enumerate(prices)), slot_s
    )
    assert prices_from_rows(prices_to_rows(series), series.slot_s) == series


def test_prices_are_in_force_from_the_first_slot_to_the_end_of_the_last() -> None:
    series = PriceSeries((PricePoint(START, 0.1), PricePoint(START + timedelta(minutes=15), 0.2)), 900.0)
    assert not prices_cover(series, START - timedelta(seconds=1))
    assert prices_cover(series, START)
    assert prices_cover(series, START + timedelta(minutes=29, seconds=59))
    assert not prices_cover(series, START + timedelta(minutes=30))
    assert not prices_cover(None, START)


@pytest.mark.parametrize(
    "rows", [[], "x", [["2026-03-29T00:00:00+00:00"]], [["yesterday", 0.1]], [["2026-03-29T00:00:00", 0.1]]]
)
def test_an_unreadable_cache_names_the_row(rows: object) -> None:
    with pytest.raises(InputError, match=r"^tariff cache"):
        prices_from_rows(rows, 900.0)
