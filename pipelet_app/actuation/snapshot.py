"""The site as the surplus loop sees it now: its settings, the latest measurement of each device, and
each OCPP charger with its open session and what the driver, the car and the MQTT transaction asked for.

One read per cycle, from the raw samples (`site_samples`, newest per device within `STALE_AFTER`), so a
10-30 s loop does not wait for the 1-minute series. A worker reads the sites of a batch together
(`load_sites`): one statement per table for the whole batch (sites, settings, devices, samples, chargers,
open sessions, MQTT transactions, preferences, charging needs, stored configuration), not one per site and
charger. Read site by site that was about 15 statements a site, 10.5 ms of a worker's time: 2,000 sites
already took 11.5 s of the 10 s period on two workers (benchmarks/surplus_loop).

Wishes merge in this order: the driver's session preferences, then the car's 2.0.1 NotifyEVChargingNeeds,
then the site's MQTT transaction for that charger device, then the site's defaults.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import ScalarSelect, and_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from pipelet_app.db.filters import one_of
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    Connector,
    DeviceKind,
    DeviceVariable,
    EvChargingNeeds,
    MeterValue,
    SessionPreference,
    Site,
    SiteDevice,
    SiteEvTransaction,
    SiteSample,
    SiteSurplus,
)
from pipelet_app.domain import live_power
from pipelet_app.domain.meter_energy import DEFAULT_MAX_POWER_W
from pipelet_app.domain.site_balance import Reading, implausible_house_w
from pipelet_app.domain.site_energy import floor_minute
from pipelet_app.domain.surplus import ChargerInput, Mode, PriceSeries, SessionPrefs, SiteConfig, SiteSnapshot
from pipelet_app.domain.surplus.actuation import STALE_AFTER, rate_unit
from pipelet_app.domain.surplus.inputs import InputError, prices_cover, prices_from_rows

DEFAULT_MAX_A = 16.0
#: a session with no draw known now is unmeasured, not at 0 W (`controller.unmeasured_draws`), while it
#: is this young, and after that as long as no reading of its own came since its start (see `_view`)
UNMEASURED_FOR = STALE_AFTER
#: connector statuses that say the car draws nothing now: 1.6 SuspendedEV (the car paused), SuspendedEVSE
#: (the charger offers it nothing), Finishing (the transaction stopped), Faulted (no energy delivery);
#: Available (1.6 and 2.0.1: the cable is out) — see `_stopped_at`
NOT_DRAWING_STATUSES = frozenset({"SuspendedEV", "SuspendedEVSE", "Finishing", "Available", "Faulted"})
#: 2.0.1 `chargingState`s of a transaction that say the car draws nothing: all but Charging (EVConnected:
#: plugged in, no energy flow yet; Idle: no car connected)
NOT_DRAWING_CHARGING_STATES = frozenset({"EVConnected", "SuspendedEV", "SuspendedEVSE", "Idle"})
RATE_UNIT_VARIABLES = (
    ("OCPP16", "ChargingScheduleAllowedChargingRateUnit"),
    ("SmartChargingCtrlr", "RateUnit"),
)
#: the charger's own word on switching from 3 to 1 phase during a transaction (1.6 configuration key,
#: 2.0.1 device model); only a stored "false" overrides the operator's `switch_phases`. Not
#: `ACPhaseSwitchingSupported`: in 2.0.1 that says the EVSE can choose *which* phase a single-phase car
#: gets (`phaseToUse`), not that it can switch between 1 and 3 phases.
PHASE_SWITCH_VARIABLES = (
    ("OCPP16", "ConnectorSwitch3to1PhaseSupported"),
    ("SmartChargingCtrlr", "Phases3to1"),
)


@dataclass(frozen=True)
class Target:
    """Where a charger's decision goes: the OCPP charger, connector and running transaction."""

    charger_key: str  # "CP-1/1", the controller's charger_id
    charge_point_id: str
    connector_id: int
    transaction_id: str | None
    unit: str
    online: bool
    #: False when the charger never told us its rate unit (`unit` is then the A default): the loop asks it
    unit_known: bool = True
    #: the charger's last BootNotification: a reboot may have dropped the profiles it carried
    booted_utc: datetime | None = None
    #: charger and car can switch between 1 and 3 phases: its profiles carry `numberPhases`
    switch_phases: bool = False
    #: the operator marked it switchable but the charger never said whether it can switch from 3 to 1
    #: phase (`PHASE_SWITCH_VARIABLES`): the loop asks it, in the same request as the rate unit
    phases_unknown: bool = False
    #: "1.6" or "2.0.1" (the site cap's purpose name differs); "1.6" when the charger never said
    ocpp_version: str = "1.6"


