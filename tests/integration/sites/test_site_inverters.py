"""Inverter clouds as a site's PV source, on SQLite and PostgreSQL: the adapters against the loopback fakes
serving the recorded vendor shapes, a link's poll into `site_energy_minutes` (idempotent, nothing lost on
a failed poll), the measured solar share of an OCPP session at a site whose only PV data is the cloud's,
recomputed when the cloud revises its values, and the API's tenant checks (credentials never returned)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app.api import build_api
from pipelet_app.auth import Principal
from pipelet_app.db import reset_engine, session_scope
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    MeterValue,
    Role,
    SessionSource,
    Site,
    SiteEnergyMinute,
    SiteInverter,
    SiteSample,
    Tenant,
    TenantKind,
    User,
)
from pipelet_app.db.types import utcnow
from pipelet_app.inverters.base import System
from pipelet_app.inverters.credentials import decrypt_credentials
from pipelet_app.inverters.enphase import EnphaseAdapter
from pipelet_app.inverters.solaredge import SolarEdgeAdapter
from pipelet_app.services import site_inverters as service
from pollers.site_energy import settle_session_solar
from pollers.site_inverters import LinkReport, poll_link, spread
from tests.fakes.inverters import enphase as enphase_fake
from tests.fakes.inverters import solaredge as solaredge_fake
from tests.fakes.inverters._recorded import assert_same_shape, recorded
from tests.integration.api_keys import key_of, site_of


def five_minutes_ago() -> datetime:
    now = utcnow()
    return now.replace(minute=now.minute // 5 * 5, second=0, microsecond=0)


# ------------------------------------------------------------------------------------ adapters


async def test_enphase_production_micro_gives_complete_five_minute_means() -> None:
    start = five_minutes_ago()
    with enphase_fake.EnphaseFake(start=start) as fake:
        fake.production = lambda moment: 4000.0 if moment.minute % 10 < 5 else 2000.0
        adapter = EnphaseAdapter(fake.credentials(), base_url=fake.base_url, clock=fake.clock.now)
        async with adapter:
            fake.clock.advance(3 * 3600 + 120)  # 3 h and 2 min: the running interval is not served
            intervals = await adapter.fetch_production(
                System(str(enphase_fake.SYSTEM_ID), "Home"), start + timedelta(hours=1)
            )
    assert len(intervals) == 24  # the 2 hours after `since`, in 5-minute intervals
    assert intervals[0].start_utc == start + timedelta(hours=1)
    assert all(i.end_utc - i.start_utc == timedelta(minutes=5) for i in intervals)
    assert {round(i.power_w) for i in intervals} == {4000, 2000}
    assert intervals[-1].end_utc <= fake.clock.now()
    for path, status, body in fake.answers:
        if path.endswith("/production_micro"):
            assert status == 200
            assert_same_shape(body, recorded("enphase", "production_micro"))


async def test_solaredge_power_gives_quarter_hour_means_and_skips_nulls() -> None:
    start = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    with solaredge_fake.SolarEdgeFake(start=start) as fake:
        fake.production = lambda moment: 1500.0 + 100 * (moment.minute // 15)
        fake.clock.advance(3600 + 600)  # 09:10: the quarter 09:00-09:15 is still running (null)
        adapter = SolarEdgeAdapter(
            {"api_key": solaredge_fake.API_KEY}, base_url=fake.base_url, clock=fake.clock.now
        )
        async with adapter:
            intervals = await adapter.fetch_production(
                System(str(solaredge_fake.SITE_ID), "Home", solaredge_fake.TZ), start
            )
    assert [i.start_utc.astimezone(UTC).strftime("%H:%M") for i in intervals] == [
        "08:00",
        "08:15",
        "08:30",
        "08:45",
    ]
    assert [round(i.power_w) for i in intervals] == [1500, 1600, 1700, 1800]
    (answer,) = [body for path, _, body in fake.answers if path.endswith("/power")]
    assert answer["power"]["values"][-1]["value"] is None
    assert_same_shape(answer, recorded("solaredge", "power"))


def test_only_brands_with_a_production_endpoint_can_be_linked() -> None:
    assert set(service.production_brands()) >= {"enphase", "solaredge", "fronius"}
    for brand in ("ecoflow", "solarwatt"):  # their clouds document no production: refused, and why
        with pytest.raises(Exception, match=r"^brand: (EcoFlow|Solarwatt)") as refused:
            service.check_input(brand, {"token": "x"}, None)
        assert "enphase" in str(refused.value)
    with pytest.raises(Exception, match=r"^brand: must be one of"):
        service.check_input("nosuchbrand", {"token": "x"}, None)


# ------------------------------------------------------------------------------------ the poll job


def test_an_interval_becomes_one_sample_per_minute_it_covers() -> None:
    from pipelet_app.inverters.base import ProductionInterval

    start = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    quarter = ProductionInterval(start, start + timedelta(minutes=15), 1200.0)
    later = ProductionInterval(start + timedelta(minutes=14), start + timedelta(minutes=19), 900.0)
    samples = spread([later, quarter], site_id=1, device_id=2)
    assert [s.ts.minute for s in samples] == list(range(19))
    assert {s.power_w for s in samples[:14]} == {1200.0} and samples[14].power_w == 900.0  # the later wins
    assert {(s.kind, s.source, s.device_id) for s in samples} == {("pv", "cloud", 2)}


def _operator_site() -> tuple[Principal, int, int]:
    """An operator, a site with one OCPP charger claimed into it, and no meter at the site at all."""
    with session_scope() as db:
        tenant = Tenant(name="Cloudy", slug="cloudy", kind=TenantKind.OPERATOR)
        db.add(tenant)
        db.flush()
        user = User(email="op@cloudy.test", name="Op", role=Role.OPERATOR, tenant_id=tenant.id)
        site = Site(tenant_id=tenant.id, name="Barn", timezone="Europe/Berlin")
        db.add_all([user, site])
        db.flush()
        charger = Charger(charge_point_id="CP-CLOUD", tenant_id=tenant.id, site_id=site.id)
        db.add(charger)
        db.flush()
        return Principal.of(user), site.id, charger.id  # type: ignore[return-value]


def _session(charger_id: int, start: datetime, minutes: int, power_w: float) -> int:
    """An ended OCPP session with a register sample every minute."""
    with session_scope() as db:
        energy = power_w * minutes / 60
        session = ChargingSession(
            transaction_id=f"tx-cloud-{start.timestamp():.0f}",
            station_id="CP-CLOUD",
            source=SessionSource.OCPP_WALLBOX,
            charger_id=charger_id,
            connector_id=1,
            start_utc=start,
            end_utc=start + timedelta(minutes=minutes),
            meter_start_wh=0,
            meter_stop_wh=energy,
            energy_wh=energy,
        )
        db.add(session)
        db.flush()
        for minute in range(minutes + 1):
            db.add(
                MeterValue(
                    charger_id=charger_id,
                    connector_id=1,
                    session_id=session.id,
                    timestamp=start + timedelta(minutes=minute),
                    value=power_w * minute / 60,
                )
            )
        return session.id  # type: ignore[return-value]


def _solar(session_id: int) -> tuple[float | None, bool]:
    with session_scope() as db:
        session = db.get(ChargingSession, session_id)
        assert session is not None
        return session.solar_wh, session.solar_estimated


def _pv(site_id: int, start: datetime, end: datetime) -> dict[datetime, float | None]:
    with session_scope() as db:
        rows = db.exec(
            select(SiteEnergyMinute).where(
                SiteEnergyMinute.site_id == site_id,
                SiteEnergyMinute.minute >= start,
                SiteEnergyMinute.minute < end,
            )
        ).all()
        return {r.minute: r.pv_w for r in rows}


def _samples(site_id: int) -> int:
    with session_scope() as db:
        return len(db.exec(select(SiteSample.ts).where(SiteSample.site_id == site_id)).all())


async def _force_poll(link_id: int, fake: Any) -> LinkReport | None:
    """One poll now, whatever the schedule says (the test drives the clock); the quota gate still applies."""
    with session_scope() as db:
        row = db.get(SiteInverter, link_id)
        assert row is not None
        row.next_poll_utc = fake.clock.now()
        db.add(row)
    return await poll_link(link_id, clock=fake.clock.now, base_url=fake.base_url)


async def _poll_connected(link_id: int, fake: Any) -> LinkReport:
    """`_force_poll`, which must find the cloud connected."""
    report = await _force_poll(link_id, fake)
    assert report is not None and report.status == "connected", report
    return report


async def test_cloud_pv_fills_the_series_and_gives_an_ocpp_session_its_solar_share(database: str) -> None:
    now = five_minutes_ago()
    principal, site_id, charger_id = _operator_site()
    session_start = now - timedelta(minutes=50)
    session_id = _session(charger_id, session_start, 30, power_w=6000.0)  # 100 Wh a minute
    with enphase_fake.EnphaseFake(start=now) as fake:
        fake.production = lambda moment: 3000.0  # 50 Wh a minute
        credentials = fake.credentials()
        with session_scope() as db:
            out = service.link(
                db,
                principal,
                site_id,
                "enphase",
                credentials,
                [System(str(enphase_fake.SYSTEM_ID), "Home", "Europe/Berlin")],
                None,
                None,
            )
        link_id = out["id"]
        assert out["asset_id"] == "enphase-pv" and "credentials" not in out
        with session_scope() as db:
            stored = db.get(SiteInverter, link_id)
            assert stored is not None and "access_token" not in stored.credentials_enc
            assert decrypt_credentials(stored.credentials_enc)["access_token"] == credentials["access_token"]

        # The session ended before any cloud data: its solar share is 0 and says it is an estimate.
        assert settle_session_solar(now=now) == 1
        assert _solar(session_id) == (0.0, True)

        # A failing cloud: nothing stored, nothing moved forward, retried later with back-off.
        fake.inject("500", match="/production_micro")
        failed = await poll_link(link_id, clock=fake.clock.now, base_url=fake.base_url)
        assert failed is not None and failed.status == "error" and failed.samples == 0
        assert _samples(site_id) == 0
        with session_scope() as db:
            row = db.get(SiteInverter, link_id)
            assert row is not None and row.stored_until_utc is None and row.failures == 1
            assert row.next_poll_utc is not None and row.next_poll_utc > now + timedelta(minutes=4)

        report = await poll_link(link_id, clock=fake.clock.now, base_url=fake.base_url)
        assert report is not None and report.status == "connected", report
        assert report.intervals == 288  # a day of 5-minute intervals: one call, the documented maximum
        minutes = _pv(site_id, session_start, session_start + timedelta(minutes=30))
        assert len(minutes) == 30 and set(minutes.values()) == {3000.0}
        count = _samples(site_id)
        assert count == 288 * 5
        with session_scope() as db:  # the site's energy view (GET /api/v1/sites/{id}/energy) has it
            from pipelet_app.services import sites as sites_service

            view = sites_service.energy(
                db, principal, site_id, session_start, session_start + timedelta(minutes=30), "15m"
            )
        assert view["totals"]["pv_wh"] == pytest.approx(1500.0)
        assert [p["pv_w"] for p in view["series"]] == [3000.0, 3000.0]

        again = await poll_link(link_id, clock=fake.clock.now, base_url=fake.base_url)
        assert (
            again is not None and again.status == "connected" and again.intervals == 12
        )  # the hour's overlap
        assert _samples(site_id) == count  # the same rows: never duplicated

        assert settle_session_solar(now=now) == 1  # the late data marked its minutes dirty
        solar, estimated = _solar(session_id)
        assert solar == pytest.approx(1500.0, abs=1.0)
        assert estimated  # no house meter at this site: the house load is unknown

        # Enphase revises the last hour (late-reporting micros): the next poll rereads it, the share follows.
        fake.production = lambda moment: 7500.0
        fake.clock.advance(300)
        revised = await poll_link(link_id, clock=fake.clock.now, base_url=fake.base_url)
        assert revised is not None and revised.status == "connected"
        assert set(_pv(site_id, session_start, session_start + timedelta(minutes=30)).values()) == {7500.0}
        assert _samples(site_id) == count + 5  # one new interval; the revised ones rewrote their rows
        assert settle_session_solar(now=fake.clock.now()) == 1
        assert _solar(session_id)[0] == pytest.approx(3000.0, abs=1.0)  # all of the car's energy now


async def test_refused_credentials_stop_the_polls_until_linked_again(database: str) -> None:
    principal, site_id, _ = _operator_site()
    with enphase_fake.EnphaseFake(start=five_minutes_ago()) as fake:
        with session_scope() as db:
            link_id = service.link(
                db,
                principal,
                site_id,
                "enphase",
                fake.credentials(),
                [System(str(enphase_fake.SYSTEM_ID), "")],
            )["id"]
        fake.expire_access_tokens()
        fake.revoke_refresh_tokens()
        report = await poll_link(link_id, clock=fake.clock.now, base_url=fake.base_url)
    assert report is not None and report.status == "reauth-needed"
    with session_scope() as db:
        row = db.get(SiteInverter, link_id)
        assert row is not None and row.next_poll_utc is None and row.message
        assert fake.credentials()["client_secret"] not in row.message


# ------------------------------------------------------------------------------------ the API


@pytest.fixture
def se_cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[solaredge_fake.SolarEdgeFake]:
    with solaredge_fake.SolarEdgeFake() as fake:
        fake.clock.follow_real_time()
        monkeypatch.setenv("SOLAREDGE_API_BASE", fake.base_url)
        reset_engine()  # also clears the settings cache
        yield fake


@pytest.fixture
def client(demo: dict, se_cloud: solaredge_fake.SolarEdgeFake) -> Iterator[TestClient]:
    with TestClient(build_api(), raise_server_exceptions=False) as test_client:
        yield test_client


def test_operator_links_a_cloud_other_tenants_get_404(
    client: TestClient, se_cloud: solaredge_fake.SolarEdgeFake, caplog: pytest.LogCaptureFixture
) -> None:
    son, nw = key_of("operator@sonnenstrom.demo"), key_of("operator@northwind.demo")
    site = site_of("operator@sonnenstrom.demo")
    url = f"/api/v1/sites/{site}/inverters"
    body = {"brand": "solaredge", "credentials": {"api_key": solaredge_fake.API_KEY}}

    several = client.post(url, json=body, headers=son)  # the fake's account has two sites
    assert several.status_code == 422 and several.json()["error"]["message"].startswith("system_id:")
    wrong = client.post(url, json={**body, "credentials": {"api_key": "SE-WRONG"}}, headers=son)
    assert wrong.status_code == 422 and wrong.json()["error"]["message"].startswith("credentials:")
    assert (
        client.post(url, json={**body, "brand": "ecoflow"}, headers=son)
        .json()["error"]["message"]
        .startswith("brand:")
    )

    created = client.post(url, json={**body, "system_id": str(solaredge_fake.SITE_ID)}, headers=son)
    assert created.status_code == 201, created.text
    link = created.json()
    assert link["brand"] == "solaredge" and link["asset_id"] == "solaredge-pv" and link["status"] == "pending"
    assert solaredge_fake.API_KEY not in created.text
    listed = client.get(url, headers=son)
    assert listed.json() == [link] and solaredge_fake.API_KEY not in listed.text
    assert "solaredge-pv" in [
        d["asset_id"] for d in client.get(f"/api/v1/sites/{site}", headers=son).json()["devices"]
    ]

    # Another tenant sees nothing, changes nothing, and its request never reaches the cloud.
    calls = len(se_cloud.requests)
    assert client.get(url, headers=nw).status_code == 404
    assert (
        client.post(url, json={**body, "system_id": str(solaredge_fake.SITE_ID)}, headers=nw).status_code
        == 404
    )
    assert len(se_cloud.requests) == calls
    assert client.delete(f"{url}/{link['id']}", headers=nw).status_code == 404
    assert client.get(url, headers=key_of("driver@acme.demo")).status_code == 403

    assert client.delete(f"{url}/{link['id']}", headers=son).status_code == 204
    assert client.get(url, headers=son).json() == []
    assert solaredge_fake.API_KEY not in caplog.text


# ------------------------------------------------------------------------------------ the operator page


def _principal(email: str) -> Principal:
    with session_scope() as db:
        return Principal.of(db.exec(select(User).where(User.email == email)).one())


def test_the_site_page_links_and_unlinks_for_its_own_tenant_only(
    demo: dict, se_cloud: solaredge_fake.SolarEdgeFake
) -> None:
    from pipelet_app.auth import InvalidInput, NotFound
    from pipelet_app.portals.operator import site_data

    son, nw = _principal("operator@sonnenstrom.demo"), _principal("operator@northwind.demo")
    site = site_of("operator@sonnenstrom.demo")
    form = {"brand": "solaredge", "api_key": solaredge_fake.API_KEY, "system_id": "", "asset_id": ""}
    with session_scope() as db, pytest.raises(InvalidInput, match=r"^system_id:"):
        site_data.link_inverter(db, son, site, form)
    with session_scope() as db, pytest.raises(NotFound):
        site_data.link_inverter(db, nw, site, {**form, "system_id": str(solaredge_fake.SITE_ID)})
    with session_scope() as db:
        site_data.link_inverter(db, son, site, {**form, "system_id": str(solaredge_fake.SITE_ID)})
    with session_scope() as db:
        view = site_data.site_view(db, son, site)
    (row,) = view["inverters"]
    assert (row["brand"], row["system_id"], row["asset_id"], row["status"]) == (
        "SolarEdge",  # the brand by name and the link's state in words, not their ids
        str(solaredge_fake.SITE_ID),
        "solaredge-pv",
        "Waiting for the first sync",
    )
    assert solaredge_fake.API_KEY not in str(view)
    assert [b["id"] for b in view["inverter_brands"]] == service.production_brands()
    assert {"id": "solaredge", "label": "SolarEdge"} in view["inverter_brands"]
    with session_scope() as db, pytest.raises(NotFound):
        site_data.unlink_inverter(db, nw, site, int(row["id"]))
    with session_scope() as db:
        site_data.unlink_inverter(db, son, site, int(row["id"]))
        assert site_data.site_view(db, son, site)["inverters"] == []


async def test_the_worker_round_polls_due_links_and_counts_them(
    database: str, se_cloud: solaredge_fake.SolarEdgeFake
) -> None:
    from pipelet_app import metrics
    from pipelet_app.runtime import jobs

    principal, site_id, _ = _operator_site()
    se_cloud.production = lambda moment: 2400.0
    systems = [System(str(solaredge_fake.SITE_ID), "Home", solaredge_fake.TZ)]
    with session_scope() as db:
        service.link(db, principal, site_id, "solaredge", {"api_key": solaredge_fake.API_KEY}, systems)
    counter = metrics.SITE_INVERTER_POLLS.labels("solaredge", "connected")
    before = counter._value.get()
    assert await jobs.run_site_sources() == (1, 0)  # one link polled, no tariff to refresh
    assert counter._value.get() == before + 1
    assert await jobs.run_site_sources() == (0, 0)  # not due again before its next poll time
    now = utcnow()
    minutes = _pv(site_id, now - timedelta(hours=2), now)
    assert minutes and set(minutes.values()) == {2400.0}
