"""Prices in the live surplus loop, on SQLite and PostgreSQL: the tariff source set through
`PUT /api/v1/sites/{id}/surplus` (an uploaded CSV, parsed and cached at once; aWATTar, fetched by the
worker from a local fake of its public API, the last prices kept with the reason when it fails), and a
raw-JSON OCPP charger at an Eco-plus site that gets a higher profile when the price now is cheap than
when it is expensive; without prices Eco-plus plans like PV-priority and the decision says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app.actuation.loop import SiteLoop, run_cycle
from pipelet_app.db import reset_engine, session_scope
from pipelet_app.db.models import Charger, ChargingSession, SessionPreference, SiteSurplus, User
from pipelet_app.db.types import utcnow
from pipelet_app.domain.surplus import PricePoint, PriceSeries
from pipelet_app.domain.surplus.inputs import prices_to_rows
from pipelet_app.ocpp.server import CsmsServer
from pollers.tariffs import refresh_tariffs
from tests.fakes.awattar_fake import running_awattar
from tests.integration.api_keys import key_of, site_of
from tests.integration.sites.test_surplus_actuation import (
    Profiles,
    charging_car,
    decisions,
    make_site,
    sunshine,
)

# ------------------------------------------------------------------------------------ settings API


def _csv(start: datetime, prices: list[float]) -> str:
    rows = [f"{(start + timedelta(minutes=15 * i)).isoformat()},{p}" for i, p in enumerate(prices)]
    return "time_utc,price_per_kwh\n" + "\n".join(rows) + "\n"


def test_an_uploaded_csv_is_cached_at_once_and_bad_input_saves_nothing(client: TestClient) -> None:
    son = key_of("operator@sonnenstrom.demo")
    url = f"/api/v1/sites/{site_of('operator@sonnenstrom.demo')}/surplus"
    start = utcnow().replace(minute=0, second=0, microsecond=0)
    saved = client.put(
        url,
        json={"mode": "eco-plus", "tariff_source": "csv", "tariff_csv": _csv(start, [0.3, 0.1, 0.2, 0.4])},
        headers=son,
    )
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert (body["tariff_source"], body["tariff_slots"], body["tariff_error"]) == ("csv", 4, None)
    assert datetime.fromisoformat(body["tariff_until_utc"].replace("Z", "+00:00")) == start + timedelta(
        hours=1
    )
    assert body["tariff_status"].startswith("prices until")

    for bad, field in (
        ({"tariff_source": "csv", "tariff_csv": "when,price\n1,2\n"}, "tariff_csv:"),
        (
            {"tariff_source": "csv", "tariff_csv": _csv(start, [0.1]).replace("0.1", "cheap")},
            "tariff_csv row 2",
        ),
        ({"tariff_source": "tibber"}, "tariff_source:"),
        ({"tariff_source": "awattar", "tariff_region": "fr"}, "tariff_region:"),
        ({"mode": "pv-only", "tariff_source": "csv", "tariff_csv": ""}, "tariff_csv:"),
    ):
        answer = client.put(url, json=bad, headers=son)
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.json()["error"]["message"].startswith(field), answer.text
    after = client.get(url, headers=son).json()
    assert (after["mode"], after["tariff_source"], after["tariff_slots"]) == (
        "eco-plus",
        "csv",
        4,
    )  # unchanged

    none = client.put(url, json={"tariff_source": "none"}, headers=son).json()
    assert (none["tariff_slots"], none["tariff_status"]) == (
        0,
        "no tariff source: Eco-plus plans like PV-priority",
    )
    nw = key_of("operator@northwind.demo")
    assert (
        client.put(
            url, json={"tariff_source": "csv", "tariff_csv": _csv(start, [1.0])}, headers=nw
        ).status_code
        == 404
    )


def test_the_worker_fetches_awattar_and_keeps_the_last_prices_when_it_fails(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    son = key_of("operator@sonnenstrom.demo")
    site = site_of("operator@sonnenstrom.demo")
    url = f"/api/v1/sites/{site}/surplus"
    with running_awattar() as fake:
        monkeypatch.setenv("AWATTAR_API_BASE", fake.url)
        reset_engine()  # also clears the settings cache
        assert client.put(url, json={"tariff_source": "awattar"}, headers=son).json()["tariff_region"] == "de"
        # The fixture is aWATTar's answer for 2018-10-14: the worker's clock stands there.
        noon = datetime(2018, 10, 14, 12, 0, tzinfo=UTC)
        assert refresh_tariffs(now=noon) == 1
        assert len(fake.requests) == 1
        with session_scope() as db:
            row = db.get(SiteSurplus, site)
            assert row is not None and row.tariff_prices and row.tariff_error is None
            first = list(row.tariff_prices)
            assert row.tariff_next_fetch_utc == noon + timedelta(hours=1)
        assert refresh_tariffs(now=noon + timedelta(minutes=5)) == 0  # not due: no request
        assert len(fake.requests) == 1

        fake.status = 503
        assert refresh_tariffs(now=noon + timedelta(hours=1)) == 0
        with session_scope() as db:
            row = db.get(SiteSurplus, site)
            assert row is not None and row.tariff_prices == first  # kept
            assert row.tariff_error and "503" in row.tariff_error
            assert row.tariff_next_fetch_utc == noon + timedelta(hours=1, minutes=10)


# ------------------------------------------------------------------------------------ the live loop


def _prices(now: datetime, cheap_now: bool) -> PriceSeries:
    """Twelve quarter hours from the one running now: the first cheap and the rest dear, or the reverse."""
    start = now.replace(minute=now.minute // 15 * 15, second=0, microsecond=0)
    first, rest = (0.05, 0.40) if cheap_now else (0.40, 0.05)
    return PriceSeries(
        tuple(PricePoint(start + timedelta(minutes=15 * i), first if i == 0 else rest) for i in range(12)),
        900.0,
    )


def _wish(site_cp: str, departure: datetime, energy_wh: float) -> None:
    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == site_cp)).one()
        session = db.exec(select(ChargingSession).where(ChargingSession.charger_id == charger.id)).one()
        db.add(SessionPreference(session_id=session.id, departure_utc=departure, energy_wh=energy_wh))


def _set_prices(site_id: int, series: PriceSeries | None) -> None:
    with session_scope() as db:
        row = db.get(SiteSurplus, site_id)
        assert row is not None
        row.tariff_source = "none" if series is None else "csv"
        row.tariff_prices = None if series is None else prices_to_rows(series)
        row.tariff_slot_s = None if series is None else series.slot_s
        db.add(row)


async def _tx_limit(csms: CsmsServer, cheap_now: bool | None) -> tuple[float, str]:
    """The TxProfile limit an Eco-plus site sends with no sun, 8 kWh wanted in 2 hours, and prices whose
    current slot is cheap (True), dear (False) or no prices at all (None); and the cycle's reason."""
    site = make_site(mode="eco-plus")
    profiles = Profiles()
    cp = await charging_car(csms, site, profiles)
    try:
        t0 = utcnow()
        _wish(site.cp, t0 + timedelta(hours=2), 8000.0)
        _set_prices(site.id, None if cheap_now is None else _prices(t0 + timedelta(seconds=1), cheap_now))
        await sunshine(site, t0, pv_w=0.0, grid_w=400.0)  # night: the house imports, no surplus
        await run_cycle(site.id, SiteLoop(), now=t0 + timedelta(seconds=1))
        tx = [limit for purpose, _, limit in profiles.purposes() if purpose == "TxProfile"]
        assert tx, profiles.purposes()
        return tx[-1], decisions(site)[-1].reason
    finally:
        await cp.close()