@dataclass(frozen=True)
class SiteView:
    site_id: int
    config: SiteConfig
    settings: SiteSurplus
    snapshot: SiteSnapshot
    stale: bool
    newest_utc: datetime | None
    targets: dict[str, Target]
    charge_points: tuple[str, ...]
    #: what the cycle did about prices (Eco-plus without current prices plans like PV-priority), or None
    price_note: str | None = None
    #: the grid meter's value when it is frozen (see `frozen_grid_w`); the site then counts as stale
    frozen_grid_w: float | None = None
    #: the house load the readings imply when it is implausibly negative (domain.site_balance); stale too
    implausible_house_w: float | None = None


def site_prices(settings: SiteSurplus, now: datetime) -> tuple[PriceSeries | None, str | None]:
    """The worker's cached prices when they cover `now` (the loop never fetches), else None and why."""
    if settings.tariff_source == "none":
        return None, "no tariff source"
    series = None
    if settings.tariff_prices:
        try:
            series = prices_from_rows(settings.tariff_prices, settings.tariff_slot_s)
        except InputError:
            series = None
    if prices_cover(series, now):
        return series, None
    why = "no prices fetched yet" if series is None else "the cached prices ended"
    if settings.tariff_error:
        why = f"{why}; last fetch: {settings.tariff_error}"
    return None, why


def _without_eco_plus(inputs: list[ChargerInput]) -> list[ChargerInput]:
    """Cars whose driver chose Eco-plus plan like PV-priority while there are no prices."""
    return [
        replace(c, prefs=replace(c.prefs, mode=Mode.PV_PRIORITY)) if c.prefs.mode is Mode.ECO_PLUS else c
        for c in inputs
    ]


class Sample(NamedTuple):
    """One raw sample (`site_samples`) as the loop reads it: the columns it needs as a plain tuple. A
    batch reads ~16 samples a site; as ORM objects they were a third of the read's CPU at 10,000 sites
    (benchmarks/surplus_loop)."""

    device_id: int
    ts: datetime
    power_w: float
    soc: float | None


class SiteRow(NamedTuple):
    """A site (`sites`) as the loop reads it (see `Device`)."""

    id: int
    grid_limit_a: float | None
    phases: int
    latitude: float | None
    longitude: float | None


class Device(NamedTuple):
    """A site device (`site_devices`) as the loop reads it. Devices and chargers are most of a batch's
    rows (six a site in the benchmark); as ORM objects they were half of the read's client CPU at
    10,000 sites (benchmarks/surplus_loop, session 11)."""

    id: int
    site_id: int
    kind: DeviceKind
    charge_point_id: str | None
    connector_id: int | None
    switch_phases: bool


class ChargerRow(NamedTuple):
    """A charger (`chargers`) as the loop reads it (see `Device`)."""

    id: int
    charge_point_id: str
    site_id: int | None
    is_online: bool
    last_boot_at: datetime | None
    ocpp_version: str | None


#: sites read together by one statement per table (`load_sites`); the loop's batches are 100
#: (`loop.BATCH_SITES`), and bound parameters stay far below SQLite's and PostgreSQL's limits
READ_CHUNK = 200


