"""The surplus loop end to end: MQTT measurements on the real Mosquitto broker (127.0.0.1:1883) →
site samples → controller → SetChargingProfile received by a raw-JSON charger over a real WebSocket to
the CSMS; a charger that rejects every profile; stale data; no duplicate sends; the site lease, and a new
owner continuing from the saved loop memory (after an owner died, one killed mid-send, the controller
turned off); the 2.0.1 charging needs answered `Processing` and fed into the TxProfile. SQLite and
PostgreSQL.

Cycles run with explicit times (`run_cycle(..., now=...)`) so the controller's delays pass without
sleeping; measurements carry the real time, so the stale rule sees them as fresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from sqlmodel import select

from pipelet_app.actuation import loop as loop_module
from pipelet_app.actuation.lease import claim
from pipelet_app.actuation.loop import Runner, SiteLoop, run_cycle
from pipelet_app.actuation.snapshot import load_site
from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    DeviceVariable,
    IdToken,
    Site,
    SiteDevice,
    SiteSample,
    SiteSurplus,
    SurplusDecision,
    SurplusLoopMemory,
    Tenant,
    TenantKind,
)
from pipelet_app.db.types import utcnow
from pipelet_app.ocpp.server import CsmsServer
from pipelet_app.settings import get_settings
from pipelet_app.site_energy.consumer import Consumer
from tests.waiting import wait_for

sys.path.insert(0, str(Path(__file__).parents[1] / "ocpp"))
from csms_helpers import add_charger_with_password
from rawcp import RawChargePoint

from tests.integration.sites.surplus_sites import charger_variable


async def _start_201(cp: RawChargePoint, transaction_id: str, at: datetime) -> None:
    """A 2.0.1 charger starts a transaction on EVSE 1 for the site's sun tag."""
    event = {
        "eventType": "Started",
        "timestamp": iso(at),
        "triggerReason": "Authorized",
        "seqNo": 0,
        "transactionInfo": {"transactionId": transaction_id},
        "idToken": {"idToken": "TAG-SUN", "type": "ISO14443"},
        "evse": {"id": 1, "connectorId": 1},
    }
    await cp.ok("TransactionEvent", event)


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


class SunSite:
    def __init__(self) -> None:
        self.id = random.randint(10_000_000, 99_999_999)
        tag = uuid.uuid4().hex[:8]
        self.pv, self.grid, self.cp = f"pv-{tag}", f"grid-{tag}", f"CP-{tag}"
        self.topic = f"pipelet/sites/{self.id}"
        self.password = ""


async def send_register(cp: RawChargePoint, transaction_id: int | str, at: datetime, kwh: str) -> None:
    """A 1.6 MeterValues carrying only the energy register, in kWh (a register-only charger)."""
    sampled = [{"measurand": "Energy.Active.Import.Register", "unit": "kWh", "value": kwh}]
    payload = {"connectorId": 1, "transactionId": transaction_id}
    await cp.ok("MeterValues", {**payload, "meterValue": [{"timestamp": iso(at), "sampledValue": sampled}]})


async def reports_0_w(cp: RawChargePoint, version: str, transaction_id: int | str, at: datetime) -> None:
    """The charger reports its car drawing 0 W (`Power.Active.Import`): a car that draws nothing is
    measured, not counted at its offer as a car without any reading is (`controller.unmeasured_draws`)."""
    # 1.6: a string with its unit; 2.0.1: a number (W by default, `unitOfMeasure` not `unit`)
    sampled: list[dict[str, Any]] = [{"measurand": "Power.Active.Import", "unit": "W", "value": "0"}]
    if version != "1.6":
        sampled = [{"measurand": "Power.Active.Import", "value": 0.0}]
    meter_value = [{"timestamp": iso(at), "sampledValue": sampled}]
    if version == "1.6":
        await cp.ok(
            "MeterValues", {"connectorId": 1, "transactionId": transaction_id, "meterValue": meter_value}
        )
        return
    event = {
        "eventType": "Updated",
        "timestamp": iso(at),
        "triggerReason": "MeterValuePeriodic",
        "seqNo": 1,
        "transactionInfo": {"transactionId": transaction_id},
        "evse": {"id": 1, "connectorId": 1},
        "meterValue": meter_value,
    }
    await cp.ok("TransactionEvent", event)


def make_site(mode: str = "pv-only", unit: str | None = "Current", switch_phases: bool = False) -> SunSite:
    """`unit`: the charger's stored ChargingScheduleAllowedChargingRateUnit; None = never reported (the
    loop then asks the charger before its first profile). `switch_phases`: the operator said charger and
    car can switch between 1 and 3 phases."""
    s = SunSite()
    with session_scope() as db:
        tenant = Tenant(name="Sun", slug=f"sun-{s.id}", kind=TenantKind.OPERATOR)
        db.add(tenant)
        db.flush()
        tenant_id = tenant.id
        db.add(Site(id=s.id, tenant_id=tenant_id, name="Roof", has_pv_meter=True, grid_limit_a=32, phases=3))
    charger_id, s.password = add_charger_with_password(s.cp, tenant_id)  # as an operator creates one
    with session_scope() as db:
        charger = db.get(Charger, charger_id)
        assert charger is not None
        charger.site_id = s.id
        db.add(IdToken(tenant_id=tenant_id, token="TAG-SUN"))
        db.add(SiteDevice(site_id=s.id, asset_id=s.pv, kind="pv"))
        db.add(SiteDevice(site_id=s.id, asset_id=s.grid, kind="grid"))
        db.add(
            SiteDevice(
                site_id=s.id,
                asset_id=f"ocpp-{s.cp}",
                kind="charger",
                charge_point_id=s.cp,
                connector_id=1,
                switch_phases=switch_phases,
            )
        )
        db.add(SiteSurplus(site_id=s.id, enabled=True, mode=mode, interval_s=10))
        if unit is not None:
            db.add(charger_variable(charger_id, "ChargingScheduleAllowedChargingRateUnit", unit))
    return s


def store_variable(site: SunSite, component: str, variable: str, value: str) -> None:
    """A value of the site charger's device model, as stored from its answer."""
    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == site.cp)).one()
        db.add(charger_variable(charger.id, variable, value, component))


@contextlib.asynccontextmanager
async def consuming(site: SunSite) -> AsyncIterator[Consumer]:
    consumer = Consumer("mqtt://127.0.0.1:1883", flush_s=0.1, topics=[f"{site.topic}/+"])
    task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(consumer.connected.wait(), 10)
    try:
        yield consumer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def sunshine(site: SunSite, at: datetime, pv_w: float, grid_w: float) -> None:
    """PV production and grid import (< 0: export) at `at`, through the broker and the consumer."""
    async with consuming(site) as consumer:
        async with aiomqtt.Client("127.0.0.1", 1883) as client:
            for asset, power in ((site.pv, pv_w), (site.grid, grid_w)):
                body = {"assetId": asset, "timestamp": iso(at), "energyValue": 0.0, "powerValue": power}
                await client.publish(f"{site.topic}/measurements", json.dumps(body).encode(), qos=1)
        await until(lambda: consumer.stats["stored"] >= 2)


class Profiles:
    """Records every SetChargingProfile the charger gets and answers it as `answer(payload)` says."""

    def __init__(self, answer=lambda payload: "Accepted") -> None:
        self.received: list[dict[str, Any]] = []
        self.answer = answer

    def __call__(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.received.append(payload)
        return {"status": self.answer(payload)}

    def purposes(self) -> list[tuple[str, int, float]]:
        out = []
        for p in self.received:
            profile = p.get("csChargingProfiles") or p["chargingProfile"]
            schedule = profile["chargingSchedule"]
            schedule = schedule[0] if isinstance(schedule, list) else schedule
            out.append(
                (
                    profile["chargingProfilePurpose"],
                    profile["stackLevel"],
                    schedule["chargingSchedulePeriod"][0]["limit"],
                )
            )
        return out


async def charging_car(csms: CsmsServer, site: SunSite, profiles: Profiles) -> RawChargePoint:
    cp = RawChargePoint(f"ws://127.0.0.1:{csms.port}", site.cp, password=site.password)
    await cp.connect()
    cp.responders["SetChargingProfile"] = profiles
    await cp.boot16()
    cp.transaction_id = await start_car(cp, "1.6", "", utcnow())  # type: ignore[attr-defined]
    return cp


@contextlib.asynccontextmanager
async def booted(
    csms: CsmsServer, site: SunSite, profiles: Profiles, version: str, **responders: Any
) -> AsyncIterator[RawChargePoint]:
    """The site's charger connected in OCPP `version` and booted, answering SetChargingProfile with
    `profiles` and as `responders` say; a 2.0.1 one with its rate unit (A) stored. Closed after."""
    protocols = ("ocpp2.0.1",) if version == "2.0.1" else ("ocpp1.6",)
    cp = RawChargePoint(f"ws://127.0.0.1:{csms.port}", site.cp, protocols, password=site.password)
    await cp.connect()
    cp.responders["SetChargingProfile"] = profiles
    cp.responders.update(responders)
    try:
        if version == "2.0.1":
            store_variable(site, "SmartChargingCtrlr", "RateUnit", "A")
            await cp.boot201()
        else:
            await cp.boot16()
        yield cp
    finally:
        await cp.close()


async def cycles_sending(
    site: SunSite,
    state: SiteLoop,
    profiles: Profiles,
    t0: datetime,
    seconds: tuple[int, ...],
    purpose: str | None = None,
) -> datetime:
    """Cycles at each of `seconds` after `t0`; the last one that sent a profile (of `purpose`, if
    given), else `t0`."""
    last_sent = t0
    for at in (t0 + timedelta(seconds=s) for s in seconds):
        count = len(profiles.received)
        await run_cycle(site.id, state, now=at)
        if any(purpose in (None, kind) for kind, *_ in profiles.purposes()[count:]):
            last_sent = at
    return last_sent


async def start_car(
    cp: RawChargePoint, version: str, transaction_id: str, at: datetime, meter_start: int = 0
) -> str | int:
    """A car starts a transaction at `at`; returns its id as the charger gives it (2.0.1:
    `transaction_id`; 1.6: the CSMS's, the start register `meter_start` Wh)."""
    if version == "2.0.1":
        await _start_201(cp, transaction_id, at)
        return transaction_id
    payload = {"connectorId": 1, "idTag": "TAG-SUN", "meterStart": meter_start, "timestamp": iso(at)}
    return (await cp.ok("StartTransaction", payload))["transactionId"]


@contextlib.asynccontextmanager
async def sunny_car(
    csms: CsmsServer,
    site: SunSite,
    profiles: Profiles,
    pv_w: float = 9000.0,
    grid_w: float = -8000.0,
    **responders: Any,
) -> AsyncIterator[tuple[RawChargePoint, datetime]]:
    """Most cases' start: a car charging at the site's charger (answering as `responders` say besides
    `profiles`), and at t0 the sun measured (by default 9 kW of PV exporting 8 kW, the car drawing
    nothing yet). Yields the charger and t0; closes the charger after."""
    cp = await charging_car(csms, site, profiles)
    cp.responders.update(responders)
    try:
        t0 = utcnow()
        await sunshine(site, t0, pv_w=pv_w, grid_w=grid_w)
        yield cp, t0
    finally:
        await cp.close()


@contextlib.asynccontextmanager
async def short_sun(csms: CsmsServer) -> AsyncIterator[tuple[SunSite, Profiles, RawChargePoint, datetime]]:
    """The lease and takeover cases' start: a PV-priority site with a car charging at its charger, and at
    t0 2 kW of PV exporting 1 kW, short of the car's minimum (PV-priority holds it at 6 A from the grid).
    Yields the site, its charger's profiles, the charger and t0."""
    site = make_site(mode="pv-priority")
    profiles = Profiles()
    async with sunny_car(csms, site, profiles, pv_w=2000.0, grid_w=-1000.0) as (cp, t0):
        yield site, profiles, cp, t0


def switch_controller(site: SunSite, on: bool) -> None:
    """The operator turns the site's surplus controller on or off."""
    with session_scope() as db:
        db.get(SiteSurplus, site.id).enabled = on  # type: ignore[union-attr]


def decisions(site: SunSite) -> list[SurplusDecision]:
    with session_scope() as db:
        return list(
            db.exec(
                select(SurplusDecision).where(SurplusDecision.site_id == site.id).order_by(SurplusDecision.id)
            ).all()
        )


async def test_sunshine_on_the_broker_becomes_a_tx_profile_and_nothing_is_sent_twice(
    csms: CsmsServer,
) -> None:
    site = make_site()
    profiles = Profiles()
    async with sunny_car(csms, site, profiles) as (_cp, t0):  # 8 kW exported, the car draws nothing yet
        state = SiteLoop()
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=1))
        # The site cap on connector 0, the connector's baseline (PV-only: a new transaction starts
        # paused with the loop away), then the session's TxProfile (held at 0 A while the controller
        # waits for the surplus to last, or already the surplus: the controller's enable rule decides).
        assert profiles.purposes()[0] == ("ChargePointMaxProfile", 0, 32.0)
        assert profiles.received[0]["connectorId"] == 0
        assert profiles.purposes()[1] == ("TxDefaultProfile", 0, 0.0)
        assert profiles.received[1]["connectorId"] == 1
        assert [p for p, _, _ in profiles.purposes()[2:]] == ["TxProfile"]
        tx = profiles.received[2]["csChargingProfiles"]
        assert isinstance(tx["transactionId"], int)
        assert tx["chargingSchedule"]["chargingRateUnit"] == "A"

        await run_cycle(site.id, state, now=t0 + timedelta(seconds=35))
        purpose, level, limit = profiles.purposes()[-1]
        assert (purpose, level) == ("TxProfile", 0)
        # 8 kW minus the controller's small export margin over three phases at 230 V, in 0.1 A steps.
        assert limit == pytest.approx(11.5, abs=0.2)

        sent = len(profiles.received)
        for seconds in (45, 55, 65):  # same measurements, same decision: no profile goes out again
            await run_cycle(site.id, state, now=t0 + timedelta(seconds=seconds))
        assert len(profiles.received) == sent
        # Stored: the cycles that sent something, and a quiet one once a minute (65 s after the first).
        rows = decisions(site)
        assert [r.time_utc for r in rows][-1] == t0 + timedelta(seconds=65)
        assert len(rows) in (2, 3)
        assert all(not r.stale for r in rows)
        assert rows[-1].chargers[-1]["sent"] == "unchanged (Accepted)"
        sent_rows = [
            c for r in rows for c in r.chargers if c["sent"] == "Accepted" and c["purpose"] == "TxProfile"
        ]
        assert sent_rows[-1]["limit_a"] == limit
        assert rows[0].reason.endswith("W available for the cars")
        assert rows[0].chargers[-1]["baseline"] == {"limit_a": 0.0, "sent": "Accepted"}
        assert "baseline" not in rows[-1].chargers[-1]  # not sent again


