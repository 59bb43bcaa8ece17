"""The site-energy jobs on both databases: power derived from register-only meter values, no solar share
at sites without PV, and pruning of raw samples past their retention (minutes stay)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    MeterValue,
    SessionSource,
    Site,
    SiteDevice,
    SiteEnergyMinute,
    SiteSample,
    Tenant,
    TenantKind,
)
from pipelet_app.db.types import utcnow
from pipelet_app.domain.site_energy import floor_minute
from pipelet_app.site_energy.store import SampleIn, write_batch
from pollers.site_energy import KEEP_SAMPLES, feed_ocpp_meter_values, prune_samples, settle_session_solar


def _site(db, name: str, with_pv: bool) -> tuple[int, int]:
    tenant = db.exec(select(Tenant)).first()
    if tenant is None:
        tenant = Tenant(name="T", slug="t", kind=TenantKind.OPERATOR)
        db.add(tenant)
        db.flush()
    site = Site(tenant_id=tenant.id, name=name)
    db.add(site)
    db.flush()
    charger = Charger(charge_point_id=f"CP-{name}", tenant_id=tenant.id, site_id=site.id)
    db.add(charger)
    db.add(
        SiteDevice(
            site_id=site.id, asset_id="cp", kind="charger", charge_point_id=f"CP-{name}", connector_id=1
        )
    )
    if with_pv:
        db.add(SiteDevice(site_id=site.id, asset_id="pv", kind="pv"))
    db.flush()
    return site.id, charger.id  # type: ignore[return-value]


def test_register_only_meter_values_become_power_and_no_pv_means_no_solar(database: str) -> None:
    now = utcnow()
    t0 = floor_minute(now) - timedelta(minutes=30)
    with session_scope() as db:
        site_id, charger_id = _site(db, "nopv", with_pv=False)
        session = ChargingSession(
            transaction_id="tx-nopv",
            station_id="CP-nopv",
            source=SessionSource.OCPP_WALLBOX,
            charger_id=charger_id,
            connector_id=1,
            start_utc=t0,
            end_utc=t0 + timedelta(minutes=3),
            meter_start_wh=5000,
            meter_stop_wh=5330,
            energy_wh=330,
        )
        db.add(session)
        db.flush()
        db.add(MeterValue(charger_id=charger_id, connector_id=1, timestamp=t0, value=5000.0))
        db.flush()
        for minute, register in ((1, 5110.0), (2, 5220.0), (3, 5330.0)):
            db.add(
                MeterValue(
                    charger_id=charger_id,
                    connector_id=1,
                    session_id=session.id,
                    timestamp=t0 + timedelta(minutes=minute),
                    value=register,
                )
            )
    assert feed_ocpp_meter_values(now=now) == 3  # the first register has nothing before it
    with session_scope() as db:
        rows = db.exec(select(SiteEnergyMinute).where(SiteEnergyMinute.site_id == site_id)).all()
        assert sorted(r.ev_w for r in rows) == [6600.0, 6600.0, 6600.0]  # 110 Wh a minute = 6.6 kW
        assert all(r.pv_w is None and r.ev_solar_w is None for r in rows)
    assert feed_ocpp_meter_values(now=now) == 0  # the cursor moved on
    assert settle_session_solar(now=now) == 0
    with session_scope() as db:
        assert db.exec(select(ChargingSession)).one().solar_wh is None


def test_prune_drops_old_samples_site_by_site_and_keeps_minutes(database: str) -> None:
    now = utcnow()
    old, recent = now - KEEP_SAMPLES - timedelta(hours=1), now - timedelta(hours=1)
    with session_scope() as db:
        sites = [_site(db, name, with_pv=True)[0] for name in ("a", "b")]
        devices = {d.site_id: d.id for d in db.exec(select(SiteDevice).where(SiteDevice.kind == "pv"))}
        write_batch(
            db,
            [SampleIn(s, devices[s], "pv", at, 1000.0) for s in sites for at in (old, recent)],
            now=old,
        )
    assert prune_samples(now=now, sites_per_run=1) == 1  # site a
    assert prune_samples(now=now, sites_per_run=1) == 1  # site b
    assert prune_samples(now=now, sites_per_run=1) == 0  # the cursor went round; nothing old is left
    with session_scope() as db:
        samples = db.exec(select(SiteSample)).all()
        assert len(samples) == 2 and all(s.ts > now - KEEP_SAMPLES for s in samples)
        assert len(db.exec(select(SiteEnergyMinute)).all()) == 4  # the series keeps every minute