@dataclass
class _Rows:
    """What the views of a batch of sites need, read with one statement per table (`read`)."""

    sites: dict[int, SiteRow]
    settings: dict[int, SiteSurplus]
    devices: dict[int, list[Device]]
    #: the raw samples of the last `STALE_AFTER` per site
    samples: dict[int, list[Sample]]
    chargers: dict[str, ChargerRow]
    #: the newest open session per (charger id, connector id)
    sessions: dict[tuple[int, int], ChargingSession]
    #: the newest open MQTT transaction per (site id, device id)
    transactions: dict[tuple[int, int], SiteEvTransaction]
    preferences: dict[int, SessionPreference]
    #: the newest charging needs per session id
    needs: dict[int, EvChargingNeeds]
    #: (component, variable, value) of the stored rate unit and 3-to-1 answer per charger id
    variables: dict[int, list[tuple[str, str, str | None]]]
    #: the newest whole-charger `Power.Active.Import` (W) of the last `STALE_AFTER` per open session id,
    #: straight from `meter_values` (see `_charger_draw`)
    ocpp_power: dict[int, Sample]
    #: per open session id, its newest whole-charger energy register of the last `STALE_AFTER` and the one
    #: before it (any age), from `meter_values` (see `_charger_draw`); where both sit on a register step,
    #: also its readings of the last `live_power.COARSE_WINDOW_S` (`_read_coarse_registers`)
    ocpp_registers: dict[int, list[live_power.Reading]]
    #: the connector's `max_power_w` per open session id, where an operator or the charger set it
    max_power_w: dict[int, float]
    #: the connector's status and when the charger reported it, per open session id (`connectors`: 1.6
    #: StatusNotification, 2.0.1 StatusNotification per EVSE); see `_stopped_at`
    connector_status: dict[int, tuple[str, datetime]]
    #: the open session ids with a whole-charger register or power reading after their start (up to
    #: now), of any age: the ones that are not waiting for their first reading (see `_view`)
    read_since_start: set[int]

    @classmethod
    def read(cls, db: Session, site_ids: list[int], now: datetime) -> _Rows:
        """The rows of `site_ids`; the same filters and "newest" orders as a per-site read, per key."""
        since = now - STALE_AFTER
        sites = {
            row.id: SiteRow(*row)
            for row in db.exec(
                select(*(getattr(Site, name) for name in SiteRow._fields)).where(
                    one_of(db, col(Site.id), site_ids)
                )
            )
        }
        settings = {
            s.site_id: s
            for s in db.exec(select(SiteSurplus).where(one_of(db, col(SiteSurplus.site_id), site_ids)))
        }
        devices: dict[int, list[Device]] = {}
        for row in db.exec(
            select(*(getattr(SiteDevice, name) for name in Device._fields))
            .where(one_of(db, col(SiteDevice.site_id), site_ids))
            .order_by(col(SiteDevice.id))
        ):
            device = Device(*row)
            devices.setdefault(device.site_id, []).append(device)
        samples: dict[int, list[Sample]] = {}
        for site_id, device_id, ts, power_w, soc in db.exec(
            select(
                SiteSample.site_id, SiteSample.device_id, SiteSample.ts, SiteSample.power_w, SiteSample.soc
            ).where(
                one_of(db, col(SiteSample.site_id), site_ids),
                SiteSample.minute >= floor_minute(since),
                SiteSample.ts >= since,
                SiteSample.ts <= now,
            )
        ):
            samples.setdefault(site_id, []).append(Sample(device_id, ts, power_w, soc))
        charge_points = sorted(
            {d.charge_point_id for ds in devices.values() for d in ds if d.charge_point_id is not None}
        )
        chargers = (
            {
                row.charge_point_id: ChargerRow(*row)
                for row in db.exec(
                    select(*(getattr(Charger, name) for name in ChargerRow._fields)).where(
                        one_of(db, col(Charger.charge_point_id), charge_points)
                    )
                )
            }
            if charge_points
            else {}
        )
        charger_ids = sorted(c.id for c in chargers.values() if c.id is not None)
        sessions: dict[tuple[int, int], ChargingSession] = {}
        variables: dict[int, list[tuple[str, str, str | None]]] = {}
        ocpp_power: dict[int, Sample] = {}
        ocpp_registers: dict[int, list[live_power.Reading]] = {}
        max_power_w: dict[int, float] = {}
        connector_status: dict[int, tuple[str, datetime]] = {}
        read_since_start: set[int] = set()
        if charger_ids:
            # each open session's newest whole-charger power reading, newest register reading and the
            # register reading before that, whether any such reading came since its start, in the same
            # statement (correlated, on the (session_id, timestamp, ...) index of meter_values), and
            # its connector's row (unique per charger and connector)
            power_ts, power_w = _newest_reading(OCPP_POWER, since, now)
            register_ts, register_wh = _newest_reading(live_power.REGISTER, since, now)
            before_ts, before_wh = _newest_reading(live_power.REGISTER, None, now, before=register_ts)
            read = aliased(MeterValue)
            any_reading = (
                select(read.id)
                .where(
                    read.session_id == ChargingSession.id,
                    col(read.measurand).in_((live_power.REGISTER, OCPP_POWER)),
                    col(read.phase).is_(None),
                    read.timestamp > ChargingSession.start_utc,
                    read.timestamp <= now,
                )
                .correlate(ChargingSession)
                .exists()
            )
            for (
                session,
                ts,
                watts,
                newest_at,
                newest_wh,
                prior_at,
                prior_wh,
                connector_max,
                status,
                status_at,
                read_once,
            ) in db.exec(
                select(
                    ChargingSession,
                    power_ts,
                    power_w,
                    register_ts,
                    register_wh,
                    before_ts,
                    before_wh,
                    Connector.max_power_w,
                    Connector.status,
                    Connector.updated_at,
                    any_reading,
                )
                .outerjoin(
                    Connector,
                    and_(
                        Connector.charger_id == ChargingSession.charger_id,
                        Connector.connector_id == ChargingSession.connector_id,
                    ),
                )
                .where(
                    one_of(db, col(ChargingSession.charger_id), charger_ids),
                    col(ChargingSession.end_utc).is_(None),
                )
                .order_by(col(ChargingSession.start_utc).desc())
            ):
                sessions.setdefault((session.charger_id, session.connector_id), session)  # type: ignore[arg-type]
                if session.id is None:
                    continue
                if connector_max:
                    max_power_w[session.id] = float(connector_max)
                if status is not None and status_at is not None:
                    connector_status[session.id] = (status, status_at)
                if read_once:
                    read_since_start.add(session.id)
                if ts is not None and watts is not None:
                    ocpp_power[session.id] = Sample(0, ts, max(float(watts), 0.0), None)
                # stored in Wh whatever the charger sent (ocpp.transactions.Sample.normalised)
                ocpp_registers[session.id] = [
                    live_power.Reading(at, live_power.REGISTER, float(wh), "Wh")
                    for at, wh in ((newest_at, newest_wh), (prior_at, prior_wh))
                    if at is not None and wh is not None
                ]
            _read_coarse_registers(db, ocpp_registers, now)
            wanted = [v for _, v in RATE_UNIT_VARIABLES + PHASE_SWITCH_VARIABLES]
            for charger_id, component, variable, value in db.exec(
                select(
                    DeviceVariable.charger_id,
                    DeviceVariable.component,
                    DeviceVariable.variable,
                    DeviceVariable.value,
                ).where(
                    one_of(db, col(DeviceVariable.charger_id), charger_ids),
                    one_of(db, col(DeviceVariable.variable), wanted),
                )
            ):
                variables.setdefault(charger_id, []).append((component, variable, value))
        transactions: dict[tuple[int, int], SiteEvTransaction] = {}
        for tx in db.exec(
            select(SiteEvTransaction)
            .where(
                one_of(db, col(SiteEvTransaction.site_id), site_ids),
                col(SiteEvTransaction.stop_utc).is_(None),
                SiteEvTransaction.state != "Ended",
            )
            .order_by(col(SiteEvTransaction.message_ts).desc())
        ):
            transactions.setdefault((tx.site_id, tx.device_id), tx)
        session_ids = sorted(s.id for s in sessions.values() if s.id is not None)
        preferences: dict[int, SessionPreference] = {}
        needs: dict[int, EvChargingNeeds] = {}
        if session_ids:
            preferences = {
                p.session_id: p
                for p in db.exec(
                    select(SessionPreference).where(
                        one_of(db, col(SessionPreference.session_id), session_ids)
                    )
                )
            }
            for need in db.exec(
                select(EvChargingNeeds)
                .where(one_of(db, col(EvChargingNeeds.session_id), session_ids))
                .order_by(col(EvChargingNeeds.id).desc())
            ):
                needs.setdefault(need.session_id, need)  # type: ignore[arg-type]
        return cls(
            sites,  # type: ignore[arg-type]
            settings,
            devices,
            samples,
            chargers,
            sessions,
            transactions,
            preferences,
            needs,
            variables,
            ocpp_power,
            ocpp_registers,
            max_power_w,
            connector_status,
            read_since_start,
        )