def periods(profiles: Profiles) -> list[tuple[str, dict[str, Any]]]:
    """(purpose, schedule period) of every profile the charger got."""
    out = []
    for p in profiles.received:
        profile = p["csChargingProfiles"]
        out.append(
            (profile["chargingProfilePurpose"], profile["chargingSchedule"]["chargingSchedulePeriod"][0])
        )
    return out


PHASES_16 = "ConnectorSwitch3to1PhaseSupported"


def answers_phases_16(value: str | None, asked: list[dict[str, Any]]):
    """A 1.6 charger's GetConfiguration responder for the loop's question about 3-to-1 switching: it
    answers `value`, or the key as unknown when None; `asked` records the questions."""

    def configuration(payload: dict[str, Any]) -> dict[str, Any] | None:
        if PHASES_16 not in payload.get("key", []):
            return None
        asked.append(payload)
        if value is None:
            return {"configurationKey": [], "unknownKey": payload["key"]}
        key = {"key": PHASES_16, "readonly": True, "value": value}
        return {"configurationKey": [key], "unknownKey": [k for k in payload["key"] if k != PHASES_16]}

    return configuration


@pytest.mark.parametrize("case", ["switchable", "not marked", "says it cannot", "unit unknown too"])
async def test_a_switchable_charger_gets_one_phase_when_the_surplus_covers_only_that(
    csms: CsmsServer, case: str
) -> None:
    """2.5 kW exported: above one phase's minimum (6 A x 230 V = 1.4 kW), below three phases' (4.1 kW).
    A charger the operator marked switchable gets a TxProfile with numberPhases 1 and a current that uses
    the surplus; one not marked never carries numberPhases (the charger keeps 3) and pauses in PV-only.
    A marked charger that never said whether it can switch is asked (ConnectorSwitch3to1PhaseSupported)
    before its first profile: one that answers the key as unknown is switched as marked, one that answers
    false is treated like one not marked; a charger not marked is never asked. One whose rate unit is
    unknown too is asked both in one GetConfiguration (it answers both keys unknown: A, switched)."""
    switchable = case != "not marked"
    site = make_site(switch_phases=switchable, unit=None if case == "unit unknown too" else "Current")
    profiles = Profiles()
    asked: list[dict[str, Any]] = []
    async with sunny_car(
        csms,
        site,
        profiles,
        pv_w=3000.0,
        grid_w=-2500.0,
        GetConfiguration=answers_phases_16("false" if case == "says it cannot" else None, asked),
    ) as (_cp, t0):
        state = SiteLoop()
        # the controller switches down after `phase_down_delay_s` (90 s); the data stays fresh for 2 min
        for seconds in (1, 31, 61, 91, 101, 111):
            await run_cycle(site.id, state, now=t0 + timedelta(seconds=seconds))
        # one question (with the unit's key where that is unknown too); none for a charger not marked
        keys = (
            ["ChargingScheduleAllowedChargingRateUnit", PHASES_16]
            if case == "unit unknown too"
            else [PHASES_16]
        )
        assert asked == ([{"key": keys}] if switchable else [])
        tx = [period for purpose, period in periods(profiles) if purpose == "TxProfile"]
        assert tx
        if case in ("switchable", "unit unknown too"):
            assert tx[-1]["numberPhases"] == 1
            assert 6.0 <= tx[-1]["limit"] <= 2500 / 230
            row = decisions(site)[-1].chargers[-1]
            assert row["phases"] == 1
            # the data goes stale: PV-only pauses the car, on the phase it has (no switch within the lockout)
            await run_cycle(site.id, state, now=t0 + timedelta(seconds=200))
            purpose, period = periods(profiles)[-1]
            assert purpose == "TxProfile" and period["limit"] == 0.0 and period["numberPhases"] == 1
            assert decisions(site)[-1].stale
        else:
            assert all("numberPhases" not in period for _, period in periods(profiles))
            assert tx[-1]["limit"] == 0.0
        # the site cap never carries numberPhases
        assert all(
            "numberPhases" not in period for purpose, period in periods(profiles) if purpose != "TxProfile"
        )


@pytest.mark.parametrize("phases3to1", [None, "false", "answers false"])
async def test_a_201_charger_switches_unless_its_device_model_says_it_cannot(
    csms: CsmsServer, phases3to1: str | None
) -> None:
    """The same short surplus at a 2.0.1 charger marked switchable: numberPhases 1 in the TxProfile's
    ChargingSchedulePeriodType, never phaseToUse; a charger whose SmartChargingCtrlr.Phases3to1 is false
    is not switched whatever the operator said, stored before or answered when the loop asks it
    (GetVariables, before the first profile). One that answers UnknownVariable is switched as marked."""
    site = make_site(switch_phases=True)
    asked: list[dict[str, Any]] = []

    def variables(payload: dict[str, Any]) -> dict[str, Any]:
        asked.append(payload)
        results = []
        for item in payload["getVariableData"]:
            known = phases3to1 == "answers false" and item["variable"]["name"] == "Phases3to1"
            result = {k: item[k] for k in ("component", "variable")}
            result["attributeStatus"] = "Accepted" if known else "UnknownVariable"
            if known:
                result["attributeValue"] = "false"
            results.append(result)
        return {"getVariableResult": results}

    if phases3to1 == "false":
        store_variable(site, "SmartChargingCtrlr", "Phases3to1", phases3to1)
    profiles = Profiles()
    cp = RawChargePoint(f"ws://127.0.0.1:{csms.port}", site.cp, ("ocpp2.0.1",), password=site.password)
    await cp.connect()
    cp.responders["SetChargingProfile"] = profiles
    cp.responders["GetVariables"] = variables
    try:
        await cp.boot201()
        t0 = utcnow()
        await _start_201(cp, "tx-phase", t0)
        await sunshine(site, t0, pv_w=3000.0, grid_w=-2500.0)
        state = SiteLoop()
        for seconds in (1, 31, 61, 91, 101, 111):
            await run_cycle(site.id, state, now=t0 + timedelta(seconds=seconds))
        tx = [
            p["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0]
            for p in profiles.received
            if p["chargingProfile"]["chargingProfilePurpose"] == "TxProfile"
        ]
        assert tx
        assert all("phaseToUse" not in period for period in tx)
        phases_201 = {"component": {"name": "SmartChargingCtrlr"}, "variable": {"name": "Phases3to1"}}
        # asked once (its unit is stored), and not when its answer was stored before
        assert asked == ([] if phases3to1 == "false" else [{"getVariableData": [phases_201]}])
        if phases3to1 is None:
            assert tx[-1]["numberPhases"] == 1 and tx[-1]["limit"] >= 6.0
        else:
            assert all("numberPhases" not in period for period in tx)
    finally:
        await cp.close()


async def test_watts_where_the_charger_only_takes_power(csms: CsmsServer) -> None:
    site = make_site(unit="Power")
    profiles = Profiles()
    async with sunny_car(csms, site, profiles) as (_cp, t0):
        state = SiteLoop()
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=1))
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=35))
        schedules = [p["csChargingProfiles"]["chargingSchedule"] for p in profiles.received]
        assert {s["chargingRateUnit"] for s in schedules} == {"W"}
        assert schedules[0]["chargingSchedulePeriod"][0]["limit"] == 32 * 3 * 230  # the site cap in W
        assert 6 * 3 * 230 <= schedules[-1]["chargingSchedulePeriod"][0]["limit"] <= 8000


async def test_a_charger_that_never_said_its_unit_is_asked_and_gets_watts(csms: CsmsServer) -> None:
    """No stored rate unit: the loop asks the charger (GetConfiguration) before the first profile, once,
    and a charger that takes only power gets every profile in W."""
    site = make_site(unit=None)
    profiles = Profiles()
    asked: list[dict[str, Any]] = []

    def configuration(payload: dict[str, Any]) -> dict[str, Any] | None:
        if payload != {"key": ["ChargingScheduleAllowedChargingRateUnit"]}:
            return None
        asked.append(payload)
        key = {"key": "ChargingScheduleAllowedChargingRateUnit", "readonly": True, "value": "Power"}
        return {"configurationKey": [key], "unknownKey": []}

    async with sunny_car(csms, site, profiles, GetConfiguration=configuration) as (_cp, t0):
        state = SiteLoop()
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=1))
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=35))
        schedules = [p["csChargingProfiles"]["chargingSchedule"] for p in profiles.received]
        assert schedules and {s["chargingRateUnit"] for s in schedules} == {"W"}
        assert schedules[0]["chargingSchedulePeriod"][0]["limit"] == 32 * 3 * 230
        assert len(asked) == 1


async def test_a_charger_that_boots_again_gets_its_profiles_again(csms: CsmsServer) -> None:
    """A reboot may drop the profiles a charger carried: the site cap and the connector's baseline go out
    again although their values did not change."""
    site = make_site()
    profiles = Profiles()
    cp = await charging_car(csms, site, profiles)
    try:
        t0 = utcnow()
        await sunshine(site, t0, pv_w=9000.0, grid_w=-8000.0)
        state = SiteLoop()
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=1))
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=11))
        caps = [p for p in profiles.purposes() if p[0] == "ChargePointMaxProfile"]
        assert len(caps) == 1
        await cp.close()
        await asyncio.sleep(0.01)  # the boot time moves on
        cp = RawChargePoint(f"ws://127.0.0.1:{csms.port}", site.cp, password=site.password)
        await cp.connect()
        cp.responders["SetChargingProfile"] = profiles
        await cp.boot16()
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=21))
        caps = [p for p in profiles.purposes() if p[0] == "ChargePointMaxProfile"]
        assert len(caps) == 2
        baselines = [p for p in profiles.purposes() if p[:2] == ("TxDefaultProfile", 0)]
        assert baselines == [("TxDefaultProfile", 0, 0.0)] * 2
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=31))  # and not again without a boot
        assert len([p for p in profiles.purposes() if p[0] == "ChargePointMaxProfile"]) == 2
        assert len([p for p in profiles.purposes() if p[:2] == ("TxDefaultProfile", 0)]) == 2
    finally:
        await cp.close()