async def test_cheap_prices_now_send_a_higher_profile_than_dear_ones(csms: CsmsServer) -> None:
    cheap, cheap_reason = await _tx_limit(csms, cheap_now=True)
    dear, dear_reason = await _tx_limit(csms, cheap_now=False)
    assert cheap > dear, (cheap, dear)
    assert cheap == 16.0  # the cheapest slot is now: full power from the grid to meet the departure
    assert dear == 0.0  # no surplus and the cheap slots come later: Eco-plus waits for them
    assert "planned like pv-priority" not in cheap_reason + dear_reason


async def test_without_prices_eco_plus_plans_like_pv_priority_and_says_so(csms: CsmsServer) -> None:
    limit, reason = await _tx_limit(csms, cheap_now=None)
    assert limit == 6.0  # PV-priority keeps the minimum from the grid
    assert "eco-plus without prices (no tariff source): planned like pv-priority" in reason


def test_the_solar_charging_page_sets_the_tariff(demo: dict) -> None:
    from pipelet_app.auth import InvalidInput, Principal
    from pipelet_app.portals.operator import surplus_data

    with session_scope() as db:
        son = Principal.of(db.exec(select(User).where(User.email == "operator@sonnenstrom.demo")).one())
    site = site_of("operator@sonnenstrom.demo")
    start = utcnow().replace(minute=0, second=0, microsecond=0)
    form = {
        "enabled": "off",
        "mode": "eco-plus",
        "tariff_source": "csv",
        "tariff_csv": _csv(start, [0.2, 0.3, 0.25, 0.2]),
    }
    with session_scope() as db:
        surplus_data.save_settings(db, son, site, form)
    with session_scope() as db:
        settings = surplus_data.surplus_view(db, son, site)["settings"]
    assert settings["tariff_source"] == "csv" and settings["tariff_status"].startswith("prices until")
    with session_scope() as db:  # saving again without new text keeps the stored CSV
        surplus_data.save_settings(db, son, site, {**form, "tariff_csv": ""})
        assert surplus_data.surplus_view(db, son, site)["settings"]["tariff_status"].startswith(
            "prices until"
        )
    with session_scope() as db, pytest.raises(InvalidInput, match=r"^tariff_csv"):
        surplus_data.save_settings(db, son, site, {**form, "tariff_csv": "price\n1\n"})