#: the measurand a charger's own power reading comes in (the whole charger when it has no phase)
OCPP_POWER = "Power.Active.Import"


def _newest_reading(
    measurand: str, since: datetime | None, now: datetime, before: ScalarSelect | None = None
) -> tuple[ScalarSelect, ScalarSelect]:
    """(timestamp, value) of an open session's newest whole-charger reading of `measurand` up to `now`,
    from `since` on, or before the instant `before`: correlated scalar subqueries of the sessions read."""
    mv = aliased(MeterValue)
    newest = select(mv.timestamp).where(
        mv.session_id == ChargingSession.id,
        mv.measurand == measurand,
        col(mv.phase).is_(None),
        mv.timestamp <= now,
    )
    if since is not None:
        newest = newest.where(mv.timestamp >= since)
    if before is not None:
        newest = newest.where(mv.timestamp < before)
    newest = newest.order_by(col(mv.timestamp).desc(), col(mv.id).desc()).limit(1).correlate(ChargingSession)
    return newest.scalar_subquery(), newest.with_only_columns(mv.value).scalar_subquery()


def _read_coarse_registers(
    db: Session, registers: dict[int, list[live_power.Reading]], now: datetime
) -> None:
    """Add `live_power.COARSE_WINDOW_S` of whole-charger register readings to the sessions whose two
    newest sit on a register step (`live_power.register_step_wh`: 0.1 kWh read every 10 s rises by 0 or
    100 Wh at 11 kW; `register_draw` averages such a register back over two of its steps). One statement
    for the batch, for those sessions only: a finer register (nearly all) needs no more than its pair."""
    coarse = [
        sid
        for sid, pair in registers.items()
        if len(pair) == 2 and all(live_power.register_step_wh([r.value] * 3) for r in pair)
    ]
    if not coarse:
        return
    since = now - timedelta(seconds=live_power.COARSE_WINDOW_S)
    for sid, at, wh in db.exec(
        select(MeterValue.session_id, MeterValue.timestamp, MeterValue.value).where(
            one_of(db, col(MeterValue.session_id), coarse),
            MeterValue.measurand == live_power.REGISTER,
            col(MeterValue.phase).is_(None),
            MeterValue.timestamp >= since,
            MeterValue.timestamp <= now,
        )
    ):
        if sid is not None and wh is not None:
            registers[sid].append(live_power.Reading(at, live_power.REGISTER, float(wh), "Wh"))