#: (seconds ago, PV W, grid W) readings, and the reason a stale cycle gives (None: believed)
STALE_CASES = {
    # the grid meter repeats -8000 W for 100 s while PV falls from 9 to 3 kW; a meter whose value moves
    "frozen-grid-meter": (
        ((100, 9000.0, -8000.0), (50, 6000.0, -8000.0), (0, 3000.0, -8000.0)),
        "grid meter has read -8000 W unchanged",
    ),
    "moving-grid-meter": (((100, 9000.0, -8000.0), (50, 6000.0, -7700.0), (0, 3000.0, -7400.0)), None),
    # PV 3 kW while the grid meter says 8 kW export (moving, so not frozen): a house load of -5 kW that no
    # site can have; with PV at 9 kW the same grid
    "implausible-balance": (
        ((100, 3000.0, -8000.0), (50, 3000.0, -7950.0), (0, 3000.0, -7900.0)),
        "house load of -4900 W (PV + grid + battery - cars)",
    ),
    "plausible-balance": (((100, 9000.0, -8000.0), (50, 9000.0, -7950.0), (0, 9000.0, -7900.0)), None),
}


@pytest.mark.parametrize(("readings", "reason"), STALE_CASES.values(), ids=STALE_CASES.keys())
async def test_readings_the_balance_cannot_believe_count_as_stale(
    csms: CsmsServer, readings: tuple[tuple[int, float, float], ...], reason: str | None
) -> None:
    """A frozen grid meter, or readings that contradict the balance: in PV-only the car pauses and the
    operator reads why; the same site with readings that move and add up is believed."""
    site = make_site()
    profiles = Profiles()
    cp = await charging_car(csms, site, profiles)
    try:
        t0 = utcnow()
        for ago, pv, grid in readings:
            await sunshine(site, t0 - timedelta(seconds=ago), pv_w=pv, grid_w=grid)
        await run_cycle(site.id, SiteLoop(), now=t0 + timedelta(seconds=1))
        row = decisions(site)[-1]
        assert row.stale is (reason is not None)
        tx = [c for c in row.chargers if c["purpose"] == "TxProfile"]
        if reason is not None:
            assert reason in row.reason
            assert tx[0]["limit_a"] == 0.0 and profiles.purposes()[-1] == ("TxProfile", 0, 0.0)
        else:
            assert tx[0]["limit_a"] >= 6.0
    finally:
        await cp.close()


async def test_a_charger_that_rejects_every_profile_is_shown_and_not_hammered(csms: CsmsServer) -> None:
    site = make_site()
    profiles = Profiles(lambda payload: "Rejected")
    async with sunny_car(csms, site, profiles) as (_cp, t0):
        state = SiteLoop()
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=1))
        # Cap once; the baseline on stack levels 0 and 1; the session's limit as TxProfile, then as a
        # TxDefaultProfile above the baseline (level 1: the baseline is on none).
        assert [(p, lvl) for p, lvl, _ in profiles.purposes()] == [
            ("ChargePointMaxProfile", 0),
            ("TxDefaultProfile", 0),
            ("TxDefaultProfile", 1),
            ("TxProfile", 0),
            ("TxDefaultProfile", 1),
        ]
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=11))  # same limit: not retried
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=61))  # ... nor a minute later
        assert len(profiles.received) == 5
        rows = decisions(site)
        assert rows[0].chargers[0]["sent"] == "Rejected"
        assert rows[0].chargers[1]["sent"] == "Rejected"
        assert rows[0].chargers[1]["baseline"] == {"limit_a": 0.0, "sent": "Rejected"}
        assert rows[1].chargers[0]["sent"] == "unchanged (Rejected)"


def defaults_of(profiles: Profiles) -> list[tuple[int, int, float, int | None]]:
    """(profile id, stack level, limit, duration) of every TxDefaultProfile a 1.6 or 2.0.1 charger got."""
    out = []
    for payload in profiles.received:
        profile = payload.get("csChargingProfiles") or payload["chargingProfile"]
        purpose, schedule = schedule_of(payload)
        if purpose == "TxDefaultProfile":
            number = profile.get("chargingProfileId", profile.get("id"))
            limit = schedule["chargingSchedulePeriod"][0]["limit"]
            out.append((number, profile["stackLevel"], limit, schedule.get("duration")))
    return out


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
@pytest.mark.parametrize("base", [0, 1])
async def test_a_rejected_tx_profile_falls_back_to_a_bounded_default_above_the_baseline(
    csms: CsmsServer, version: str, base: int
) -> None:
    """The charger takes no TxProfile: the session's limit goes out as a TxDefaultProfile one stack level
    above the connector's baseline (`base`: 1 where the charger rejects level 0), under the lift's id
    (4001, replacing the lift the car started on), bounded like a TxProfile (300 s) and renewed the same
    way, without trying the TxProfile again. The baseline stays in place under it, never re-sent: with
    the loop dead the fallback lapses and the connector is back at its baseline, so the next car does not
    start at the last session's limit. When the transaction ends, the fallback is cleared by its id and
    the lift goes out again where it is wanted. Before, the limit replaced the baseline (its id, no
    duration) and outlived a dead loop."""
    site = make_site(mode="pv-only")

    def answer(payload: dict[str, Any]) -> str:
        profile = payload.get("csChargingProfiles") or payload["chargingProfile"]
        purpose = profile["chargingProfilePurpose"]
        below = purpose == "TxDefaultProfile" and profile["stackLevel"] < base
        return "Rejected" if purpose == "TxProfile" or below else "Accepted"

    profiles = Profiles(answer)
    cleared: list[dict[str, Any]] = []

    def clear(payload: dict[str, Any]) -> dict[str, Any]:
        cleared.append(payload)
        return {"status": "Accepted"}

    lift = [] if base else [(4001, 1, 6.0, 300)]  # a baseline on level 1 is never lifted (replaced)
    async with booted(csms, site, profiles, version, ClearChargingProfile=clear) as cp:
        t0 = utcnow()
        await sunshine(site, t0, pv_w=9000.0, grid_w=-8000.0)
        state = SiteLoop()
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=1))  # idle: baseline (and lift)
        baseline = [(2001, level, 0.0, None) for level in range(base + 1)]
        assert defaults_of(profiles) == baseline + lift
        transaction_id = await start_car(cp, version, "tx-fallback", t0)
        await reports_0_w(cp, version, transaction_id, t0 + timedelta(seconds=5))
        # the car draws nothing: after a minute it is held at its minimum (6 A); then the limit stays
        last_sent = await cycles_sending(site, state, profiles, t0, (11, 45, 100, 110))
        fallbacks = defaults_of(profiles)[len(baseline + lift) :]
        assert fallbacks and all(f[:2] == (4001, base + 1) and f[3] == 300 for f in fallbacks)
        limit = fallbacks[-1][2]
        assert limit == 6.0  # held at the minimum
        rows = [c for c in decisions(site)[1].chargers if c["purpose"] != "ChargePointMaxProfile"]
        assert rows[-1]["sent"] == f"fallback:TxDefaultProfile@{base + 1}"
        assert rows[-1]["purpose"] == "TxDefaultProfile" and "baseline" not in rows[-1]

        # renewed like a TxProfile once less than a lease is left, straight as the fallback
        count = len(profiles.received)
        renew_at = last_sent + timedelta(seconds=270)
        await sunshine(site, renew_at - timedelta(seconds=100), pv_w=9000.0, grid_w=-8000.0)
        await run_cycle(site.id, state, now=renew_at - timedelta(seconds=5))
        assert len(profiles.received) == count
        await run_cycle(site.id, state, now=renew_at)
        assert defaults_of(profiles)[-1] == (4001, base + 1, limit, 300)
        assert len(profiles.received) == count + 1  # no TxProfile tried again
        row = [c for c in decisions(site)[-1].chargers if c["purpose"] != "ChargePointMaxProfile"][-1]
        assert row["renewal"] is True and row["sent"] == f"fallback:TxDefaultProfile@{base + 1}"
        assert [d for d in defaults_of(profiles) if d[0] == 2001] == baseline  # never borrowed

        # the session ends: the fallback is cleared by its id, the baseline stays, the lift is back
        if version == "2.0.1":
            ended = {
                "eventType": "Ended",
                "timestamp": iso(utcnow()),
                "triggerReason": "EVCommunicationLost",
                "seqNo": 1,
                "transactionInfo": {"transactionId": transaction_id, "stoppedReason": "EVDisconnected"},
            }
            await cp.ok("TransactionEvent", ended)
        else:
            await cp.ok(
                "StopTransaction",
                {
                    "transactionId": transaction_id,
                    "meterStop": 100,
                    "timestamp": iso(utcnow()),
                },
            )
        count = len(profiles.received)
        await run_cycle(site.id, state, now=renew_at + timedelta(seconds=10))
        assert cleared == [{"id": 4001} if version == "1.6" else {"chargingProfileId": 4001}]
        assert len(profiles.received) == count + len(lift)  # no baseline: it never left
        assert not lift or defaults_of(profiles)[-1] == lift[-1]
        await run_cycle(site.id, state, now=renew_at + timedelta(seconds=20))
        assert len(cleared) == 1 and len(profiles.received) == count + len(lift)


@pytest.mark.parametrize(("mode", "safe"), [("pv-only", 0.0), ("pv-priority", 6.0)])
async def test_stale_site_data_falls_back_to_a_safe_limit(csms: CsmsServer, mode: str, safe: float) -> None:
    site = make_site(mode=mode)
    profiles = Profiles()
    async with sunny_car(csms, site, profiles) as (_cp, t0):
        state = SiteLoop()
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=1))
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=35))
        assert profiles.purposes()[-1][2] > 6.0
        # The meter freezes: three minutes later the last grid measurement is too old.
        await run_cycle(site.id, state, now=t0 + timedelta(minutes=3))
        assert profiles.purposes()[-1] == ("TxProfile", 0, safe)
        row = decisions(site)[-1]
        assert row.stale
        assert "stale site data" in row.chargers[0]["reason"]
        # since when: the last grid measurement, not "never" (it was three minutes ago)
        assert f"last grid measurement: {t0.isoformat()[:19]}" in row.chargers[0]["reason"]
        assert row.chargers[0]["limit_a"] == safe


async def test_one_owner_per_site(database: str) -> None:
    site = make_site()
    now = utcnow()
    assert claim(site.id, "worker-a", now, 30)
    assert not claim(site.id, "worker-b", now + timedelta(seconds=10), 30)
    assert claim(site.id, "worker-a", now + timedelta(seconds=10), 30)  # the owner renews
    assert claim(site.id, "worker-b", now + timedelta(seconds=41), 30)  # the lease ran out
    with session_scope() as db:
        db.get(SiteSurplus, site.id).enabled = False  # type: ignore[union-attr]
    assert not claim(site.id, "worker-b", now + timedelta(seconds=42), 30)


async def test_the_runner_runs_due_sites_it_owns(csms: CsmsServer) -> None:
    async with short_sun(csms) as (site, profiles, cp, t0):
        a, b = Runner("worker-a"), Runner("worker-b")
        assert await a.tick(t0 + timedelta(seconds=1)) == 1
        assert await b.tick(t0 + timedelta(seconds=2)) == 0  # a holds the lease
        assert await a.tick(t0 + timedelta(seconds=5)) == 0  # not due before interval_s
        assert await a.tick(t0 + timedelta(seconds=12)) == 1
        # PV-priority keeps the car at its minimum from the grid when the surplus is short (and the
        # connector's baseline is the minimum too: one connector's 6 A fits the 32 A cap).
        assert profiles.purposes()[1:] == [("TxDefaultProfile", 0, 6.0), ("TxProfile", 0, 6.0)]
        assert len(decisions(site)) == 1  # the second cycle sent nothing, a minute had not passed

        # The operator turns the controller off: the owner clears what it set, so the car is not left capped.
        cleared: list[dict] = []
        cp.responders["ClearChargingProfile"] = lambda payload: (
            cleared.append(payload) or {"status": "Accepted"}
        )
        switch_controller(site, on=False)
        assert await a.tick(t0 + timedelta(seconds=25)) == 0
        assert sorted(p["id"] for p in cleared) == [1000, 2001, 3001]  # site cap, default, session profile
        assert await a.tick(t0 + timedelta(seconds=40)) == 0
        assert len(cleared) == 3  # once


