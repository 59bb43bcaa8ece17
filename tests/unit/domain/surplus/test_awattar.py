"""aWATTar's market-data answer as a price series (`inputs.parse_awattar_json`), errors naming the field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipelet_app.domain.surplus.inputs import InputError, parse_awattar_json

FIXTURE = Path(__file__).parents[3] / "fixtures" / "tariffs" / "awattar" / "marketdata_2018-10-14.json"
DOCUMENTED = {  # the example of https://www.awattar.de/services/api
    "object": "list",
    "data": [
        {
            "start_timestamp": 1428591600000,
            "end_timestamp": 1428595200000,
            "marketprice": 42.09,
            "unit": "Eur/MWh",
        }
    ],
    "url": "/at/v1/marketdata",
}


def test_the_documented_example_is_eur_per_kwh_hourly() -> None:
    series = parse_awattar_json(DOCUMENTED)
    (point,) = series.points
    assert point.start_utc == datetime(2015, 4, 9, 15, 0, tzinfo=UTC)
    assert point.price_per_kwh == pytest.approx(0.04209)
    assert series.slot_s == 3600.0


def test_a_day_of_slots_in_order_with_a_negative_price() -> None:
    series = parse_awattar_json(json.loads(FIXTURE.read_text()))
    assert len(series.points) == 24
    assert series.points[0].start_utc == datetime(2018, 10, 14, tzinfo=UTC)
    assert [p.start_utc for p in series.points] == sorted(p.start_utc for p in series.points)
    assert min(p.price_per_kwh for p in series.points) == pytest.approx(-0.0021)


def test_quarter_hour_slots_give_a_quarter_hour_series() -> None:
    data = {
        "object": "list",
        "data": [
            {"start_timestamp": 0, "end_timestamp": 900_000, "marketprice": 10.0, "unit": "Eur/MWh"},
            {"start_timestamp": 900_000, "end_timestamp": 1_800_000, "marketprice": 20.0, "unit": "Eur/MWh"},
        ],
    }
    assert parse_awattar_json(data).slot_s == 900.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"unit": "ct/kWh"}, "data[0].unit:"),
        ({"marketprice": "cheap"}, "data[0].marketprice: not a number"),
        ({"marketprice": None}, "data[0].marketprice: missing"),
        ({"end_timestamp": 1428591600000}, "data[0].end_timestamp: not after start_timestamp"),
        ({"start_timestamp": None}, "data[0].start_timestamp: missing"),
    ],
)
def test_bad_slots_are_refused_naming_the_field(change: dict, message: str) -> None:
    bad = {**DOCUMENTED, "data": [{**DOCUMENTED["data"][0], **change}]}
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_awattar_json(bad)


def test_an_answer_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(InputError, match='object: expected "list"'):
        parse_awattar_json({"error": "rate limited"})
    with pytest.raises(InputError, match="data: no price slots"):
        parse_awattar_json({"object": "list", "data": []})
