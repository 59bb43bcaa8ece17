"""PV production of the brands wired after Enphase and SolarEdge, as a site's source, on SQLite and
PostgreSQL: each adapter against its loopback fake serving the recorded answer's shape (contract), then a
link's poll job into the site's 1-minute series, and an OCPP session that ended before the cloud's data came
in getting its solar share when the data arrives (and again when the cloud revises it, where it can)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipelet_app.db import session_scope
from pipelet_app.db.types import utcnow
from pipelet_app.inverters.base import System
from pipelet_app.inverters.registry import adapter_class
from pipelet_app.services import site_inverters as service
from pollers.site_energy import settle_session_solar
from pollers.site_inverters import LinkReport, poll_link
from tests.fakes.inverters import fronius as fronius_fake
from tests.fakes.inverters import huawei as huawei_fake
from tests.fakes.inverters import sma as sma_fake
from tests.fakes.inverters import sungrow as sungrow_fake
from tests.fakes.inverters import victron as victron_fake
from tests.fakes.inverters._recorded import assert_same_shape, recorded
from tests.fakes.inverters._server import FakeCloud
from tests.integration.sites.test_site_inverters import (
    _operator_site,
    _poll_connected,
    _pv,
    _samples,
    _session,
    _solar,
)


@dataclass(frozen=True)
class Case:
    brand: str
    make_fake: Callable[[datetime], FakeCloud]
    credentials: Callable[[FakeCloud], dict[str, Any]]
    system: System
    #: the cloud's resolution: each interval the adapter returns spans this
    resolution: timedelta
    #: (path fragment of the production answer, recorded fixture it must have the shape of)
    shape: tuple[str, str]
    #: the cloud serves past intervals (history) and may revise them; False: a live counter read per poll
    history: bool = True
    shape_options: dict[str, Any] | None = None
    #: a brand-specific shape check where the recorded answer's keys are data (Victron's flow codes)
    shape_check: Callable[[Any], None] | None = None
    #: a live counter plus an hourly history: complete hours from the history, the counter after them
    hourly: bool = False
    #: further (path fragment, recorded fixture) pairs the served answers must have the shape of
    more_shapes: tuple[tuple[str, str], ...] = ()


CASES = [
    Case(
        "fronius",
        lambda start: fronius_fake.FroniusFake(start=start),
        lambda fake: {"access_key_id": fronius_fake.KEY_ID, "access_key_value": fronius_fake.KEY_VALUE},
        System(fronius_fake.SYSTEM_ID, "Home", "Europe/Vienna"),
        timedelta(minutes=5),
        ("/histdata", "histdata_inverter"),
    ),
    Case(
        "sma",
        lambda start: sma_fake.SmaFake(start=start),
        lambda fake: {"client_id": sma_fake.CLIENT_ID, "client_secret": sma_fake.CLIENT_SECRET},
        System(sma_fake.PLANT, "Home", sma_fake.TZ),
        timedelta(minutes=5),
        ("/EnergyAndPowerPv/Day", "device_data_EnergyAndPowerPv_Day"),
    ),
    Case(
        "huawei",
        lambda start: _huawei(start),
        lambda fake: {"userName": huawei_fake.USER, "systemCode": huawei_fake.SYSTEM_CODE},
        System(huawei_fake.PLANT, "Home"),
        timedelta(minutes=5),
        ("/getDevRealKpi", "getDevRealKpi_inverter"),
        history=False,
        shape_options={"open_maps": frozenset({"dataItemMap"})},
        hourly=True,
        more_shapes=(("/getKpiStationHour", "getKpiStationHour"),),
    ),
    Case(
        "sungrow",
        lambda start: sungrow_fake.SungrowFake(start=start),
        lambda fake: sungrow_fake.HARNESS.good_credentials(fake),
        System(str(sungrow_fake.PS_ID), "Home", sungrow_fake.TZ),
        timedelta(minutes=5),
        ("/getDeviceRealTimeData", "getDeviceRealTimeData"),
        history=False,
    ),
    Case(
        "victron",
        lambda start: victron_fake.VictronFake(start=start),
        lambda fake: {"access_token": victron_fake.ACCESS_TOKEN},
        System(str(victron_fake.SITE), "Home", "Europe/Amsterdam"),
        timedelta(minutes=15),
        ("/stats", "stats_consumption_full"),
        shape_check=lambda body: _victron_stats_shape(body),
    ),
]


def _victron_stats_shape(body: Any) -> None:
    """The recorded stats answer's envelope; its keys under records/totals are flow codes (data), so each
    served flow is checked against the recorded PV series: rows [ms, kWh], or false for no data."""
    example = recorded("victron", "stats_consumption_full")
    assert set(body) == set(example)
    # the record keys of a real account's kwh answer, as logged in supernova1963/eedc-homeassistant#255
    assert set(body["records"]) == {"Gb", "Pc", "Pb", "Bc", "Pg", "Bg", "Gc", "kwh"}
    assert set(body["totals"]) <= set(body["records"])
    for flow, series in body["records"].items():
        if flow == "kwh":  # observed key, value unknown (SOURCE.md)
            continue
        assert re.fullmatch(r"[PGBg][cbg]", flow), flow
        if series is not False:
            assert_same_shape(series, example["records"]["Pc"])
        assert body["totals"].get(flow) is False or isinstance(body["totals"].get(flow), float)


def _huawei(start: datetime) -> FakeCloud:
    huawei_fake.reset_sessions()  # one login per account: no session left over from another test
    return huawei_fake.HuaweiFake(start=start)


def five_minutes_ago() -> datetime:
    now = utcnow()
    return now.replace(minute=now.minute // 5 * 5, second=0, microsecond=0)


def _check_shapes(case: Case, fake: FakeCloud) -> int:
    served = [body for path, status, body in fake.answers if case.shape[0] in path and status == 200]
    for body in served:
        if case.shape_check is not None:
            case.shape_check(body)
        else:
            assert_same_shape(body, recorded(case.brand, case.shape[1]), **(case.shape_options or {}))
    for fragment, name in case.more_shapes:
        more = [body for path, status, body in fake.answers if fragment in path and status == 200]
        assert more, f"no {fragment} answer served"
        for body in more:
            assert_same_shape(body, recorded(case.brand, name))
    return len(served)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.brand)
async def test_production_contract(case: Case, logins_in_memory: object) -> None:
    """Complete intervals of the brand's resolution, their mean power right, the answers of the recorded
    shape, the running interval never returned. (No database here: Huawei's logins counted in memory.)"""
    start = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)

    def production(moment: datetime) -> float:
        return 4000.0 if moment.minute < 30 else 2000.0

    with case.make_fake(start) as fake:
        fake.production = production  # type: ignore[attr-defined]
        adapter = adapter_class(case.brand)(
            case.credentials(fake), base_url=fake.base_url, clock=fake.clock.now
        )
        async with adapter:
            if not case.history:  # a live counter: the first read is the baseline
                assert await adapter.fetch_production(case.system, start - timedelta(hours=1)) == []
            fake.clock.advance(2 * 3600 + 120)  # 10:02: the interval running at 10:00 is not complete
            intervals = await adapter.fetch_production(case.system, start)
    assert intervals, "no production read"
    assert all(start <= i.start_utc < i.end_utc <= fake.clock.now() for i in intervals)
    # a counter span cut where the hourly history ends keeps the span's mean: only the hours are exact
    hours = [i for i in intervals if i.end_utc - i.start_utc == timedelta(hours=1)]
    exact = hours if case.hourly else intervals
    produced = sum(i.power_w * (i.end_utc - i.start_utc).total_seconds() / 3600 for i in exact)
    expected = sum(
        production(i.start_utc + timedelta(minutes=k, seconds=30)) / 60
        for i in exact
        for k in range(int((i.end_utc - i.start_utc).total_seconds() // 60))
    )
    assert produced == pytest.approx(expected, rel=1e-4)
    if case.hourly:  # hours 08 and 09 from the history, the counter's span only after 10:00
        assert [(i.start_utc, round(i.power_w)) for i in exact] == [
            (start, 3000),
            (start + timedelta(hours=1), 3000),
        ]
        assert len(intervals) == 3 and intervals[-1].start_utc == start + timedelta(hours=2)
    elif case.history:
        assert all(i.end_utc - i.start_utc == case.resolution for i in intervals)
        assert intervals[-1].end_utc == start + timedelta(hours=2)
        assert {round(i.power_w) for i in intervals} == {4000, 2000}
    else:  # one span since the baseline, its mean the production's mean over it
        assert len(intervals) == 1 and intervals[0].start_utc == start
        assert intervals[0].end_utc >= fake.clock.now() - case.resolution
    assert _check_shapes(case, fake) >= 1


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.brand)
async def test_cloud_pv_gives_an_ocpp_session_its_solar_share(case: Case, database: str) -> None:
    now = five_minutes_ago()
    principal, site_id, charger_id = _operator_site()
    session_start = now - timedelta(minutes=50)
    session_id = _session(charger_id, session_start, 30, power_w=6000.0)  # 100 Wh a minute
    with case.make_fake(now - timedelta(hours=2) if not case.history else now) as fake:
        fake.production = lambda moment: 3000.0  # type: ignore[attr-defined]  # 50 Wh a minute
        with session_scope() as db:
            out = service.link(db, principal, site_id, case.brand, case.credentials(fake), [case.system])
        link_id = out["id"]
        assert out["asset_id"] == f"{case.brand}-pv" and "credentials" not in out

        # The session ended before any cloud data: its solar share is 0 and says it is an estimate.
        assert settle_session_solar(now=now) == 1
        assert _solar(session_id) == (0.0, True)

        # A failing cloud: nothing stored, nothing moved forward.
        fake.inject("500")
        failed = await poll_link(link_id, clock=fake.clock.now, base_url=fake.base_url)
        assert failed is not None and failed.status == "error" and failed.samples == 0
        assert _samples(site_id) == 0

        def poll() -> Awaitable[LinkReport]:
            return _poll_connected(link_id, fake)

        if not case.history:  # live counters: a baseline read, then one read every few minutes
            await poll()
            while fake.clock.now() < now:
                fake.clock.advance(300)
                await poll()
        else:
            first = await poll()
            assert first.intervals >= 12  # the first poll reads back up to a day
        minutes = _pv(site_id, session_start, session_start + timedelta(minutes=30))
        assert len(minutes) == 30 and all(v == pytest.approx(3000.0) for v in minutes.values())
        count = _samples(site_id)
        if case.history:
            await poll()  # the hour's overlap read again: the same rows, never duplicated
            assert _samples(site_id) == count

        assert settle_session_solar(now=fake.clock.now()) == 1  # the late data marked its minutes dirty
        solar, estimated = _solar(session_id)
        assert solar == pytest.approx(1500.0, abs=1.0)
        assert estimated  # no house meter at this site: the house load is unknown
        _check_shapes(case, fake)

        if case.history:  # the cloud revises the last hour: the next poll rereads it, the share follows
            fake.production = lambda moment: 7500.0  # type: ignore[attr-defined]
            fake.clock.advance(300)
            await poll()
            assert set(_pv(site_id, session_start, session_start + timedelta(minutes=30)).values()) == {
                7500.0
            }
            assert settle_session_solar(now=fake.clock.now()) == 1
            assert _solar(session_id)[0] == pytest.approx(3000.0, abs=1.0)  # all of the car's energy now