async def test_ev_charging_needs_answered_processing_and_fed_into_the_tx_profile(csms: CsmsServer) -> None:
    site = make_site(mode="pv-priority")
    with session_scope() as db:
        db.add(SiteDevice(site_id=site.id, asset_id="other", kind="charger"))
    profiles = Profiles()
    cp = RawChargePoint(f"ws://127.0.0.1:{csms.port}", site.cp, ("ocpp2.0.1",), password=site.password)
    await cp.connect()
    cp.responders["SetChargingProfile"] = profiles
    try:
        await cp.boot201()
        now = utcnow()
        await _start_201(cp, "tx-sun", now)
        departure = now + timedelta(hours=2)
        needs = {
            "evseId": 1,
            "chargingNeeds": {
                "requestedEnergyTransfer": "AC_single_phase",
                "departureTime": iso(departure),
                "acChargingParameters": {
                    "energyAmount": 9000,
                    "evMinCurrent": 6,
                    "evMaxCurrent": 20,
                    "evMaxVoltage": 230,
                },
            },
        }
        assert await cp.ok("NotifyEVChargingNeeds", needs) == {"status": "Processing"}
        with session_scope() as db:
            view = load_site(db, site.id, now)
        assert view is not None
        car = view.snapshot.chargers[0]
        assert car.prefs.energy_wh == 9000
        assert car.prefs.departure_utc is not None
        assert abs((car.prefs.departure_utc - departure).total_seconds()) < 0.001
        assert (car.phases, car.max_a) == (1, 20.0)

        await sunshine(site, now, pv_w=500.0, grid_w=300.0)  # no surplus: the departure needs the grid
        await run_cycle(site.id, SiteLoop(), now=now + timedelta(seconds=1))
        assert profiles.purposes()[0] == ("ChargingStationMaxProfile", 0, 32.0)  # 2.0.1's site cap
        assert profiles.received[0]["evseId"] == 0
        purpose, _, limit = profiles.purposes()[-1]
        assert purpose == "TxProfile"
        tx = profiles.received[-1]["chargingProfile"]
        assert tx["transactionId"] == "tx-sun"
        # 9 kWh in 2 h on one phase needs ~19.6 A; the car takes at most 20 A.
        assert 19.0 <= limit <= 20.0, limit

        # K17, the car asks again: the controller's newest limit is offered at once.
        before = len(profiles.received)
        assert await cp.ok("NotifyEVChargingNeeds", needs) == {"status": "Accepted"}
        await wait_for(lambda: len(profiles.received) > before, what="the controller's limit as an offer")
        offer = profiles.received[-1]["chargingProfile"]
        assert (offer["chargingProfilePurpose"], offer["transactionId"]) == ("TxProfile", "tx-sun")
        assert offer["chargingSchedule"][0]["chargingSchedulePeriod"] == [
            {"startPeriod": 0, "limit": limit, "numberPhases": 1}
        ]
        assert offer["chargingSchedule"][0]["duration"] == 300  # bounded like the loop's TxProfiles

        switch_controller(site, on=False)
        # Off: no controller plans any more, so the CSMS offers the car's levelled schedule at once.
        before = len(profiles.received)
        assert await cp.ok("NotifyEVChargingNeeds", needs) == {"status": "Accepted"}
        await wait_for(lambda: len(profiles.received) > before, what="an ISO 15118 offer")
        assert profiles.purposes()[-1][0] == "TxProfile"
        assert "duration" not in profiles.received[-1]["chargingProfile"]["chargingSchedule"][0]
    finally:
        await cp.close()


async def test_samples_of_other_sites_do_not_count(database: str) -> None:
    """The stale rule reads only this site's grid meter."""
    site, other = make_site(), make_site()
    await sunshine(other, utcnow(), pv_w=9000.0, grid_w=-8000.0)
    with session_scope() as db:
        assert db.exec(select(SiteSample).where(SiteSample.site_id == other.id)).all()
        view = load_site(db, site.id, utcnow())
    assert view is not None and view.stale


async def test_mqtt_transaction_wishes_reach_the_controller(csms: CsmsServer) -> None:
    """A Pleevi transaction for the OCPP charger's device carries departure, energy and priority."""
    site = make_site(mode="pv-priority")
    profiles = Profiles()
    cp = await charging_car(csms, site, profiles)
    try:
        now = utcnow()
        departure = (now + timedelta(hours=3)).replace(microsecond=0)
        message = {
            "assetId": f"ocpp-{site.cp}",
            "transactionId": "pleevi-1",
            "timestamp": iso(now),
            "transactionState": "Started",
            "startTime": iso(now - timedelta(minutes=1)),
            "noChargingPhases": "3Phase",
            "requestedMinEnergy": 15000,
            "estimatedDepartureTime": iso(departure),
            "priority": 2,
        }
        async with consuming(site) as consumer:
            async with aiomqtt.Client("127.0.0.1", 1883) as client:
                await client.publish(f"{site.topic}/transactions", json.dumps(message).encode(), qos=1)
            await until(lambda: consumer.stats["stored"] >= 1)
        with session_scope() as db:
            view = load_site(db, site.id, now)
        assert view is not None
        prefs = view.snapshot.chargers[0].prefs
        assert (prefs.energy_wh, prefs.departure_utc, prefs.priority) == (15000, departure, 2)
    finally:
        await cp.close()


async def test_an_offline_charger_is_skipped_and_shown(csms: CsmsServer) -> None:
    site = make_site(mode="pv-priority")
    t0 = utcnow()
    await sunshine(site, t0, pv_w=9000.0, grid_w=-8000.0)
    state = SiteLoop()
    await run_cycle(site.id, state, now=t0 + timedelta(seconds=1))
    await run_cycle(site.id, state, now=t0 + timedelta(seconds=11))
    rows = decisions(site)
    assert len(rows) == 1  # the second cycle had nothing new to say
    assert [c["sent"] for c in rows[0].chargers] == ["skipped: charger offline"]
    assert state.sent == {}  # nothing recorded: sent once the charger is back


async def test_a_car_that_never_draws_is_held_at_the_minimum_and_shown(csms: CsmsServer) -> None:
    """The charger reports 0 W (MeterValues over the real socket, fed into the site's samples) while the
    sun offers far more: after the grace minute the car gets the minimum, its share goes to others, and
    the decision the operator reads says why."""
    from pollers.site_energy import feed_ocpp_meter_values

    site = make_site()
    profiles = Profiles()
    cp = await charging_car(csms, site, profiles)
    try:
        t0 = utcnow()
        state = SiteLoop()
        for step in range(4):  # t0 .. t0 + 90 s: fresh sun each cycle, the car at 0 W each time
            at = t0 + timedelta(seconds=30 * step)
            await sunshine(site, at, pv_w=11000.0, grid_w=-10000.0)
            sampled = [{"measurand": "Power.Active.Import", "unit": "W", "value": "0"}]
            await cp.ok(
                "MeterValues",
                {
                    "connectorId": 1,
                    "transactionId": 1,
                    "meterValue": [{"timestamp": iso(at), "sampledValue": sampled}],
                },
            )
            feed_ocpp_meter_values(now=at)
            await run_cycle(site.id, state, now=at + timedelta(seconds=1))
        rows = [
            next(c for c in row.chargers if c["purpose"] != "ChargePointMaxProfile")
            for row in decisions(site)
        ]
        car_last = rows[-1]
        assert max(row["limit_a"] for row in rows) > 6.0, rows  # offered the sun at first
        assert car_last["limit_a"] == 6.0 and car_last["charging"]  # the minimum, never below
        assert "car not drawing (full or suspended)" in car_last["reason"]
        assert profiles.purposes()[-1] == ("TxProfile", 0, 6.0)
    finally:
        await cp.close()


async def test_a_201_car_reporting_power_only_counts_before_the_feed_catches_up(csms: CsmsServer) -> None:
    """A 2.0.1 car reports 4 kW (power only, in its TransactionEvents) and the live grid meter already
    shows it, but the site-energy feed has not yet copied the reading into the site's samples: the
    loop still counts the car's 4 kW (it counted 0 W, and the car dipped 8.6 -> 6.0 A until the feed ran,
    as an outside walk saw)."""
    site = make_site()
    profiles = Profiles()
    cp = RawChargePoint(f"ws://127.0.0.1:{csms.port}", site.cp, ("ocpp2.0.1",), password=site.password)
    await cp.connect()
    cp.responders["SetChargingProfile"] = profiles
    try:
        await cp.boot201()
        t0 = utcnow()
        await _start_201(cp, "tx-dip", t0)
        sampled = [
            {"measurand": "Energy.Active.Import.Register", "value": 10.0},
            {"measurand": "Power.Active.Import", "value": 4000.0},
        ]
        event = {
            "eventType": "Updated",
            "timestamp": iso(t0 + timedelta(seconds=8)),
            "triggerReason": "MeterValuePeriodic",
            "seqNo": 1,
            "transactionInfo": {"transactionId": "tx-dip", "chargingState": "Charging"},
            "evse": {"id": 1, "connectorId": 1},
            "meterValue": [{"timestamp": iso(t0 + timedelta(seconds=8)), "sampledValue": sampled}],
        }
        await cp.ok("TransactionEvent", event)
        # 9 kW of sun, 6 kW export before the car: with the car's 4 kW the grid shows 2 kW export
        await sunshine(site, t0 + timedelta(seconds=9), pv_w=9000.0, grid_w=-2000.0)
        with session_scope() as db:
            view = load_site(db, site.id, t0 + timedelta(seconds=10))
        assert view is not None
        assert view.snapshot.chargers[0].measured_w == 4000.0
        await run_cycle(site.id, SiteLoop(), now=t0 + timedelta(seconds=10))
        car = next(c for c in decisions(site)[-1].chargers if c["purpose"] == "TxProfile")
        assert car["limit_a"] == 8.6, car  # 6 kW of surplus on 3 phases, not the 2 kW export alone
    finally:
        await cp.close()


def measured_w(site_id: int, at: datetime) -> float:
    """What the loop's snapshot of the site counts as its one charger's draw at `at`."""
    with session_scope() as db:
        view = load_site(db, site_id, at)
    assert view is not None
    return view.snapshot.chargers[0].measured_w


async def test_a_16_car_reporting_its_register_only_counts_before_the_feed_catches_up(
    csms: CsmsServer,
) -> None:
    """A 1.6 wallbox that sends only its energy register (in kWh): 9 s after the start its first reading
    and `meterStart` already say 4 kW, then 10 s on its next two readings say 5.4 kW; the live grid meter
    shows the car but the site-energy feed has not run. The loop counts the car's draw from the register
    (it counted 0 W: only a reported power was read straight from the meter values)."""
    site = make_site()
    async with booted(csms, site, Profiles(), "1.6") as cp:
        t0 = utcnow()
        transaction_id = await start_car(cp, "1.6", "", t0, meter_start=12_000)

        register = partial(send_register, cp, transaction_id)

        await register(t0 + timedelta(seconds=9), "12.010")  # 10 Wh in 9 s since meterStart
        # 9 kW of sun, 6 kW export before the car: with the car's 4 kW the grid shows 2 kW export
        await sunshine(site, t0 + timedelta(seconds=9), pv_w=9000.0, grid_w=-2000.0)
        assert measured_w(site.id, t0 + timedelta(seconds=10)) == pytest.approx(4000.0)
        await run_cycle(site.id, SiteLoop(), now=t0 + timedelta(seconds=10))
        car = next(c for c in decisions(site)[-1].chargers if c["purpose"] == "TxProfile")
        assert car["limit_a"] == 8.6, car  # 6 kW of surplus on 3 phases, not the 2 kW export alone
        await register(t0 + timedelta(seconds=19), "12.025")
        await register(t0 + timedelta(seconds=29), "12.040")  # 15 Wh in 10 s
        assert measured_w(site.id, t0 + timedelta(seconds=30)) == pytest.approx(5400.0)
        assert measured_w(site.id, t0 + timedelta(seconds=49)) == pytest.approx(5400.0)  # two intervals old
        assert measured_w(site.id, t0 + timedelta(seconds=50)) == 0.0  # older: the car may have stopped