def _charger_draw(
    sample: Sample | None,
    batch: _Rows,
    session: ChargingSession | None,
    now: datetime,
    carry_w: float | None = None,
) -> tuple[float, datetime | None, datetime | None]:
    """A charger device's draw (W): whichever is newer of its newest site sample and its open session's
    newest OCPP draw (`_ocpp_draw`). Why: OCPP meter values reach `site_samples` only through the
    site-energy feed (`SITE_ENERGY_TICK_S`, 15 s), while the MQTT grid meter is live; a car that had just
    started (or been raised) showed in the grid's reading but not yet in its own, so its draw counted as
    0 W and the surplus shrank by exactly that draw (an outside walk: a 2.0.1 car reporting 4 kW dipped
    8.6 -> 6.0 -> 8.6 A until the feed caught up).

    `carry_w`: the most the connector can carry (`_carry_w`); a reading above it is none (see
    `live_power.register_draw`), the site sample too: the feed derives it from the same register without
    any bound, so a register jump it let through came back as the fallback of the draw refused here.

    A sample from before the open session started is another car's draw (or none), not this one's.

    With the draw, when it began (`ChargerInput.measured_since`): a register's average at the start of its
    interval, a reading of an instant (a reported power, a site sample) at its time; and when it ends
    (`ChargerInput.measured_at`: the reading's time). None and None: no draw known. The controller bounds
    a draw that began before its previous call by the limit it set then (`controller.draws_now`): the
    feed's sample of an older interval, the fallback when the newest register step went backwards,
    offered a car on 8.3 kW its 10.4 kW of the interval before (16 A, 2 kW of import; outside walk)."""
    reading, since = (
        _ocpp_draw(batch, session, now, carry_w)
        if session is not None and session.id is not None
        else (None, None)
    )
    if sample is not None and not live_power.carries(sample.power_w, 0.0, carry_w):
        sample = None
    if sample is not None and session is not None and sample.ts < session.start_utc:
        sample = None  # the draw of the car before (an outside walk: a new car started at 16 A on it)
    # the feed's sample of the same instant is the same register's rise, without its interval
    if reading is None or (sample is not None and sample.ts > reading.ts):
        return (max(sample.power_w, 0.0), sample.ts, sample.ts) if sample is not None else (0.0, None, None)
    return max(reading.power_w, 0.0), since or reading.ts, reading.ts


def _stopped_at(batch: _Rows, session: ChargingSession | None, now: datetime) -> datetime | None:
    """When the charger said the open session's car stopped drawing, else None: the newer of its
    connector's status and (2.0.1) its transaction's `chargingState`, each reported after the session
    started and not after `now`, is one of `NOT_DRAWING_STATUSES` / `NOT_DRAWING_CHARGING_STATES`.

    Why: a register tells a stop late or not at all. A coarse one (0.1 kWh) averaged over its steps
    still counted a stopped 10 kW car at about 2.4 kW two minutes on, and a charger that had sent no
    reading yet counted its car at the offer (`controller.unmeasured_draws`) though it said the car was
    suspended. The status is the charger's own word, sent when it changes (1.6 StatusNotification, also
    SuspendedEV/SuspendedEVSE during a transaction; 2.0.1 only in TransactionEvent, its connector stays
    Occupied); one from before the session is the last car's. The newer word wins (a 2.0.1 car back to
    Charging after SuspendedEV draws again), and so does a reading whose interval began after it (the car
    drew again without a new status; `_view`)."""
    if session is None or session.id is None:
        return None
    words: list[tuple[datetime, bool]] = []
    status = batch.connector_status.get(session.id)
    if status is not None:
        words.append((status[1], status[0] in NOT_DRAWING_STATUSES))
    if session.charging_state is not None and session.charging_state_at is not None:
        words.append((session.charging_state_at, session.charging_state in NOT_DRAWING_CHARGING_STATES))
    words = [(at, stopped) for at, stopped in words if session.start_utc < at <= now]
    if not words:
        return None
    at, stopped = max(words)
    return at if stopped else None


