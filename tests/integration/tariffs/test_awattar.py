"""The aWATTar tariff adapter against a local fake of its public API over real HTTP, and
`pipelet simulate-surplus --prices-awattar` pricing the grid energy of an eco-plus day with it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelet_app.cli import app
from pipelet_app.tariffs.awattar import TariffError, fetch_prices
from tests.fakes.awattar_fake import FIXTURE, running_awattar

GHI = Path(__file__).parents[2] / "fixtures" / "surplus" / "ghi_1min_golden_co_2018-10-14_broken_clouds.csv"


def test_fetches_the_slots_of_the_span_in_eur_per_kwh() -> None:
    with running_awattar() as fake:
        series = fetch_prices(
            datetime(2018, 10, 14, 12, 30, tzinfo=UTC), datetime(2018, 10, 14, 15, 0, tzinfo=UTC), fake.url
        )
        (query,) = fake.requests
    assert query == {"start": ["1539520200000"], "end": ["1539529200000"]}
    assert [p.start_utc.hour for p in series.points] == [12, 13, 14]
    assert [round(p.price_per_kwh, 5) for p in series.points] == [0.0184, 0.00475, -0.0021]


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (503, None, "answered HTTP 503"),
        (200, b"<html>maintenance</html>", "not JSON"),
        (
            200,
            json.dumps({"object": "list", "data": [{"start_timestamp": 0}]}).encode(),
            "data[0].end_timestamp",
        ),
    ],
)
def test_failures_say_what_went_wrong(status: int, body: bytes | None, message: str) -> None:
    with running_awattar() as fake:
        fake.status, fake.body = status, body
        with pytest.raises(TariffError, match=message.replace("[", r"\[").replace("]", r"\]")):
            fetch_prices(datetime(2018, 10, 14, tzinfo=UTC), datetime(2018, 10, 15, tzinfo=UTC), fake.url)


def test_nobody_listening_is_a_tariff_error() -> None:
    with running_awattar() as fake:
        url = fake.url
    with pytest.raises(TariffError, match="did not answer"):
        fetch_prices(datetime(2018, 10, 14, tzinfo=UTC), datetime(2018, 10, 15, tzinfo=UTC), url)


def _simulate(tmp_path: Path, *prices: str) -> tuple[int, str, str]:
    ev = tmp_path / "ev.json"
    car = {
        "arrive_utc": "2018-10-14T15:00:00Z",
        "depart_utc": "2018-10-14T23:30:00Z",
        "energy_wh": 30000,
        "max_a": 16,
        "phases": 3,
    }
    ev.write_text(json.dumps([car]))
    args = ["simulate-surplus", "--pv", str(GHI), "--ev", str(ev), "--kwp", "8", "--load-w", "500"]
    result = CliRunner().invoke(app, [*args, "--mode", "eco-plus", *prices])
    return result.exit_code, result.stdout, result.stderr


def test_simulate_surplus_prices_the_grid_energy_from_awattar(tmp_path: Path) -> None:
    with running_awattar() as fake:
        code, out, err = _simulate(tmp_path, "--prices-awattar", fake.url)
        assert len(fake.requests) == 1
    assert code == 0, err
    summary = json.loads(out)
    assert summary["ev_grid_wh"] > 0
    assert summary["ev_grid_cost"] is not None and summary["ev_grid_cost"] != 0
    # priced with the fixture's slots: between its cheapest and dearest hour per grid kWh
    prices = [slot["marketprice"] / 1000 for slot in json.loads(FIXTURE.read_text())["data"]]
    grid_kwh = summary["ev_grid_wh"] / 1000
    assert min(prices) * grid_kwh <= summary["ev_grid_cost"] <= max(prices) * grid_kwh


def test_simulate_surplus_refuses_both_price_sources_and_reports_a_dead_tariff(tmp_path: Path) -> None:
    prices = tmp_path / "prices.csv"
    prices.write_text("time_utc,price_per_kwh\n2018-10-14T00:00:00Z,0.3\n")
    code, _, err = _simulate(tmp_path, "--prices", str(prices), "--prices-awattar", "http://127.0.0.1:9")
    assert code == 2 and "--prices/--prices-awattar" in err
    with running_awattar() as fake:
        fake.status = 500
        code, _, err = _simulate(tmp_path, "--prices-awattar", fake.url)
    assert code == 2 and "--prices-awattar: aWATTar:" in err and "HTTP 500" in err