async def test_a_register_draw_the_connector_cannot_carry_is_no_reading(csms: CsmsServer) -> None:
    """A 1.6 wallbox (unknown max power, so 350 kW for the energy rules) whose loop may give its car at
    most 16 A x 3 x 230 V = 11 kW: `meterStart` and a register 10 s later 50 Wh up say 18 kW, later a
    register sent in Wh under a kWh unit jumps by 12 MWh. Neither counts as the car's draw: the first
    counted 18 kW (the loop offered it as surplus), the second came back through the site-energy feed's
    sample (it derives power from the same register without any bound) as gigawatts."""
    from pollers.site_energy import feed_ocpp_meter_values

    site = make_site()
    cp = RawChargePoint(f"ws://127.0.0.1:{csms.port}", site.cp, password=site.password)
    await cp.connect()
    cp.responders["SetChargingProfile"] = Profiles()
    try:
        await cp.boot16()
        t0 = utcnow()
        started = await cp.ok(
            "StartTransaction",
            {"connectorId": 1, "idTag": "TAG-SUN", "meterStart": 12_000, "timestamp": iso(t0)},
        )

        register = partial(send_register, cp, started["transactionId"])

        await sunshine(site, t0, pv_w=9000.0, grid_w=-6000.0)
        await register(t0 + timedelta(seconds=10), "12.050")  # 50 Wh in 10 s: 18 kW
        assert measured_w(site.id, t0 + timedelta(seconds=10)) == 0.0
        await register(t0 + timedelta(seconds=20), "12.065")  # 15 Wh in 10 s: 5.4 kW
        assert measured_w(site.id, t0 + timedelta(seconds=20)) == pytest.approx(5400.0)
        await register(t0 + timedelta(seconds=30), "12065")  # Wh under a kWh unit
        feed_ocpp_meter_values(now=t0 + timedelta(seconds=31))
        assert measured_w(site.id, t0 + timedelta(seconds=31)) == 0.0
    finally:
        await cp.close()


async def test_a_new_cars_draw_is_its_register_not_the_last_cars_nor_the_feeds_copy(
    csms: CsmsServer,
) -> None:
    """Two ways an averaged or foreign figure took the place of a 1.6 register-only car's draw, both seen
    in an outside walk: the charger's site sample from 30 s before the session (the last car's 10 kW)
    counted for the new car before its first reading (the loop offered it 16 A), and the feed's copy of
    the register's rise, stamped at the same instant, won over the register draw and lost its interval
    (`measured_since`), so the controller could not bound it by the limit it had set since; the same
    for the feed's older sample standing in after a register step backwards."""
    from pipelet_app.site_energy.store import SampleIn, write_batch
    from pollers.site_energy import feed_ocpp_meter_values

    site = make_site()
    cp = RawChargePoint(f"ws://127.0.0.1:{csms.port}", site.cp, password=site.password)
    await cp.connect()
    cp.responders["SetChargingProfile"] = Profiles()
    try:
        await cp.boot16()
        t0 = utcnow()
        with session_scope() as db:
            device = db.exec(select(SiteDevice).where(SiteDevice.charge_point_id == site.cp)).one()
            sample = SampleIn(
                site.id, device.id, "charger", t0 - timedelta(seconds=30), 10_000.0, source="ocpp"
            )
            write_batch(db, [sample], t0)
        started = await cp.ok(
            "StartTransaction",
            {"connectorId": 1, "idTag": "TAG-SUN", "meterStart": 12_000, "timestamp": iso(t0)},
        )

        register = partial(send_register, cp, started["transactionId"])

        def measured(at: datetime) -> tuple[float, datetime | None]:
            with session_scope() as db:
                view = load_site(db, site.id, at)
            assert view is not None
            return view.snapshot.chargers[0].measured_w, view.snapshot.chargers[0].measured_since

        await sunshine(site, t0, pv_w=9000.0, grid_w=-6000.0)
        assert measured(t0 + timedelta(seconds=5)) == (0.0, None)
        await register(t0 + timedelta(seconds=10), "12.025")
        await register(t0 + timedelta(seconds=20), "12.040")  # 15 Wh in 10 s
        feed_ocpp_meter_values(now=t0 + timedelta(seconds=21))
        watts, since = measured(t0 + timedelta(seconds=21))
        assert watts == pytest.approx(5400.0)
        assert since is not None and abs((since - (t0 + timedelta(seconds=10))).total_seconds()) < 1
        # a step backwards gives no register draw: the feed's older sample stands in, as of its own time
        await register(t0 + timedelta(seconds=30), "11.000")
        watts, since = measured(t0 + timedelta(seconds=31))
        assert watts == pytest.approx(5400.0)
        assert since is not None and abs((since - (t0 + timedelta(seconds=20))).total_seconds()) < 1
    finally:
        await cp.close()


async def test_a_16_register_only_car_from_its_start_to_a_steady_limit(csms: CsmsServer) -> None:
    """The outside walk of a 1.6 wallbox that sends only its register (every 10 s, in kWh), 6 kW of
    surplus (9 kW PV, a 3 kW house), the loop every 10 s, 4 s after each reading; the car follows its
    limit at once. Three ways its draw was misread, each a swing of the car's limit:
    - first cycle, only `meterStart`: the car on its 6 A lift counted 0 W, 1.9 kW of export looked
      short of its minimum, and it got a 0 A TxProfile (now: it counts its 6 A, keeps them);
    - the reading after the raise to 8.6 A averages 6 A and 8.6 A: it was cut to 7.6 A (now: read as
      the draw since the raise, it stays at 8.6 A and nothing is sent);
    - a register that went backwards: the site-energy feed wrote 0 W for it, the loop took that as the
      car's draw and cut it to its 6 A minimum (now: no sample, the feed's last one stands in)."""
    from pollers.site_energy import feed_ocpp_meter_values

    site = make_site()
    profiles = Profiles()
    async with booted(csms, site, profiles, "1.6") as cp:
        t0 = utcnow()
        state = SiteLoop()
        house_w, pv_w = 3000.0, 9000.0

        async def grid(at: datetime, car_w: float) -> None:
            await sunshine(site, at, pv_w=pv_w, grid_w=house_w + car_w - pv_w)

        def tx_limits() -> list[float]:
            return [limit for purpose, _, limit in profiles.purposes() if purpose == "TxProfile"]

        def decided() -> dict[str, Any]:
            return next(c for c in decisions(site)[-1].chargers if c["purpose"] == "TxProfile")

        await grid(t0, 0.0)
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=1))
        assert lift_limits(profiles) == [(4001, 1, 6.0, 300)]  # idle: lifted to the minimum
        transaction_id = await start_car(cp, "1.6", "", t0 + timedelta(seconds=2), meter_start=12_000)
        register = partial(send_register, cp, transaction_id)
        at_6, at_86 = 6 * 3 * 230.0, 8.6 * 3 * 230.0
        kwh = 12.0

        async def reading(second: int, watts_by_second: list[float]) -> None:
            nonlocal kwh
            kwh += sum(watts_by_second) / 3600 / 1000
            await register(t0 + timedelta(seconds=second), f"{kwh:.6f}")
            feed_ocpp_meter_values(now=t0 + timedelta(seconds=second))

        await grid(t0 + timedelta(seconds=5), at_6)  # the car on its lift, in the grid's reading
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=6))
        assert tx_limits() == [6.0], decided()  # was [0.0]: paused for want of a reading
        await reading(12, [at_6] * 10)
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=16))
        assert tx_limits() == [6.0, 8.6]  # 6 kW of surplus on 3 phases
        await reading(22, [at_6] * 4 + [at_86] * 6)  # raised at :16
        await grid(t0 + timedelta(seconds=25), at_86)
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=26))
        assert tx_limits() == [6.0, 8.6] and decided()["limit_a"] == 8.6  # was cut to 7.6 A
        await reading(32, [at_86] * 10)
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=36))
        assert tx_limits() == [6.0, 8.6]
        await register(t0 + timedelta(seconds=42), "11.000000")  # a register that went backwards
        feed_ocpp_meter_values(now=t0 + timedelta(seconds=42))
        await grid(t0 + timedelta(seconds=45), at_86)
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=46))
        assert tx_limits() == [6.0, 8.6] and decided()["limit_a"] == 8.6  # was cut to 6 A


async def test_a_coarse_register_is_read_over_two_of_its_steps(csms: CsmsServer) -> None:
    """A 1.6 wallbox whose register counts in 0.1 kWh, read every 10 s, its car drawing 10 kW: the two
    newest readings rise by 0 or 100 Wh (0 W, or 36 kW: more than the connector carries, no reading), so
    the car counted 0 W and 10 kW of its draw looked like missing surplus. The loop reads such a
    register's last 5 minutes and averages it back over two of its steps."""
    site = make_site()
    async with booted(csms, site, Profiles(), "1.6") as cp:
        t0 = utcnow()
        transaction_id = await start_car(cp, "1.6", "", t0, meter_start=12_000)
        register = partial(send_register, cp, transaction_id)

        seen = []
        for second in range(10, 151, 10):
            wh = 12_000 + 10_000.0 * second / 3600
            await register(t0 + timedelta(seconds=second), f"{int(wh // 100) / 10:.1f}")
            seen.append(measured_w(site.id, t0 + timedelta(seconds=second + 4)))
        # from the first reading two steps above a first reading (12.1 kWh at 40 s, 12.3 at 110 s) on:
        # 10 kW, within a reading interval over the average's span (70 s); was 0 W throughout
        assert all(9_000 <= w <= 11_500 for w in seen[10:]), seen
        assert seen[:10] == [0.0] * 10, seen  # before it, the pair alone: 0 W or no reading, as before


async def send_status(cp: RawChargePoint, at: datetime, status: str) -> None:
    """A 1.6 StatusNotification for connector 1."""
    payload = {"connectorId": 1, "errorCode": "NoError", "status": status, "timestamp": iso(at)}
    await cp.ok("StatusNotification", payload)


def snapshot_car(site_id: int, at: datetime) -> Any:
    """The loop's snapshot of the site's one charger at `at` (`ChargerInput`)."""
    with session_scope() as db:
        view = load_site(db, site_id, at)
    assert view is not None
    return view.snapshot.chargers[0]


async def test_a_register_only_car_whose_first_reading_is_late_counts_its_offer_until_then(
    csms: CsmsServer,
) -> None:
    """A 1.6 wallbox that sends its register only every few minutes (its first MeterValues 4 minutes
    after the start), 6 kW of surplus, the car on its 6 A lift and in the live grid meter. It counted its
    offer for 2 minutes, then 0 W, and was marked not drawing from 80 s on (its share to other cars while
    it drew: grid import). Now it counts its offer until its first reading, unless the charger says the
    car draws nothing: at SuspendedEV it counts 0 W and is offered the surplus (it was held at its offer),
    at Charging it counts its offer again."""
    site = make_site()
    profiles = Profiles()
    async with booted(csms, site, profiles, "1.6") as cp:
        t0 = utcnow()
        state = SiteLoop()
        house_w, pv_w, at_6 = 3000.0, 9000.0, 6 * 3 * 230.0

        def decided() -> dict[str, Any]:
            return next(c for c in decisions(site)[-1].chargers if c["purpose"] == "TxProfile")

        await sunshine(site, t0, pv_w=pv_w, grid_w=house_w - pv_w)
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=1))
        assert lift_limits(profiles) == [(4001, 1, 6.0, 300)]  # idle: lifted to the minimum
        transaction_id = await start_car(cp, "1.6", "", t0 + timedelta(seconds=2), meter_start=12_000)
        for second in range(6, 237, 10):
            if second % 60 == 6:  # the car on its lift, in the grid's reading
                await sunshine(
                    site, t0 + timedelta(seconds=second - 1), pv_w=pv_w, grid_w=house_w + at_6 - pv_w
                )
            await run_cycle(site.id, state, now=t0 + timedelta(seconds=second))
            car = decided()
            assert car["limit_a"] == 6.0 and "not drawing" not in car["reason"], (second, car)
        car = snapshot_car(site.id, t0 + timedelta(seconds=236))
        assert car.unmeasured and car.measured_w == 0.0  # was not unmeasured after 2 minutes

        await send_status(cp, t0 + timedelta(seconds=238), "SuspendedEV")
        await sunshine(site, t0 + timedelta(seconds=240), pv_w=pv_w, grid_w=house_w - pv_w)
        car = snapshot_car(site.id, t0 + timedelta(seconds=246))
        assert not car.unmeasured and car.measured_w == 0.0
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=246))
        assert decided()["limit_a"] == 8.6  # offered the 6 kW of surplus; was held at its 6 A offer

        await send_status(cp, t0 + timedelta(seconds=248), "Charging")
        assert snapshot_car(site.id, t0 + timedelta(seconds=250)).unmeasured  # its offer again
        wh = 12_000 + (at_6 * 236 + 8.6 * 3 * 230 * 10) / 3600
        await send_register(cp, transaction_id, t0 + timedelta(seconds=258), f"{wh / 1000:.6f}")
        car = snapshot_car(site.id, t0 + timedelta(seconds=260))
        assert not car.unmeasured and car.measured_w == pytest.approx((wh - 12_000) * 3600 / 256, rel=0.01)