def _ocpp_draw(
    batch: _Rows, session: ChargingSession, now: datetime, carry_w: float | None = None
) -> tuple[Sample | None, datetime | None]:
    """An open session's newest OCPP draw: its reported `Power.Active.Import`, unless the rise of its
    energy register is newer (a charger that reports only its register): `live_power.register_draw` over
    its two newest register readings, the start register counting as one, judged against the connector's
    maximum power as the session's energy is, and no more than the connector carries (`carry_w`)."""
    sid: int = session.id  # type: ignore[assignment]
    power = batch.ocpp_power.get(sid)
    if power is not None and not live_power.carries(power.power_w, 0.0, carry_w):
        power = None
    draw = live_power.register_draw(
        batch.ocpp_registers.get(sid, []),
        now,
        start=_start_register(session),
        max_power_w=batch.max_power_w.get(sid, DEFAULT_MAX_POWER_W),
        carry_w=carry_w,
    )
    if draw is not None and (power is None or draw.at > power.ts):
        return Sample(0, draw.at, draw.watts, None), draw.since
    return power, None


def _carry_w(max_a: float, phases: int, voltage_v: float, connector_w: float | None) -> float:
    """The most a connector can carry now: the current the controller may give its car (`max_a`) on its
    phases at the site's voltage, or the connector's `max_power_w` where an operator or the charger set a
    lower one. The profiles the loop sends never allow more; a car that draws more before its first
    profile counts as no reading, i.e. less surplus for a cycle, never more."""
    bound = max_a * phases * voltage_v
    return min(bound, connector_w) if connector_w else bound


def _start_register(session: ChargingSession) -> live_power.Reading | None:
    """The session's start register as a reading (1.6 stores `meterStart` only on the session), unless
    it is a late 0 that only the evidence can decide (`meter_energy.decide_start`)."""
    if session.meter_start_wh is None or (session.meter_start_wh == 0 and session.started_offline):
        return None
    return live_power.Reading(session.start_utc, live_power.REGISTER, session.meter_start_wh, "Wh")


def _latest(rows: Sequence[Sample]) -> dict[int, Sample]:
    latest: dict[int, Sample] = {}
    for row in rows:
        if row.device_id not in latest or row.ts > latest[row.device_id].ts:
            latest[row.device_id] = row
    return latest


#: a grid meter is frozen when it repeats one value over the stale window while PV, a load or a car
#: moved by this much (a real meter would have seen it) and no home battery moved (one regulating the
#: grid to a set point explains a steady reading)
FROZEN_MOVED_W = 500.0
FROZEN_BATTERY_W = 50.0
FROZEN_MIN_SAMPLES = 3
FROZEN_MIN_SPAN = STALE_AFTER * 3 / 4


def frozen_grid_w(rows: Sequence[Sample | SiteSample], kinds: dict[int, str]) -> float | None:
    """The value a frozen grid meter repeats, or None. Why: a meter whose value sticks while its
    timestamps go on passes the 2-minute stale rule, and the controller reads the cars' growing draw
    as growing surplus (a grid frozen at 8 kW export with two cars at 4 kW each gave them 16 kW, nearly
    twice the PV production, all from the grid)."""
    by_device: dict[int, list[Sample | SiteSample]] = {}
    for row in rows:
        by_device.setdefault(row.device_id, []).append(row)

    def spread(samples: list[Sample | SiteSample]) -> float:
        values = [s.power_w for s in samples]
        return max(values) - min(values)

    grid = [samples for device, samples in by_device.items() if kinds.get(device) == DeviceKind.GRID.value]
    if not grid:
        return None
    for samples in grid:
        span = max(s.ts for s in samples) - min(s.ts for s in samples)
        if len(samples) < FROZEN_MIN_SAMPLES or span < FROZEN_MIN_SPAN or spread(samples) >= 0.5:
            return None
    others = {kind: 0.0 for kind in ("pv", "load", "charger", "battery")}
    for device, samples in by_device.items():
        kind = kinds.get(device)
        if kind in others:
            others[kind] = max(others[kind], spread(samples))
    if others["battery"] > FROZEN_BATTERY_W:
        return None
    if max(others["pv"], others["load"], others["charger"]) < FROZEN_MOVED_W:
        return None
    return sum(samples[0].power_w for samples in grid)


def _newest_grid_sample(db: Session, site_id: int, devices: list[Device], now: datetime) -> datetime | None:
    """When the site went stale: its last grid measurement of the past day, so the operator reads since
    when (not "never" for a meter that stopped a few minutes ago)."""
    grid_ids = [d.id for d in devices if d.kind == DeviceKind.GRID]
    if not grid_ids:
        return None
    since = now - timedelta(days=1)
    return db.exec(
        select(SiteSample.ts)
        .where(
            SiteSample.site_id == site_id,
            SiteSample.minute >= floor_minute(since),
            SiteSample.minute <= now,
            one_of(db, col(SiteSample.device_id), grid_ids),
            SiteSample.ts <= now,
        )
        .order_by(col(SiteSample.minute).desc(), col(SiteSample.ts).desc())
        .limit(1)
    ).first()