async def test_a_coarse_register_counts_0_w_once_the_charger_says_the_car_stopped(csms: CsmsServer) -> None:
    """A 1.6 wallbox whose register counts in 0.1 kWh, read every 10 s, its car at 10 kW, then the car
    stops and the charger reports SuspendedEV: the register, averaged over two of its steps, still
    counted the car at 10, 9 and 7.2 kW over the next cycles (2.4 kW two minutes on), its draw taken for
    surplus by the other cars; the charger's word makes it 0 W at once."""
    site = make_site()
    async with booted(csms, site, Profiles(), "1.6") as cp:
        t0 = utcnow()
        transaction_id = await start_car(cp, "1.6", "", t0, meter_start=12_000)
        register = partial(send_register, cp, transaction_id)
        kwh = ""
        for second in range(10, 151, 10):
            kwh = f"{int((12_000 + 10_000.0 * second / 3600) // 100) / 10:.1f}"
            await register(t0 + timedelta(seconds=second), kwh)
        assert 9_000 <= measured_w(site.id, t0 + timedelta(seconds=154)) <= 11_500
        await send_status(cp, t0 + timedelta(seconds=155), "SuspendedEV")
        seen = []
        for second in range(160, 201, 10):
            await register(t0 + timedelta(seconds=second), kwh)  # the car stopped: no step
            seen.append(measured_w(site.id, t0 + timedelta(seconds=second + 4)))
        assert seen == [0.0] * 5, seen
        await send_status(cp, t0 + timedelta(seconds=205), "Charging")  # the register decides again
        assert measured_w(site.id, t0 + timedelta(seconds=206)) > 0


async def test_a_201_car_counts_0_w_once_its_transaction_says_suspended(csms: CsmsServer) -> None:
    """A 2.0.1 charger that sends its register in kWh steps of 0.1 (a 10 kW car), then a TransactionEvent
    with chargingState SuspendedEV (its connector stays Occupied: 2.0.1 says it only there): the car
    counts 0 W at once (the state was not stored, and the register's average still counted ~9 kW), an
    older event delivered late does not undo that, and Charging hands the word back to the register."""
    site = make_site()
    async with booted(csms, site, Profiles(), "2.0.1") as cp:
        t0 = utcnow()
        await _start_201(cp, "tx-pause", t0)
        seq = iter(range(1, 100))

        async def event(second: int, state: str, kwh: float | None = None) -> None:
            info = {"transactionId": "tx-pause", "chargingState": state}
            payload: dict[str, Any] = {
                "eventType": "Updated",
                "timestamp": iso(t0 + timedelta(seconds=second)),
                "triggerReason": "ChargingStateChanged" if kwh is None else "MeterValuePeriodic",
                "seqNo": next(seq),
                "transactionInfo": info,
                "evse": {"id": 1, "connectorId": 1},
            }
            if kwh is not None:
                sampled = [{"measurand": "Energy.Active.Import.Register", "value": kwh * 1000}]
                payload["meterValue"] = [{"timestamp": payload["timestamp"], "sampledValue": sampled}]
            await cp.ok("TransactionEvent", payload)

        kwh = 0.0
        for second in range(10, 151, 10):
            kwh = int(10_000.0 * second / 3600 / 100) / 10
            await event(second, "Charging", kwh)
        assert 9_000 <= measured_w(site.id, t0 + timedelta(seconds=154)) <= 11_500
        await event(155, "SuspendedEV")
        await event(150, "Charging")  # an older event, delivered late: the newest word stands
        seen = []
        for second in range(160, 201, 10):
            await event(second, "SuspendedEV", kwh)  # the car stopped: no step
            seen.append(measured_w(site.id, t0 + timedelta(seconds=second + 4)))
        assert seen == [0.0] * 5, seen
        await event(205, "Charging")  # the register decides again
        assert measured_w(site.id, t0 + timedelta(seconds=206)) > 0
        with session_scope() as db:
            key = ChargingSession.transaction_id == f"ocpp201:{site.cp}:tx-pause"
            stored = db.exec(select(ChargingSession).where(key)).one()
        assert stored.charging_state == "Charging" and stored.charging_state_at == t0 + timedelta(seconds=205)


def saved_memory(site: SunSite) -> SurplusLoopMemory | None:
    with session_scope() as db:
        return db.get(SurplusLoopMemory, site.id)


async def test_a_new_owner_continues_from_the_saved_memory(csms: CsmsServer) -> None:
    """Worker a runs the site and dies (stops renewing its lease); worker b takes the site over once the
    lease runs out and continues from a's saved memory: the same controller memory (timers, the car's
    not-drawing mark), and no profile the charger already carries is sent again."""
    async with short_sun(csms) as (site, profiles, cp, t0):
        await reports_0_w(cp, "1.6", cp.transaction_id, t0)  # type: ignore[attr-defined]
        a = Runner("worker-a")
        for seconds in (1, 12, 23, 34, 45, 56):
            assert await a.tick(t0 + timedelta(seconds=seconds)) == 1
        assert profiles.purposes() == [
            ("ChargePointMaxProfile", 0, 32.0),
            ("TxDefaultProfile", 0, 6.0),
            ("TxProfile", 0, 6.0),
        ]
        left = a.sites[site.id]
        car = next(iter(left.memory.chargers.values()))
        assert car.not_drawing_since is not None  # the car draws nothing: a is tracking it
        stored = saved_memory(site)
        assert stored is not None and stored.owner == "worker-a"
        # written when the car was first seen not drawing; the quiet cycles since (< 1 min) were not
        assert stored.saved_utc == car.not_drawing_since

        b = Runner("worker-b")
        assert await b.tick(t0 + timedelta(seconds=60)) == 0  # a's lease still runs
        # a is gone; its lease (3 intervals from its last cycle) runs out at t0 + 86 s
        assert await b.tick(t0 + timedelta(seconds=87)) == 1
        assert profiles.purposes() == [
            ("ChargePointMaxProfile", 0, 32.0),
            ("TxDefaultProfile", 0, 6.0),
            ("TxProfile", 0, 6.0),
        ]
        taken = b.sites[site.id]
        assert taken.sent == left.sent
        # b's first cycle started from a's memory: the not-drawing mark kept its time (a blank start
        # would have set it to b's first cycle), and the controller's clock ran on from a's last cycle
        cid = next(iter(left.memory.chargers))
        assert taken.memory.chargers[cid].not_drawing_since == car.not_drawing_since
        assert taken.memory.chargers[cid].limit_since == left.memory.chargers[cid].limit_since
        assert saved_memory(site).owner == "worker-b"  # type: ignore[union-attr]
        assert "car not drawing" in decisions(site)[-1].chargers[-1]["reason"]

        # a comes back and finds b holding the site: it neither runs it nor overwrites b's memory
        assert await a.tick(t0 + timedelta(seconds=90)) == 0
        assert site.id not in a.sites
        from pipelet_app.actuation.memory import save
        from pipelet_app.domain.surplus.saved import LoopMemory

        assert not save(site.id, "worker-a", LoopMemory(), t0 + timedelta(seconds=91))
        assert saved_memory(site).owner == "worker-b"  # type: ignore[union-attr]


async def test_a_takeover_after_skipped_writes_neither_resends_nor_breaks_the_phase_lockout(
    csms: CsmsServer,
) -> None:
    """a switches a car to one phase (a send: written), runs quiet cycles whose writes are skipped
    (`save_due`) and dies. b restores the older memory: it sends nothing the charger already carries, and
    when the sun comes back for three phases it keeps the car on one for the lockout (600 s from a's
    switch), though the controller wants three."""
    from pollers.site_energy import feed_ocpp_meter_values

    site = make_site(switch_phases=True)
    profiles = Profiles()
    cp = await charging_car(csms, site, profiles)

    async def measured(at: datetime, pv_w: float, car_w: float) -> None:
        """The sun, the car's draw (MeterValues) and the grid meter (a 500 W house) at `at`."""
        await sunshine(site, at, pv_w=pv_w, grid_w=500.0 + car_w - pv_w)
        sampled = [{"measurand": "Power.Active.Import", "unit": "W", "value": str(car_w)}]
        await cp.ok(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": cp.transaction_id,  # type: ignore[attr-defined]
                "meterValue": [{"timestamp": iso(at), "sampledValue": sampled}],
            },
        )
        feed_ocpp_meter_values(now=at)

    try:
        t0 = utcnow()
        await measured(t0, pv_w=3000.0, car_w=0.0)  # 2.5 kW: enough for one phase only
        a = Runner("worker-a")
        for seconds in range(1, 52, 10):
            assert await a.tick(t0 + timedelta(seconds=seconds)) == 1
        left = a.sites[site.id]
        cid = next(iter(left.memory.chargers))
        switched = left.memory.chargers[cid].last_phase_switch
        assert switched is not None and left.memory.chargers[cid].phases == 1
        limit = periods(profiles)[-1][1]
        assert limit["numberPhases"] == 1
        sent = len(profiles.received)
        # it draws its limit; as the loop estimates a car's current over the site's 3 phases (a 1-phase
        # draw would read as a third and cap the car), the meter says 3 x 230 V x the limit
        draw_w = limit["limit"] * 230 * 3
        await measured(t0 + timedelta(seconds=55), pv_w=3000.0, car_w=draw_w)
        for seconds in (61, 71, 81):  # quiet: nothing sent
            assert await a.tick(t0 + timedelta(seconds=seconds)) == 1
        assert len(profiles.received) == sent
        stored = saved_memory(site)
        assert stored is not None and stored.saved_utc < t0 + timedelta(seconds=81)  # a skipped write

        # a dies; its lease ran out at t0 + 111 s. Same sun: b has nothing to send
        b = Runner("worker-b")
        await measured(t0 + timedelta(seconds=112), pv_w=3000.0, car_w=draw_w)
        assert await b.tick(t0 + timedelta(seconds=115)) == 1
        assert len(profiles.received) == sent
        assert b.sites[site.id].memory.chargers[cid].last_phase_switch == switched
        # the sun comes back for three phases; the up-delay (120 s) passes, the lockout does not (the
        # consumer takes measurements up to 5 min ahead, so the test ends at t0 + 275 s)
        for seconds in range(125, 276, 10):
            if seconds % 30 == 5:
                await measured(t0 + timedelta(seconds=seconds - 1), pv_w=9000.0, car_w=draw_w)
            assert await b.tick(t0 + timedelta(seconds=seconds)) == 1
        now = b.sites[site.id].memory.chargers[cid]
        assert now.phase_want == 3 and now.phase_want_since is not None
        assert now.last_phase_switch == switched and now.phases == 1
        assert all(
            p["numberPhases"] == 1 for purpose, p in periods(profiles)[sent:] if purpose == "TxProfile"
        )
    finally:
        await cp.close()


async def test_a_charger_that_booted_before_a_takeover_gets_its_profiles_again(csms: CsmsServer) -> None:
    """a runs the site and dies; the charger boots (dropping its profiles) before b takes over: b's
    restored record predates the boot, so b sends the site cap and the car's limit again."""
    async with short_sun(csms) as (site, profiles, _cp, t0):
        a = Runner("worker-a")
        for seconds in (1, 12):
            assert await a.tick(t0 + timedelta(seconds=seconds)) == 1
        sent = len(profiles.received)
        assert [p for p, _, _ in profiles.purposes()] == [
            "ChargePointMaxProfile",
            "TxDefaultProfile",
            "TxProfile",
        ]
        with session_scope() as db:
            charger = db.exec(select(Charger).where(Charger.charge_point_id == site.cp)).one()
            charger.last_boot_at = t0 + timedelta(seconds=30)  # after a's last save (t0 + 12 s)
            db.add(charger)
        b = Runner("worker-b")
        assert await b.tick(t0 + timedelta(seconds=60)) == 1  # a's lease ran out at t0 + 42 s
        assert [p for p, _, _ in profiles.purposes()[sent:]] == [
            "ChargePointMaxProfile",
            "TxDefaultProfile",
            "TxProfile",
        ]


async def test_an_owner_killed_mid_send_leaves_the_slot_for_its_successor_to_send(
    csms: CsmsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """a sends a new limit and dies before it can save what the charger answered. Its memory was saved
    before sending, without that slot, so b (deciding the old limit again) sends it rather than trusting
    a record that says the charger still has the old one. (The charger reports the car's power, 0 W:
    a car with no reading yet moments after its start counts as drawing its limit and is not raised
    until measured, `controller.unmeasured_draws`.)"""
    from pipelet_app.actuation import loop

    async with short_sun(csms) as (site, profiles, cp, t0):
        a = Runner("worker-a")
        assert await a.tick(t0 + timedelta(seconds=1)) == 1
        assert profiles.purposes()[-1] == ("TxProfile", 0, 6.0)

        await sunshine(site, t0 + timedelta(seconds=5), pv_w=9000.0, grid_w=-8000.0)
        sampled = [{"measurand": "Power.Active.Import", "unit": "W", "value": "0"}]
        await cp.ok(
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": cp.transaction_id,  # type: ignore[attr-defined]
                "meterValue": [{"timestamp": iso(t0 + timedelta(seconds=5)), "sampledValue": sampled}],
            },
        )
        actuate = loop._actuate

        async def sends_then_dies(*args, **kwargs):
            await actuate(*args, **kwargs)
            raise RuntimeError("killed before saving")

        monkeypatch.setattr(loop, "_actuate", sends_then_dies)
        await a.tick(t0 + timedelta(seconds=12))  # the failure is logged, the loop goes on
        monkeypatch.setattr(loop, "_actuate", actuate)
        raised = profiles.purposes()[-1]
        assert raised[:2] == ("TxProfile", 0) and raised[2] > 6.0  # it reached the charger

        await sunshine(site, t0 + timedelta(seconds=40), pv_w=2000.0, grid_w=-1000.0)
        b = Runner("worker-b")
        assert await b.tick(t0 + timedelta(seconds=43)) == 1
        assert profiles.purposes()[-1] == ("TxProfile", 0, 6.0)  # the car is not left at a's last limit
        assert len(profiles.purposes()) == 5  # the site cap and the baseline were not sent again


async def test_turning_the_controller_off_forgets_what_was_sent(csms: CsmsServer) -> None:
    """The owner clears its profiles when the controller is turned off; what it saves then lists none,
    so an owner after the controller is turned on again sends the site cap and the limit again."""
    async with short_sun(csms) as (site, profiles, cp, t0):
        a = Runner("worker-a")
        assert await a.tick(t0 + timedelta(seconds=1)) == 1
        assert saved_memory(site).memory["sent"]  # type: ignore[union-attr]
        cp.responders["ClearChargingProfile"] = lambda payload: {"status": "Accepted"}
        switch_controller(site, on=False)
        assert await a.tick(t0 + timedelta(seconds=12)) == 0
        assert saved_memory(site).memory["sent"] == []  # type: ignore[union-attr]
        switch_controller(site, on=True)
        assert await Runner("worker-b").tick(t0 + timedelta(seconds=50)) == 1
        assert [p for p, _, _ in profiles.purposes()] == [
            "ChargePointMaxProfile",
            "TxDefaultProfile",
            "TxProfile",
        ] * 2


def add_site_charger(site: SunSite, charge_point_id: str, version: str) -> str:
    """Another charger of `site` (connector / EVSE 1) that takes amperes; returns its password."""
    with session_scope() as db:
        tenant_id = db.get(Site, site.id).tenant_id  # type: ignore[union-attr]
    charger_id, password = add_charger_with_password(charge_point_id, tenant_id)
    with session_scope() as db:
        db.get(Charger, charger_id).site_id = site.id  # type: ignore[union-attr]
        db.add(
            SiteDevice(
                site_id=site.id,
                asset_id=f"ocpp-{charge_point_id}",
                kind="charger",
                charge_point_id=charge_point_id,
                connector_id=1,
            )
        )
        component, variable = (
            ("OCPP16", "ChargingScheduleAllowedChargingRateUnit")
            if version == "1.6"
            else ("SmartChargingCtrlr", "RateUnit")
        )
        unit = "Current" if version == "1.6" else "A"
        db.add(DeviceVariable(charger_id=charger_id, component=component, variable=variable, value=unit))
    return password


def limits(profiles: Profiles) -> list[tuple[str, int, float]]:
    """(purpose, connector / EVSE id, limit) of every profile a 1.6 or 2.0.1 charger got."""
    out = []
    for payload, (purpose, _, limit) in zip(profiles.received, profiles.purposes(), strict=True):
        out.append((purpose, payload.get("connectorId", payload.get("evseId")), limit))
    return out


async def test_every_charger_keeps_a_baseline_that_together_fits_the_site_cap(csms: CsmsServer) -> None:
    """Three idle chargers (two 1.6, one 2.0.1) on a 16 A PV-priority site. Each gets the whole cap as its
    ChargePointMaxProfile / ChargingStationMaxProfile (one car may take it all while the loop steers), and
    a TxDefaultProfile on its connector / EVSE at its baseline: 6 A for the first two by id, 0 A for the
    third (3 x 6 A would be 18 A). With the loop dead a new transaction starts there, so together they
    stay within 16 A. Nothing is sent again while nothing changed; a raised cap or another mode sends only
    the profiles whose value changed; a car is still raised above its baseline by the running loop."""
    site = make_site(mode="pv-priority")
    with session_scope() as db:
        db.get(Site, site.id).grid_limit_a = 16  # type: ignore[union-attr]
    # connector ids sort as: "CP-<tag>/1" < "CP-<tag>b/1" < "CP-<tag>c/1" (the 2.0.1 one)
    ids = {"a": site.cp, "b": f"{site.cp}b", "c": f"{site.cp}c"}
    passwords = {"a": site.password, "b": add_site_charger(site, ids["b"], "1.6")}
    passwords["c"] = add_site_charger(site, ids["c"], "2.0.1")
    profiles = {name: Profiles() for name in ids}
    cps: dict[str, RawChargePoint] = {}
    try:
        for name in ids:
            protocols = ("ocpp2.0.1",) if name == "c" else ("ocpp1.6",)
            cp = RawChargePoint(f"ws://127.0.0.1:{csms.port}", ids[name], protocols, password=passwords[name])
            await cp.connect()
            cp.responders["SetChargingProfile"] = profiles[name]
            await (cp.boot201() if name == "c" else cp.boot16())
            cps[name] = cp
        t0 = utcnow()
        await sunshine(site, t0, pv_w=2000.0, grid_w=-1000.0)
        state = SiteLoop()
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=1))
        max_201 = ("ChargingStationMaxProfile", 0, 16.0)
        assert limits(profiles["a"]) == [("ChargePointMaxProfile", 0, 16.0), ("TxDefaultProfile", 1, 6.0)]
        assert limits(profiles["b"]) == [("ChargePointMaxProfile", 0, 16.0), ("TxDefaultProfile", 1, 6.0)]
        assert limits(profiles["c"]) == [max_201, ("TxDefaultProfile", 1, 0.0)]
        baseline = {c["charger"]: (c["limit_a"], c["sent"]) for c in decisions(site)[-1].chargers}
        assert baseline[f"{ids['c']}/1"] == (0.0, "Accepted")
        # the stored rows name the purpose each charger got (2.0.1 has no ChargePointMaxProfile)
        purpose = {c["charger"]: c["purpose"] for c in decisions(site)[-1].chargers}
        assert purpose[f"{ids['a']}/0"] == "ChargePointMaxProfile"
        assert purpose[f"{ids['c']}/0"] == "ChargingStationMaxProfile"

        await run_cycle(site.id, state, now=t0 + timedelta(seconds=11))
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=21))
        assert [len(p.received) for p in profiles.values()] == [2, 2, 2]  # nothing changed: nothing sent

        with session_scope() as db:  # the grid connection grows to 24 A: 3 x 6 A fit
            db.get(Site, site.id).grid_limit_a = 24  # type: ignore[union-attr]
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=31))
        assert limits(profiles["a"])[2:] == [("ChargePointMaxProfile", 0, 24.0)]
        assert limits(profiles["b"])[2:] == [("ChargePointMaxProfile", 0, 24.0)]
        assert limits(profiles["c"])[2:] == [
            ("ChargingStationMaxProfile", 0, 24.0),
            ("TxDefaultProfile", 1, 6.0),
        ]

        with session_scope() as db:  # PV-only: with the loop away, a new car waits for proof of surplus
            db.get(SiteSurplus, site.id).mode = "pv-only"  # type: ignore[union-attr]
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=41))
        for name, before in (("a", 3), ("b", 3), ("c", 4)):
            assert limits(profiles[name])[before:] == [("TxDefaultProfile", 1, 0.0)]
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=51))
        assert [len(p.received) for p in profiles.values()] == [4, 4, 5]

        # a car at the first charger and 12 kW of sun: the running loop gives it more than its baseline
        started = await cps["a"].ok(
            "StartTransaction",
            {"connectorId": 1, "idTag": "TAG-SUN", "meterStart": 0, "timestamp": iso(utcnow())},
        )
        assert started["transactionId"]
        t1 = t0 + timedelta(seconds=60)
        await sunshine(site, t1, pv_w=13000.0, grid_w=-12000.0)
        for seconds in (61, 71):
            await run_cycle(site.id, state, now=t0 + timedelta(seconds=seconds))
        tx = limits(profiles["a"])[4:]
        assert tx and all(purpose == "TxProfile" and connector == 1 for purpose, connector, _ in tx)
        assert max(limit for _, _, limit in tx) > 12.0  # twice its baseline share, within the 24 A cap
        # the others keep their baselines; 12 kW is more than the car takes (16 A, 11 kW) and carries a
        # second minimum, so the first idle one by id is lifted to 6 A (stack level 1), within the cap
        # with the car's limit (16 + 6 <= 24); a second lift would not fit (docs: "The newcomer lift")
        assert limits(profiles["b"])[4:] == [("TxDefaultProfile", 1, 6.0)]
        assert lift_limits(profiles["b"]) == [(4001, 1, 6.0, 300)]
        assert len(profiles["c"].received) == 5
    finally:
        for cp in cps.values():
            await cp.close()


def _silent(received: list[dict[str, Any]]):
    """A charger that takes SetChargingProfile and never answers it."""

    def responder(payload: dict[str, Any]) -> None:
        received.append(payload)

    return responder


async def test_a_charger_that_never_answers_is_left_alone_for_a_minute(
    csms: CsmsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each send to a charger that never answers waits the whole timeout; before, every cycle waited it for
    the cap, the baseline and the session's profile in turn (30 s a cycle at the 10 s timeout)."""
    # Times leave room for a loaded machine: one timeout plus the cycle's own work stays under 2.5 s,
    # three timeouts (the old behaviour) take at least 3 s.
    monkeypatch.setattr(loop_module, "SEND_TIMEOUT_S", 1.0)
    site, received = make_site(), []
    async with sunny_car(csms, site, Profiles(), SetChargingProfile=_silent(received)) as (_cp, t0):
        state = SiteLoop()
        began = asyncio.get_running_loop().time()
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=1))
        assert asyncio.get_running_loop().time() - began < 2.5  # one timeout, not three
        assert len(received) == 1  # the cap; the baseline and the session's limit are not tried
        rows = decisions(site)[0].chargers
        assert rows[0]["sent"] == "timeout"
        assert all(str(row["sent"]).startswith("skipped: charger silent") for row in rows[1:]), rows
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=11))
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=51))
        assert len(received) == 1  # left alone for a minute
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=62))
        assert len(received) == 2  # then tried again: still silent, another minute