def _charger_facts(rows: list[tuple[str, str, str | None]]) -> tuple[str | None, bool, bool]:
    """From the charger's stored configuration / device model rows (component, variable, value): `A` or
    `W` (None when it has none), False when it said it cannot switch from 3 to 1 phase (True when it said
    nothing or yes), and whether it said anything about that."""
    unit, can_switch, phases_known = None, True, False
    for component, variable, value in rows:
        if (component, variable) in RATE_UNIT_VARIABLES and unit is None:
            unit = rate_unit(value)
        elif (component, variable) in PHASE_SWITCH_VARIABLES and value is not None:
            phases_known = True
            if str(value).strip().lower() == "false":
                can_switch = False
    return unit, can_switch, phases_known


def _prefs(
    pref: SessionPreference | None, needs: EvChargingNeeds | None, tx: SiteEvTransaction | None
) -> tuple[SessionPrefs, float | None, int | None]:
    """The merged wishes (the driver's `pref`, the car's newest `needs`, the MQTT `tx`), the car's
    maximum current (A) and its phases where it told us."""
    mode = Mode(pref.mode) if pref and pref.mode else None
    departure = (pref.departure_utc if pref else None) or (needs.departure_time if needs else None)
    energy = (pref.energy_wh if pref else None) or (needs.energy_amount_wh if needs else None)
    priority = 5
    if tx is not None:
        departure = departure or (None if tx.departure_defaulted else tx.departure_utc)
        energy = energy or (None if tx.energy_defaulted else tx.requested_min_wh)
        priority = tx.priority
    max_a = needs.ev_max_current_a if needs and needs.ev_max_current_a else None
    phases = None
    if needs and needs.requested_energy_transfer:
        phases = 1 if needs.requested_energy_transfer == "AC_single_phase" else 3
    elif tx is not None and tx.phases in (1, 3):
        phases = tx.phases
    return (
        SessionPrefs(mode=mode, departure_utc=departure, energy_wh=energy, priority=priority),
        max_a,
        phases,
    )


def load_site(db: Session, site_id: int, now: datetime) -> SiteView | None:
    """The site's view for one cycle; None when the site is gone, disabled or has no grid limit."""
    return load_sites(db, [site_id], now)[site_id]


def load_sites(db: Session, site_ids: Collection[int], now: datetime) -> dict[int, SiteView | None]:
    """Each site's view for one cycle (`load_site`), read together: one statement per table for up to
    `READ_CHUNK` sites (a site gone stale also reads its last grid measurement of the day, on its own)."""
    ids = sorted(set(site_ids))
    out: dict[int, SiteView | None] = {}
    for start in range(0, len(ids), READ_CHUNK):
        rows = _Rows.read(db, ids[start : start + READ_CHUNK], now)
        out.update((site_id, _view(db, rows, site_id, now)) for site_id in ids[start : start + READ_CHUNK])
    return out