@pytest.mark.timing  # bounds a latency: run alone (scripts/test.sh), not beside parallel workers
async def test_a_slow_charger_holds_up_no_other_site(
    csms: CsmsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The silent charger's send waits 3 s; the other site's profiles must not wait for it (2.5 s leaves
    # a loaded machine room for the cycle's own work and still fails a site-after-site send). It took
    # 7.4 s beside three other workers on two cores, so it runs in the timing pass.
    monkeypatch.setattr(loop_module, "SEND_TIMEOUT_S", 3.0)
    quiet, busy = make_site(), make_site()
    # the silent site first in the batch (the old code sent site after site)
    monkeypatch.setattr(loop_module, "enabled_sites", lambda: [(quiet.id, 10), (busy.id, 10)])
    silent_received: list[dict[str, Any]] = []
    profiles = Profiles()
    async with (
        sunny_car(csms, quiet, Profiles(), SetChargingProfile=_silent(silent_received)) as (_q, t0),
        sunny_car(csms, busy, profiles) as (_b, _t),
    ):
        arrived: list[float] = []
        answer = profiles.answer
        loop = asyncio.get_running_loop()
        profiles.answer = lambda payload: (arrived.append(loop.time()), answer(payload))[1]
        runner = Runner("worker-solo")
        began = loop.time()
        assert await runner.tick(t0 + timedelta(seconds=1)) == 2
        assert silent_received and arrived
        # the other site's profiles went out while the silent charger's first send was still waiting
        assert max(arrived) - began < 2.5, max(arrived) - began


def schedule_of(payload: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(purpose, chargingSchedule) of a 1.6 or 2.0.1 SetChargingProfile."""
    profile = payload.get("csChargingProfiles") or payload["chargingProfile"]
    schedule = profile["chargingSchedule"]
    return profile["chargingProfilePurpose"], schedule[0] if isinstance(schedule, list) else schedule


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_tx_profiles_last_a_bounded_time_and_the_live_loop_renews_them(
    csms: CsmsServer, version: str
) -> None:
    """A TxProfile the loop sends lasts SURPLUS_TX_VALIDITY_S (300 s) as its schedule's `duration`, so
    one a dead loop left behind lapses and the charger falls back to the connector's baseline (which, with
    every other baseline, fits the site cap). The live loop sends the same limit again once less than a
    lease (3 x 10 s) is left, and not before; the baseline and the site cap carry no duration (a lapsed
    default would leave the whole cap). Before, the TxProfile carried none and lasted until the
    transaction ended."""
    site = make_site(mode="pv-only")
    profiles = Profiles()
    async with booted(csms, site, profiles, version) as cp:
        t0 = utcnow()
        await start_car(cp, version, "tx-bounded", t0)
        await sunshine(site, t0, pv_w=9000.0, grid_w=-8000.0)
        state = SiteLoop()
        # the car draws nothing: after a minute it is held at its minimum (6 A); then the limit stays
        last_sent = await cycles_sending(site, state, profiles, t0, (1, 35, 100, 110), purpose="TxProfile")
        sent = [schedule_of(p) for p in profiles.received]
        tx = [schedule for purpose, schedule in sent if purpose == "TxProfile"]
        assert tx and all(schedule["duration"] == 300 for schedule in tx)
        assert all("duration" not in schedule for purpose, schedule in sent if purpose != "TxProfile")
        limit = tx[-1]["chargingSchedulePeriod"][0]["limit"]
        assert limit >= 6.0 and last_sent < t0 + timedelta(seconds=110)

        # the same sun later on: the same limit, nothing sent while more than a lease is left ...
        count = len(profiles.received)
        renew_at = last_sent + timedelta(seconds=270)
        # fresh data (not the stale path); the consumer takes samples up to 5 minutes ahead
        await sunshine(site, renew_at - timedelta(seconds=100), pv_w=9000.0, grid_w=-8000.0)
        for at in (renew_at - timedelta(seconds=90), renew_at - timedelta(seconds=5)):
            await run_cycle(site.id, state, now=at)
        assert len(profiles.received) == count
        # ... then the same TxProfile again, bounded again, shown as a renewal
        await run_cycle(site.id, state, now=renew_at)
        assert [schedule_of(p)[0] for p in profiles.received[count:]] == ["TxProfile"]
        renewed = schedule_of(profiles.received[-1])[1]
        assert renewed["chargingSchedulePeriod"][0]["limit"] == limit and renewed["duration"] == 300
        row = next(c for c in decisions(site)[-1].chargers if c["purpose"] == "TxProfile")
        assert row["renewal"] is True and row["sent"] == "Accepted"
        await run_cycle(site.id, state, now=renew_at + timedelta(seconds=10))
        assert len(profiles.received) == count + 1

        # stale data: PV-only's safe limit, 0 A, which is also the connector's baseline: such a TxProfile
        # lapses to the same limit, so it is bounded but not renewed (most renewals were of 0 A)
        stale_at = renew_at + timedelta(seconds=130)  # the last sample is 230 s old
        await run_cycle(site.id, state, now=stale_at)
        purpose, schedule = schedule_of(profiles.received[-1])
        assert purpose == "TxProfile" and schedule["chargingSchedulePeriod"][0]["limit"] == 0.0
        assert schedule["duration"] == 300
        count = len(profiles.received)
        for seconds in (270, 300, 600):
            await run_cycle(site.id, state, now=stale_at + timedelta(seconds=seconds))
        assert len(profiles.received) == count


def lift_limits(profiles: Profiles) -> list[tuple[int, int, float, int | None]]:
    """(profile id, stack level, limit, duration) of every lift (TxDefaultProfile on stack level 1) a 1.6
    or 2.0.1 charger got."""
    out = []
    for payload in profiles.received:
        profile = payload.get("csChargingProfiles") or payload["chargingProfile"]
        purpose, schedule = schedule_of(payload)
        if purpose == "TxDefaultProfile" and profile["stackLevel"] == 1:
            number = profile.get("chargingProfileId", profile.get("id"))
            out.append((number, 1, schedule["chargingSchedulePeriod"][0]["limit"], schedule.get("duration")))
    return out


async def test_pv_only_lifts_idle_connectors_to_the_minimum_while_a_new_car_would_start(
    csms: CsmsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PV-only site with a 1.6 and a 2.0.1 charger, both idle. Every baseline is 0 A (no measurement is
    no proof of surplus), so a car that locks its current at session start locked 0 A even in full sun.
    Now, while the surplus would start a new car, each idle connector also carries a lift: a second
    TxDefaultProfile (its own id, 4001) on stack level 1 at the minimum, 6 A, bounded like a TxProfile
    (300 s) so a dead loop's lift lapses to the 0 A baseline. No data (stale) drops it at once; the
    sun back lifts again; a car that starts keeps its connector's lift until its TxProfile takes over
    (no 0 A flash between the two); a surplus the running car takes whole drops the other connector's
    lift after the hold (60 s here), not at the first cloud."""
    monkeypatch.setattr(get_settings(), "surplus_newcomer_hold_s", 60.0)
    site = make_site(mode="pv-only")
    other = f"{site.cp}b"
    passwords = {site.cp: site.password, other: add_site_charger(site, other, "2.0.1")}
    profiles = {site.cp: Profiles(), other: Profiles()}
    cps: dict[str, RawChargePoint] = {}
    try:
        for cp_id, protocols in ((site.cp, ("ocpp1.6",)), (other, ("ocpp2.0.1",))):
            cp = RawChargePoint(f"ws://127.0.0.1:{csms.port}", cp_id, protocols, password=passwords[cp_id])
            await cp.connect()
            cp.responders["SetChargingProfile"] = profiles[cp_id]
            await (cp.boot201() if cp_id == other else cp.boot16())
            cps[cp_id] = cp
        t0 = utcnow()
        await sunshine(site, t0, pv_w=9000.0, grid_w=-8000.0)  # 8 kW exported, nobody charging
        state = SiteLoop()
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=1))
        for cp_id in cps:
            assert limits(profiles[cp_id])[1] == ("TxDefaultProfile", 1, 0.0)  # the baseline, level 0
            assert lift_limits(profiles[cp_id]) == [(4001, 1, 6.0, 300)]
        row = {c["charger"]: c for c in decisions(site)[-1].chargers}[f"{other}/1"]
        assert row["limit_a"] == 6.0 and row["lift"] == {"limit_a": 6.0, "sent": "Accepted"}
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=11))
        assert [len(p.received) for p in profiles.values()] == [3, 3]  # nothing changed: nothing sent

        # no measurement for 2 minutes: stale, no proof of surplus: every lift drops at once
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=130))
        for cp_id in cps:
            assert lift_limits(profiles[cp_id])[-1] == (4001, 1, 0.0, 300)
        # the sun measured again: lifted again
        await sunshine(site, t0 + timedelta(seconds=140), pv_w=9000.0, grid_w=-8000.0)
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=141))
        for cp_id in cps:
            assert lift_limits(profiles[cp_id])[-1] == (4001, 1, 6.0, 300)

        # a car starts at the 1.6 charger (on its lift): its TxProfile, no lift traffic to that connector;
        # it can take the whole 8 kW, so no second car would start: the other lift is held for now
        counts = {cp_id: len(lift_limits(p)) for cp_id, p in profiles.items()}
        started = await cps[site.cp].ok(
            "StartTransaction",
            {"connectorId": 1, "idTag": "TAG-SUN", "meterStart": 0, "timestamp": iso(utcnow())},
        )
        # measured (0 W so far), not counted at its 6 A lift until its first reading
        await reports_0_w(cps[site.cp], "1.6", started["transactionId"], t0 + timedelta(seconds=150))
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=151))
        tx = [limit for purpose, _, limit in limits(profiles[site.cp]) if purpose == "TxProfile"]
        assert tx and tx[-1] >= 6.0
        assert {cp_id: len(lift_limits(p)) for cp_id, p in profiles.items()} == counts
        await sunshine(site, t0 + timedelta(seconds=200), pv_w=9000.0, grid_w=-8000.0)
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=201))
        assert len(lift_limits(profiles[other])) == counts[other]  # 50 s of 60: held
        await run_cycle(site.id, state, now=t0 + timedelta(seconds=212))
        assert lift_limits(profiles[other])[-1] == (4001, 1, 0.0, 300)  # the hold ran out: dropped
        assert len(lift_limits(profiles[site.cp])) == counts[site.cp]  # the busy connector: untouched
    finally:
        for cp in cps.values():
            await cp.close()


@contextlib.asynccontextmanager
async def idle_pair(
    csms: CsmsServer, site: SunSite, answer=lambda payload: "Accepted"
) -> AsyncIterator[tuple[dict[str, RawChargePoint], dict[str, Profiles]]]:
    """The site's 1.6 charger and a 2.0.1 one beside it, both booted and idle, answering every
    SetChargingProfile as `answer` says. Yields the chargers and their profiles by charge point id."""
    other = f"{site.cp}b"
    passwords = {site.cp: site.password, other: add_site_charger(site, other, "2.0.1")}
    profiles = {site.cp: Profiles(answer), other: Profiles(answer)}
    cps: dict[str, RawChargePoint] = {}
    try:
        for cp_id, protocols in ((site.cp, ("ocpp1.6",)), (other, ("ocpp2.0.1",))):
            cp = RawChargePoint(f"ws://127.0.0.1:{csms.port}", cp_id, protocols, password=passwords[cp_id])
            await cp.connect()
            cp.responders["SetChargingProfile"] = profiles[cp_id]
            await (cp.boot201() if cp_id == other else cp.boot16())
            cps[cp_id] = cp
        yield cps, profiles
    finally:
        for cp in cps.values():
            await cp.close()


async def test_a_new_owner_keeps_the_lift_the_hold_still_holds(
    csms: CsmsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker a lifts both idle connectors in full sun; a cloud comes (no newcomer would start) and a keeps
    the lifts for the hold (60 s here), then dies. Worker b takes the site over within the hold: it keeps
    the lifts too (the lift state and the hold's clock are saved with the memory) instead of dropping them
    at once and lifting again at the next sun, and drops them when a's hold runs out, not 60 s later."""
    monkeypatch.setattr(get_settings(), "surplus_newcomer_hold_s", 60.0)
    site = make_site(mode="pv-only")
    async with idle_pair(csms, site) as (cps, profiles):
        t0 = utcnow()
        await sunshine(site, t0, pv_w=9000.0, grid_w=-8000.0)
        a = Runner("worker-a")
        assert await a.tick(t0 + timedelta(seconds=1)) == 1
        for cp_id in cps:
            assert lift_limits(profiles[cp_id]) == [(4001, 1, 6.0, 300)]
        await sunshine(site, t0 + timedelta(seconds=10), pv_w=1000.0, grid_w=-500.0)  # a cloud
        assert await a.tick(t0 + timedelta(seconds=12)) == 1
        assert a.sites[site.id].lift_low_since == t0 + timedelta(seconds=12)  # the hold runs
        sent = {cp_id: len(p.received) for cp_id, p in profiles.items()}

        b = Runner("worker-b")  # a is gone; its lease (3 intervals from t0 + 12 s) runs out at t0 + 42 s
        assert await b.tick(t0 + timedelta(seconds=43)) == 1
        assert b.sites[site.id].lifted
        assert {cp_id: len(p.received) for cp_id, p in profiles.items()} == sent  # nothing dropped
        assert await b.tick(t0 + timedelta(seconds=54)) == 1
        assert {cp_id: len(p.received) for cp_id, p in profiles.items()} == sent  # 42 s of 60: held
        assert await b.tick(t0 + timedelta(seconds=73)) == 1  # 61 s since a's cloud: dropped
        for cp_id in cps:
            assert lift_limits(profiles[cp_id]) == [(4001, 1, 6.0, 300), (4001, 1, 0.0, 300)]