def _view(db: Session, batch: _Rows, site_id: int, now: datetime) -> SiteView | None:
    """One site's view from its batch's rows."""
    site = batch.sites.get(site_id)
    settings = batch.settings.get(site_id)
    if site is None or settings is None or not settings.enabled or site.grid_limit_a is None:
        return None
    devices = batch.devices.get(site_id, [])
    rows = batch.samples.get(site_id, [])
    latest = _latest(rows)
    by_kind: dict[str, list[Sample]] = {}
    for device in devices:
        sample = latest.get(device.id)  # type: ignore[arg-type]
        if sample is not None:
            by_kind.setdefault(str(device.kind), []).append(sample)
    grid = by_kind.get(DeviceKind.GRID.value, [])
    pv = by_kind.get(DeviceKind.PV.value, [])
    battery = by_kind.get(DeviceKind.BATTERY.value, [])
    kinds = {d.id: str(d.kind) for d in devices if d.id is not None}
    frozen = frozen_grid_w(rows, kinds)
    # Readings that contradict the site's balance (a negative house load) are no surplus either.
    readings = [
        Reading(r.device_id, kinds[r.device_id], r.ts, r.power_w) for r in rows if r.device_id in kinds
    ]
    implausible = None if frozen is not None else implausible_house_w(readings, FROZEN_MIN_SPAN)
    stale = not grid or frozen is not None or implausible is not None
    newest = (
        max((s.ts for s in grid), default=None) if grid else _newest_grid_sample(db, site_id, devices, now)
    )
    config = SiteConfig(
        grid_limit_a=float(site.grid_limit_a),
        phases=site.phases,
        mode=Mode(settings.mode),
        latitude=site.latitude,
        longitude=site.longitude,
        battery_priority=settings.battery_priority,
        battery_priority_soc=settings.min_soc if settings.min_soc is not None else 100.0,
    )
    inputs: list[ChargerInput] = []
    targets: dict[str, Target] = {}
    charge_points: list[str] = []
    for device in devices:
        if device.kind != DeviceKind.CHARGER or not device.charge_point_id or device.connector_id is None:
            continue
        charger = batch.chargers.get(device.charge_point_id)
        if charger is None or charger.site_id != site_id:
            continue
        if device.charge_point_id not in charge_points:
            charge_points.append(device.charge_point_id)
        key = f"{device.charge_point_id}/{device.connector_id}"
        session = batch.sessions.get((charger.id, device.connector_id))  # type: ignore[arg-type]
        tx = batch.transactions.get((site_id, device.id))  # type: ignore[arg-type]
        sample = latest.get(device.id)  # type: ignore[arg-type]
        prefs, car_max_a, phases = (SessionPrefs(), None, None)
        if session is not None:
            prefs, car_max_a, phases = _prefs(
                batch.preferences.get(session.id),  # type: ignore[arg-type]
                batch.needs.get(session.id),  # type: ignore[arg-type]
                tx,
            )
        unit, charger_switches, phases_known = _charger_facts(batch.variables.get(charger.id, []))  # type: ignore[arg-type]
        # a car that told us it charges on one phase gains nothing from a switch; nor does a 1-phase site
        switchable = device.switch_phases and charger_switches and site.phases == 3 and phases != 1
        phases = phases or site.phases
        max_a = max(min(car_max_a or DEFAULT_MAX_A, float(site.grid_limit_a)), 6.0)
        connector_w = batch.max_power_w.get(session.id) if session and session.id else None  # type: ignore[arg-type]
        carry_w = _carry_w(max_a, max(phases, 3 if switchable else 1), config.voltage_v, connector_w)
        measured_w, measured_since, measured_at = _charger_draw(sample, batch, session, now, carry_w)
        stopped = _stopped_at(batch, session, now)
        if stopped is not None and (measured_since is None or measured_since < stopped):
            # the charger said the car stopped drawing after the draw known began: 0 W since then
            measured_w, measured_since, measured_at = 0.0, stopped, stopped
        # no draw known and nothing to say the car does not draw: its draw is not known yet
        # (`controller.unmeasured_draws`), not 0 W: a session of moments ago, or one still waiting for
        # its first reading
        unmeasured = (
            session is not None
            and measured_at is None
            and (now - session.start_utc <= UNMEASURED_FOR or session.id not in batch.read_since_start)
        )
        inputs.append(
            ChargerInput(
                charger_id=key,
                connected=session is not None,
                max_a=max_a,
                phases=phases,
                can_switch_phases=switchable,
                measured_w=measured_w,
                measured_since=measured_since,
                measured_at=measured_at,
                unmeasured=unmeasured,
                delivered_wh=session.energy_wh if session else 0.0,
                prefs=prefs,
            )
        )
        targets[key] = Target(
            key,
            device.charge_point_id,
            device.connector_id,
            session.transaction_id if session else None,
            unit or "A",
            charger.is_online,
            unit_known=unit is not None,
            booted_utc=charger.last_boot_at,
            switch_phases=switchable,
            phases_unknown=device.switch_phases and not phases_known,
            ocpp_version=charger.ocpp_version or "1.6",
        )
    prices, why = site_prices(settings, now)
    note = None
    eco_plus = config.mode is Mode.ECO_PLUS or any(c.prefs.mode is Mode.ECO_PLUS for c in inputs)
    if prices is None and eco_plus:
        note = f"eco-plus without prices ({why}): planned like pv-priority"
        if config.mode is Mode.ECO_PLUS:
            config = replace(config, mode=Mode.PV_PRIORITY)
        inputs = _without_eco_plus(inputs)
    snapshot = SiteSnapshot(
        time_utc=now,
        grid_w=sum(s.power_w for s in grid),
        chargers=tuple(inputs),
        pv_w=sum(s.power_w for s in pv) if pv else None,
        battery_w=sum(s.power_w for s in battery),
        battery_soc=next((s.soc for s in battery if s.soc is not None), None),
        prices=prices,
    )
    return SiteView(
        site_id,
        config,
        settings,
        snapshot,
        stale,
        newest,
        targets,
        tuple(charge_points),
        note,
        frozen,
        implausible,
    )
