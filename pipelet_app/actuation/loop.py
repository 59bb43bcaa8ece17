"""The surplus loop: per enabled site, every `interval_s` (10-30 s), read the site (`snapshot`), ask the
controller (`domain.surplus.decide`), send the changed limits as SetChargingProfile through the CSMS
command bus (the site cap per charger, each connector's baseline TxDefaultProfile so the chargers
together fit the cap with the loop dead, an idle connector's lift to the minimum while a new car would
start, each transaction's TxProfile, the last two bounded in time and renewed), and store the cycle
(`surplus_decisions`) for the operator: every cycle that sent something or whose data went stale or fresh
again, and a quiet cycle at most once a minute.

Prices for Eco-plus come from the site's tariff cache (`site_surplus.tariff_prices`, filled by the worker's
`pollers.tariffs` or an uploaded CSV): the cycle never calls out. Without prices in force, Eco-plus plans
like PV-priority and the stored reason says so (`snapshot.site_prices`).

One owner per site at a time: a worker leases the site's `site_surplus` row with a conditional UPDATE (like
the PV poll job's lease) for three intervals and renews it every cycle, one statement per batch of sites
(`lease.claim_many`); a worker that dies leaves a lease that runs out, and another worker takes the site
over. The controller's memory and what each charger last answered live in the owning process and are
saved when a successor would need them (`domain.surplus.saved.save_due`: a send, a material change, else
once a minute; `actuation.memory`); the worker that takes a site over restores them and continues where
the last owner stopped (phase lockout, timers, draw caps, no re-send of unchanged profiles). Before a
cycle sends anything it saves the memory without the slots it is about to send, so an owner killed
mid-send leaves those slots unknown and its successor sends them again rather than trusting a stale
record. A worker (`Runner`) writes the memories of a batch of sites as one statement
(`writer.MemoryWriter`): the batch's write-aheads before any of it sends, its other saves with the next
batch's write-aheads.

Runs embedded as a lifespan task of the web app (`runtime.jobs.surplus_loop`), or in every `pipelet
worker` with REDIS_URL set; the leases split the sites between the workers.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import col, select

from pipelet_app.actuation import memory as saved_memory
from pipelet_app.actuation.lease import LEASE_INTERVALS, claim_many
from pipelet_app.actuation.rate_units import learn_units, version_of
from pipelet_app.actuation.site_loop import SiteLoop
from pipelet_app.actuation.slots import (
    Slot,
    base_held,
    base_plan,
    cap_plan,
    connector_shares,
    lift_plan,
    plan_lifts,
    renewals,
    tx_plan,
    tx_validity,
    with_offers,
)
from pipelet_app.actuation.slots import to_send as _to_send  # looked up here, so tests can swap it
from pipelet_app.actuation.snapshot import SiteView, Target, load_site, load_sites
from pipelet_app.actuation.writer import MemoryWriter
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import SiteSurplus, SurplusDecision
from pipelet_app.domain.surplus import ChargerDecision, ControllerMemory, Mode, decide
from pipelet_app.domain.surplus.actuation import (
    Sent,
    attempts_for,
    base_level,
    needs_sending,
    outcome,
    safe_limit_a,
)
from pipelet_app.domain.surplus.saved import LoopMemory, decode, lockouts_only, restore, save_due
from pipelet_app.ocpp.commands import send_command
from pipelet_app.ocpp.errors import ChargerOffline, CommandCallError, CommandError, CommandTimeout
from pipelet_app.ocpp.smart_charging import MAX_PURPOSE, lift_profile_id, profile_id
from pipelet_app.settings import get_settings

log = logging.getLogger("pipelet.surplus")

KEEP_DECISIONS = timedelta(days=7)
#: a quiet cycle (nothing sent, same data state) is stored at most this often: at 10 s and 10,000 sites
#: every cycle would be 86 M rows a day
STORE_QUIET_EVERY = timedelta(minutes=1)
SEND_TIMEOUT_S = 10.0
SILENT_RETRY_S = 60.0  # a charger that let a profile time out is tried again after this long
#: `Runner.tick` runs its due sites in batches of this many (read and decide each, write their memories
#: in one statement, then send): one statement per batch instead of one per site (benchmarks/loop_memory),
#: while a site's reading is at most one batch's reads and decisions old when its profile is sent
BATCH_SITES = 100


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def enabled_sites() -> list[tuple[int, int]]:
    """(site id, interval s) of the sites whose controller is on."""
    with session_scope() as db:
        rows = db.exec(
            select(SiteSurplus.site_id, SiteSurplus.interval_s).where(col(SiteSurplus.enabled).is_(True))
        ).all()
        return [(int(s), int(i)) for s, i in rows]


async def _send(
    state: SiteLoop,
    now: datetime,
    target: Target,
    kind: str,
    connector_id: int,
    value: float,
    unit: str,
    transaction_id: str | None,
    phases: int | None = None,
    duration_s: int | None = None,
    base: int = 0,
    first: int = 0,
) -> str:
    """Send one limit (with `numberPhases` when `phases` is set), falling back through the purposes of
    `kind` from try `first` on; the operator-facing outcome. `duration_s` bounds a transaction's limit,
    its TxProfile and its fallback alike (a TxDefaultProfile under the lift's id one level above the
    baseline on level `base`, `tx_attempts`), and a lift; never a baseline: a lapsed baseline would
    leave the connector the whole site cap.

    A charger that lets a profile time out (connected, but no answer within `SEND_TIMEOUT_S`) gets nothing
    more for `SILENT_RETRY_S`: each send would wait the whole timeout again, every cycle, and hold up the
    site's other chargers and the sites after it. Its slots stay unrecorded, so they go out once it is
    tried again."""
    cp = target.charge_point_id
    until = state.silent_until.get(cp)
    if until is not None and now < until:
        return (
            f"skipped: charger silent (no answer in {SEND_TIMEOUT_S:g} s; tried again {until:%H:%M:%S} UTC)"
        )
    state.silent_until.pop(cp, None)
    last = "Rejected"
    for attempt, (purpose, level) in enumerate(attempts_for(kind, base)):
        if attempt < first:
            continue
        request: dict[str, Any] = {
            "connectorId": connector_id,
            "limit": value,
            "unit": unit,
            "purpose": purpose,
            "stackLevel": level,
        }
        if purpose == "TxProfile":
            request["transactionId"] = transaction_id
        # a lift, and a transaction's fallback, go under the lift's id: the baseline stays under them
        if kind == "lift" or (kind == "tx" and purpose == "TxDefaultProfile"):
            request["layer"] = "lift"
        if duration_s and kind in ("tx", "lift"):  # never the baseline (its id): see above
            request["duration"] = duration_s
        if phases is not None:
            request["numberPhases"] = phases
        try:
            answer = await send_command(target.charge_point_id, "set-charging-limit", request, SEND_TIMEOUT_S)
        except ChargerOffline:
            return "offline"
        except CommandTimeout:
            state.silent_until[cp] = now + timedelta(seconds=SILENT_RETRY_S)
            return "timeout"
        except CommandCallError as exc:
            last = f"CallError:{exc.code}"
            continue
        except CommandError as exc:
            return f"error:{type(exc).__name__}"
        status = str(answer.get("status", ""))
        if status == "Accepted":
            return outcome(kind, attempt, status, base)
        last = status or "Rejected"
    return last


async def _baseline(view: SiteView, state: SiteLoop, now: datetime) -> dict[str, tuple[float, str]]:
    """Each connector's baseline TxDefaultProfile, sent when it changed (the site's connectors, cap or
    mode) or the charger lost it (a reboot, a fallback that borrowed it); per connector its share and
    what happened: the send's outcome, `unchanged (...)`, `held: ...` or `skipped: charger offline`."""
    out: dict[str, tuple[float, str]] = {}
    shares = connector_shares(view)
    for key, share in shares.items():
        target, value, slot = base_plan(view, shares, key)
        last = state.sent.get(slot)
        if not target.online:
            status = "skipped: charger offline"
        elif base_held(state, target):
            status = "held: the transaction's limit is the TxDefaultProfile"
        elif needs_sending(last, value, target.unit, None):
            status = await _send(state, now, target, "base", target.connector_id, value, target.unit, None)
            if status == "Accepted" or status.startswith(("fallback:", "Rejected", "CallError")):
                state.sent[slot] = Sent(value, target.unit, None, status)
        else:
            status = f"unchanged ({last.status})"  # type: ignore[union-attr]
        out[key] = (share, status)
    return out


async def _lift(
    view: SiteView, state: SiteLoop, lifts: dict[str, float], now: datetime
) -> dict[str, tuple[float, str]]:
    """Each idle connector's lift (`lift_plan`), sent when due: per lifted connector, or one whose lift
    was sent or dropped this cycle, its limit and what happened (the send's outcome or `unchanged (...)`)."""
    out: dict[str, tuple[float, str]] = {}
    shares = connector_shares(view)
    validity = tx_validity(view)[0]
    for key in shares:
        target, value, slot, due = lift_plan(view, state, shares, lifts, key, now)
        limit = lifts.get(key, shares[key])
        base = state.sent.get((target.charge_point_id, target.connector_id, "base"))
        if due and base_level(base.status if base else None) == 1:
            # the baseline went on level 1 this cycle (planned before its answer): the lift would replace
            # it (1.6: same level and purpose) and, lapsed, leave the connector no default at all
            due = False
        if due:
            status = await _send(
                state,
                now,
                target,
                "lift",
                target.connector_id,
                value,
                target.unit,
                None,
                None,
                validity or None,
            )
            if status == "Accepted" or status.startswith(("Rejected", "CallError")):
                state.sent[slot] = Sent(value, target.unit, None, status, None, now)
            out[key] = (limit, status)
        elif key in lifts and slot in state.sent:
            out[key] = (limit, f"unchanged ({state.sent[slot].status})")
    return out


async def _clear(target: Target, number: int) -> None:
    """ClearChargingProfile by id; a failure only logs (the profile is bounded: it lapses by itself)."""
    version = await asyncio.to_thread(version_of, target.charge_point_id)
    payload = {"id": number} if version == "1.6" else {"chargingProfileId": number}
    try:
        await send_command(target.charge_point_id, "clear-charging-profile", payload, SEND_TIMEOUT_S)
    except CommandError as exc:
        log.info("clearing profile %s on %s failed: %s", number, target.charge_point_id, type(exc).__name__)


async def _end_fallbacks(view: SiteView, state: SiteLoop) -> None:
    """Clear the fallback of a transaction that ended (a charger that rejects TxProfiles got its limit as
    a TxDefaultProfile above the baseline, under the lift's id, `tx_attempts`): it would lead a new
    transaction until it lapses, so the next car would start at the last session's limit. Cleared, the
    baseline leads again; the lift, forgotten when the fallback took its id, goes out again this cycle
    where it is wanted. A connector where a new transaction already runs gets that one's limit instead."""
    for target in view.targets.values():
        slot = (target.charge_point_id, target.connector_id, "tx/idle")
        last = state.sent.get(slot)
        if (
            last is None
            or not last.status.startswith("fallback:")
            or target.transaction_id is not None
            or not target.online
            or (target.charge_point_id, target.connector_id, "base") not in state.sent  # the old kind
        ):
            continue
        del state.sent[slot]
        await _clear(target, lift_profile_id(target.connector_id))


async def _actuate(
    view: SiteView,
    state: SiteLoop,
    decisions: list[ChargerDecision],
    base: dict[str, tuple[float, str]],
    now: datetime,
    lift: dict[str, tuple[float, str]] | None = None,
    renew: set[Slot] | None = None,
) -> list[dict[str, Any]]:
    """A TxProfile for each transaction's decision; an idle connector's row shows its baseline (and its
    lift, `lift`, when it has one or it changed)."""
    lift = lift or {}
    renew = renewals(view, state, decisions, now) if renew is None else renew
    out: list[dict[str, Any]] = []
    validity = tx_validity(view)[0]
    for decision in decisions:
        target = view.targets[decision.charger_id]
        share, base_status = base[decision.charger_id]
        row = {
            "charger": decision.charger_id,
            "limit_a": decision.limit_a,
            "phases": decision.phases,
            "charging": decision.charging,
            "reason": decision.reason,
            "purpose": "TxProfile",
            "unit": target.unit,
            "sent": "unchanged",
        }
        if not target.transaction_id:  # idle: the baseline (or its lift) is what a new transaction starts at
            row.update(limit_a=share, purpose="TxDefaultProfile", sent=base_status)
            if decision.charger_id in lift:
                limit, lift_status = lift[decision.charger_id]
                row["lift"] = {"limit_a": limit, "sent": lift_status}
                if lift_status == "Accepted" or lift_status.startswith("unchanged (Accepted"):
                    row["limit_a"] = max(share, limit)
            out.append(row)
            continue
        if not base_status.startswith(("unchanged", "skipped", "held")):
            row["baseline"] = {"limit_a": share, "sent": base_status}
        target, value, phases, slot = tx_plan(view, decision)
        last = state.sent.get(slot)
        changed = needs_sending(last, value, target.unit, target.transaction_id, phases)
        if not target.online:
            row["sent"] = "skipped: charger offline"  # retried once it is back (nothing was recorded)
        elif changed or slot in renew:
            if not changed:  # the same limit again before its schedule runs out (`renewal_due`)
                row["renewal"] = True
            base_slot = (target.charge_point_id, target.connector_id, "base")
            base_sent = state.sent.get(base_slot)
            level = base_level(base_sent.status if base_sent else None)
            # a fallback's renewal goes straight to the fallback: the TxProfile was rejected already
            first = 1 if not changed and last is not None and last.status.startswith("fallback:") else 0
            status = await _send(
                state,
                now,
                target,
                "tx",
                target.connector_id,
                value,
                target.unit,
                target.transaction_id,
                phases,
                validity or None,
                level,
                first,
            )
            row["sent"] = status
            if status == "Accepted" or status.startswith(("fallback:", "Rejected", "CallError")):
                state.sent[slot] = Sent(value, target.unit, target.transaction_id, status, phases, now)
            if status.startswith("fallback:"):
                row["purpose"] = status.split(":", 1)[1].split("@")[0]
                # the limit went under the lift's id (replacing a lift the car started on), above the
                # baseline: cleared when the transaction ends (`_end_fallbacks`), else it lapses
                state.sent.pop((target.charge_point_id, target.connector_id, "lift"), None)
        else:
            row["sent"] = f"unchanged ({state.sent[slot].status})"
        out.append(row)
    return out


async def _site_cap(view: SiteView, state: SiteLoop, now: datetime) -> list[dict[str, Any]]:
    """The site's grid limit as each charger's ChargePointMaxProfile: the cap holds even if the loop dies."""
    out = []
    for charge_point_id in view.charge_points:
        target, value, slot = cap_plan(view, charge_point_id)
        if not target.online or not needs_sending(state.sent.get(slot), value, target.unit, None):
            continue
        status = await _send(state, now, target, "max", 0, value, target.unit, None)
        if status not in ("offline", "timeout") and not status.startswith("skipped"):
            state.sent[slot] = Sent(value, target.unit, None, status)
        # the row names the purpose the charger got: 2.0.1 has no ChargePointMaxProfile (the version as the
        # cycle read it: a statement per charger here took 4.5 ms a site, benchmarks/surplus_loop)
        version = target.ocpp_version
        out.append(
            {
                "charger": f"{charge_point_id}/0",
                "limit_a": view.config.grid_limit_a,
                "phases": view.config.phases,
                "charging": False,
                "reason": "site cap (grid connection limit)",
                "purpose": MAX_PURPOSE.get(version, "ChargePointMaxProfile"),
                "unit": target.unit,
                "sent": status,
            }
        )
    return out


def _stale_decisions(view: SiteView, memory: ControllerMemory | None = None) -> list[ChargerDecision]:
    """The safe limit per mode for every charger, within the site cap: each car's minimum counts on the
    phases it loads, and a car whose minimum would take a phase above the grid limit pauses (higher
    priority first, then by charger). Without it ten PV-priority cars kept 6 A each on a 32 A site.

    A charger that can switch phases stays on the phases the controller last chose (`memory`): stale
    data is no reason to move the contactors, and a switch back to 3 would break the lockout."""
    chosen = {cid: m.phases for cid, m in (memory.chargers.items() if memory else ()) if m.phases}
    chargers = tuple(
        replace(c, phases=chosen.get(c.charger_id, c.phases)) if c.can_switch_phases else c
        for c in view.snapshot.chargers
    )
    mode = view.config.mode
    since = view.newest_utc.isoformat() if view.newest_utc else "never"
    load = [0.0, 0.0, 0.0]  # amperes per grid phase taken by the cars kept at their safe limit
    limits: dict[str, float] = {}
    full: dict[str, int] = {}  # charger -> the grid phase (1-3) its minimum would take above the cap
    for charger in sorted(chargers, key=lambda c: (c.prefs.priority, c.charger_id)):
        car_mode = charger.prefs.mode or mode
        limit = safe_limit_a(Mode(car_mode), charger.min_a) if charger.connected else charger.min_a
        if charger.connected and limit > 0:
            phases = range(3) if charger.phases >= 3 else [min(max(charger.phase, 1), 3) - 1]
            over = [p for p in phases if load[p] + limit > view.config.grid_limit_a + 1e-9]
            if over:
                full[charger.charger_id] = over[0] + 1
                limit = 0.0
            for p in phases:
                load[p] += limit
        limits[charger.charger_id] = limit
    out = []
    for charger in chargers:
        car_mode = charger.prefs.mode or mode
        limit = limits[charger.charger_id]
        reason = f"stale site data (last grid measurement: {since}): safe limit for {car_mode}"
        if charger.charger_id in full:
            reason = f"{reason}; paused: site limit on L{full[charger.charger_id]} reached"
        out.append(
            ChargerDecision(
                charger_id=charger.charger_id,
                limit_a=limit,
                phases=charger.phases,
                limit_w=limit * charger.phases * view.config.voltage_v,
                charging=limit > 0 and charger.connected,
                changed=True,
                reason=reason,
            )
        )
    return out


def _decision(
    view: SiteView, now: datetime, available_w: float, reason: str, rows: list[dict]
) -> dict[str, Any]:
    """The cycle's `surplus_decisions` row."""
    return {
        "site_id": view.site_id,
        "time_utc": now,
        "mode": str(view.settings.mode),
        "stale": view.stale,
        "available_w": round(available_w, 1),
        "grid_w": None if view.stale else view.snapshot.grid_w,
        "pv_w": view.snapshot.pv_w,
        "reason": reason,
        "chargers": rows,
    }


def _persist_many(decisions: list[tuple[dict[str, Any], bool]]) -> None:
    """Store the cycles of a batch of sites (row, prune the site's rows older than `KEEP_DECISIONS`) in
    one transaction: ONE insert for all rows (a multi-row statement on PostgreSQL), one delete per prune
    cutoff. One transaction per site took 11 ms of a worker's time a row at 10,000 sites, 2 workers on
    PostgreSQL, 50 s of a 263 s cycle in which every site stored its row (benchmarks/surplus_loop)."""
    if not decisions:
        return
    prune: dict[datetime, list[int]] = {}
    for row, due in decisions:
        if due:
            prune.setdefault(row["time_utc"] - KEEP_DECISIONS, []).append(row["site_id"])
    with session_scope() as db:
        db.execute(insert(SurplusDecision), [row for row, _ in decisions])
        for cutoff, site_ids in prune.items():
            db.execute(
                delete(SurplusDecision).where(
                    col(SurplusDecision.site_id).in_(site_ids), col(SurplusDecision.time_utc) < cutoff
                )
            )


def _forget_rebooted(view: SiteView, state: SiteLoop) -> None:
    """A charger that booted since the last cycle may have lost every profile it carried (the site cap
    first): forget what was sent to it, so this cycle sends all its slots again."""
    for target in view.targets.values():
        charge_point_id, booted = target.charge_point_id, target.booted_utc
        if charge_point_id in state.boots:
            rebooted = state.boots[charge_point_id] != booted
        else:  # first sight since this owner took the site: booted after the memory it restored?
            rebooted = None not in (booted, state.restored_from) and booted > state.restored_from  # type: ignore[operator]
        if rebooted:
            forgotten = [slot for slot in state.sent if slot[0] == charge_point_id]
            for slot in forgotten:
                del state.sent[slot]
            if forgotten:
                log.info("%s booted again: its %d profiles are sent anew", charge_point_id, len(forgotten))
        state.boots[charge_point_id] = booted


def _load(site_id: int, now: datetime) -> SiteView | None:
    with session_scope() as db:
        return load_site(db, site_id, now)


def _load_many(site_ids: list[int], now: datetime) -> dict[int, SiteView | None]:
    """The views of a batch of sites, read together (`snapshot.load_sites`: one statement per table)."""
    with session_scope() as db:
        return load_sites(db, site_ids, now)


@dataclass
class Planned:
    """A cycle read and decided, not yet sent (`plan_cycle`); `sending`: the slots it will send."""

    site_id: int
    view: SiteView
    decisions: list[ChargerDecision]
    available_w: float
    reason: str
    sending: set[Slot]
    #: the idle connectors lifted this cycle and their lift (A), `plan_lifts`
    lifts: dict[str, float] = field(default_factory=dict)
    #: the TxProfiles sent again unchanged this cycle (`renewals`)
    renew: set[Slot] = field(default_factory=set)


async def plan_cycle(
    site_id: int, state: SiteLoop, now: datetime, views: dict[int, SiteView | None] | None = None
) -> Planned | None:
    """Read the site and decide (the caller holds its lease); None when the site is not enabled. `views`:
    the site's view already read with its batch's (`_load_many`), else it is read here."""
    view = (
        views[site_id]
        if views is not None and site_id in views
        else await asyncio.to_thread(_load, site_id, now)
    )
    if view is not None and await learn_units(view, now):
        view = await asyncio.to_thread(_load, site_id, now)
    if view is None:
        return None
    _forget_rebooted(view, state)
    lifts: dict[str, float] = {}
    if view.stale:
        decisions = _stale_decisions(view, state.memory)
        available = 0.0
        state.lifted, state.lift_low_since = False, None  # no proof of surplus: every lift drops
        reason = "stale: no grid measurement for 2 minutes; safe limit per mode"
        if view.frozen_grid_w is not None:
            reason = (
                f"stale: the grid meter has read {view.frozen_grid_w:.0f} W unchanged for 2 minutes while "
                "the site moved; safe limit per mode"
            )
        elif view.implausible_house_w is not None:
            reason = (
                f"stale: the readings give a house load of {view.implausible_house_w:.0f} W "
                "(PV + grid + battery - cars) for 2 minutes; safe limit per mode"
            )
    else:
        result = decide(with_offers(view, state, now), view.config, state.memory)
        state.memory = result.memory
        decisions = list(result.chargers)
        available = result.available_w
        reason = f"{available:.0f} W available for the cars"
        lifts = plan_lifts(view, state, decisions, available, now)
    if view.price_note:
        reason = f"{reason}; {view.price_note}"
    renew = renewals(view, state, decisions, now)
    sending = _to_send(view, state, decisions, now, lifts, renew)
    return Planned(site_id, view, decisions, available, reason, sending, lifts, renew)


async def finish_cycle(
    planned: Planned,
    state: SiteLoop,
    now: datetime,
    writer: MemoryWriter | None = None,
    stored: list[tuple[dict[str, Any], bool]] | None = None,
) -> dict[str, Any]:
    """Send what `planned` decided, save the memory (queued in `writer` when given) and store the cycle
    (its row added to `stored` when given, for the caller to write with its batch's: `_persist_many`).
    The write-ahead (`planned.sending`) must be written before this is called."""
    view = planned.view
    rows = await _site_cap(view, state, now)
    base = await _baseline(view, state, now)
    await _end_fallbacks(view, state)
    lift = await _lift(view, state, planned.lifts, now)
    rows += await _actuate(view, state, planned.decisions, base, now, lift, planned.renew)
    await _save(planned.site_id, state, now, writer=writer)
    state.last_cycle = now
    state.cycles += 1
    acted = any(not str(row["sent"]).startswith(("unchanged", "skipped")) for row in rows) or any(
        not status.startswith("unchanged") for _, status in lift.values()
    )
    quiet_due = state.last_stored is None or now - state.last_stored >= STORE_QUIET_EVERY
    if acted or quiet_due or state.last_stale != view.stale:
        row = _decision(view, now, planned.available_w, planned.reason, rows)
        if stored is not None:
            stored.append((row, state.cycles % 360 == 1))
        else:
            await asyncio.to_thread(_persist_many, [(row, state.cycles % 360 == 1)])
        state.last_stored = now
    state.last_stale = view.stale
    return {"site_id": planned.site_id, "stale": view.stale, "chargers": rows}


async def run_cycle(site_id: int, state: SiteLoop, now: datetime | None = None) -> dict[str, Any] | None:
    """One control cycle of one site (the caller holds its lease), its memory written site by site.
    None when the site is not enabled. `Runner.tick` runs the same steps for a batch of sites."""
    now = now or utcnow()
    planned = await plan_cycle(site_id, state, now)
    if planned is None:
        return None
    if planned.sending:  # write ahead: a successor of an owner killed mid-send sends these slots again
        await _save(site_id, state, now, unknown=planned.sending)
    return await finish_cycle(planned, state, now)


async def _save(
    site_id: int,
    state: SiteLoop,
    now: datetime,
    unknown: Collection[Slot] = (),
    force: bool = False,
    writer: MemoryWriter | None = None,
) -> None:
    """Save the loop's memory for a successor (leaving out `unknown` slots) when `save_due` says so: always
    before a send (`unknown` given) or when `force`d; a failure only logs (and the next cycle tries again).
    With `writer` the memory is queued, and written (and recorded as saved) when the writer flushes."""
    if state.owner is None:
        return
    sent = {slot: s for slot, s in state.sent.items() if slot not in unknown}
    loop = LoopMemory(state.memory, sent, state.lifted, state.lift_low_since)
    every = timedelta(seconds=get_settings().surplus_memory_save_s)
    if save_due(state.saved, state.saved_utc, loop, now, bool(unknown) or force, every) is None:
        return

    def written() -> None:
        state.saved, state.saved_utc = loop, now

    if writer is not None:
        writer.add(site_id, loop, now, written)
        return
    try:
        kept = await asyncio.to_thread(saved_memory.save, site_id, state.owner, loop, now)
    except asyncio.CancelledError:
        raise
    except Exception:  # the database was busy or gone: the loop goes on, a successor may start older
        log.exception("saving the surplus loop memory of site %s failed", site_id)
        return
    if kept:
        written()
    else:
        log.info(
            "surplus loop memory of site %s not saved: %s no longer holds the site", site_id, state.owner
        )


def take_over(site_id: int, owner: str, now: datetime) -> SiteLoop:
    """The loop state of a site this worker just leased: the last owner's saved memory, if usable
    (`take_over_many` for one site)."""
    return take_over_many([site_id], owner, now)[site_id]


def take_over_many(site_ids: Collection[int], owner: str, now: datetime) -> dict[int, SiteLoop]:
    """The loop state of each site this worker just leased, by site: each from the memory its last owner
    saved for it, if usable (`restore`), else blank.

    The memories are read in ONE statement (`memory.load_many`), not one per site: a worker that takes
    sites over (its first start, or another worker died and its leases ran out) takes a whole batch at
    once, and one query per site cost 9.6 s per 10,000 sites exactly when the sites are waiting for
    their new owner (benchmarks/surplus_loop)."""
    stored = saved_memory.load_many(site_ids)
    taken: dict[int, SiteLoop] = {}
    for site_id in site_ids:
        data = stored.get(site_id)
        restored = restore(data, now)
        if restored.how != "none":
            log.info(
                "surplus site %s taken over by %s: memory %s %s",
                site_id,
                owner,
                restored.how,
                restored.detail,
            )
        saved_utc = decode(data)[1] if restored.how == "restored" else None
        taken[site_id] = SiteLoop(
            memory=restored.loop.memory,
            sent=dict(restored.loop.sent),
            owner=owner,
            restored_from=saved_utc,
            lifted=restored.loop.lifted,
            lift_low_since=restored.loop.lift_low_since,
        )
    return taken


async def release(site_id: int, state: SiteLoop, now: datetime | None = None) -> int:
    """The controller was turned off: clear the profiles this loop set, so no car stays paused or capped.

    Every purpose a slot may have used (fallbacks included) is cleared by its stable id, once (a
    connector's lift and its transaction's fallback share one); a charger that never had one answers
    Unknown. Returns the profiles the chargers reported cleared.
    """
    ids: dict[tuple[str, int], None] = {}  # (charge point, profile id), each cleared once
    for (charge_point_id, connector_id, kind), sent in sorted(state.sent.items()):
        if kind == "lift" or (kind == "tx/idle" and sent.status.startswith("fallback:")):  # the lift's id
            ids[(charge_point_id, lift_profile_id(connector_id))] = None
        if kind == "lift":
            continue
        purposes = {"max": ("ChargePointMaxProfile",), "base": ("TxDefaultProfile",)}.get(
            kind,
            # a tx slot's fallback, as sent before fallbacks went above the baseline: its TxDefaultProfile
            ("TxProfile", "TxDefaultProfile"),
        )
        ids.update(dict.fromkeys((charge_point_id, profile_id(p, connector_id)) for p in purposes))
    cleared = 0
    for charge_point_id, number in ids:
        version = await asyncio.to_thread(version_of, charge_point_id)
        payload = {"id": number} if version == "1.6" else {"chargingProfileId": number}
        try:
            answer = await send_command(charge_point_id, "clear-charging-profile", payload, SEND_TIMEOUT_S)
        except CommandError as exc:
            log.warning("clearing profile %s on %s failed: %s", number, charge_point_id, type(exc).__name__)
            continue
        cleared += answer.get("status") == "Accepted"
    state.sent.clear()
    state.lifted, state.lift_low_since = False, None
    # the next owner (the controller turned on again) must send every slot again; the lockout stays
    state.memory = lockouts_only(state.memory)
    await _save(site_id, state, now or utcnow(), force=True)
    return cleared


class Runner:
    """Runs the due cycles of every enabled site this process can lease."""

    def __init__(self, owner: str | None = None, max_sites: int | None = None) -> None:
        self.owner = owner or default_owner()
        self.max_sites = max_sites if max_sites is not None else get_settings().surplus_max_sites
        self.sites: dict[int, SiteLoop] = {}
        self.writer = MemoryWriter(self.owner)

    async def tick(self, now: datetime | None = None) -> int:
        """Run every site whose interval has passed and whose lease this runner holds; returns cycles run.

        The due sites run in batches of `BATCH_SITES`: each batch is read and decided site by site, then
        the batch's write-aheads (with the previous batch's post-cycle saves) go to the database as ONE
        statement (`MemoryWriter`), and only then does any site of the batch send; its post-cycle saves
        wait for the next flush (at the latest the end of the tick)."""
        now = now or utcnow()
        ran = 0
        sites = await asyncio.to_thread(enabled_sites)
        for site_id in set(self.sites) - {s for s, _ in sites}:  # turned off (or gone) while we owned it
            await release(site_id, self.sites.pop(site_id), now)
        due = []
        for site_id, interval in sites:
            state = self.sites.get(site_id)
            if state and state.last_cycle and (now - state.last_cycle).total_seconds() < interval - 0.5:
                continue
            due.append((site_id, interval))
        try:
            for start in range(0, len(due), BATCH_SITES):
                ran += await self._batch(due[start : start + BATCH_SITES], now)
        finally:
            await self.writer.flush()
        return ran

    async def _lease(self, sites: list[tuple[int, int]], now: datetime) -> list[int]:
        """The sites of a batch this runner holds now, in batch order: the batch's sites leased in ONE
        statement (`lease.claim_many`), new ones only as many as `max_sites` leaves room for. A site not
        leased is dropped from `sites` (another owner: our memory would be stale when we get it back);
        the room it or a new site another worker holds leaves goes to the batch's next new sites (one
        more statement each time)."""
        held = [(site_id, interval * LEASE_INTERVALS) for site_id, interval in sites if site_id in self.sites]
        new = [
            (site_id, interval * LEASE_INTERVALS) for site_id, interval in sites if site_id not in self.sites
        ]
        room = max(self.max_sites - len(self.sites), 0)
        wanted, new = held + new[:room], new[room:]
        leased = await asyncio.to_thread(claim_many, wanted, self.owner, now) if wanted else set()
        for site_id, _ in held:
            if site_id not in leased:
                self.sites.pop(site_id, None)
        room = self.max_sites - len(self.sites) - len(leased - self.sites.keys())
        while new and room > 0:  # full otherwise: another worker takes the rest
            wanted, new = new[:room], new[room:]
            got = await asyncio.to_thread(claim_many, wanted, self.owner, now)
            leased |= got
            room -= len(got)
        return [site_id for site_id, _ in sites if site_id in leased]

    async def _batch(self, sites: list[tuple[int, int]], now: datetime) -> int:
        """Run one batch of due sites: lease them (`_lease`), read them together (`_load_many`), restore the
        newly leased ones' memories together (`take_over_many`), decide each leased one, write their
        write-aheads in one statement, then send, and store the batch's cycles in one insert
        (`_persist_many`)."""
        planned: list[tuple[Planned, SiteLoop]] = []
        ran = 0
        leased = await self._lease(sites, now)
        try:
            views = await asyncio.to_thread(_load_many, leased, now) if leased else {}
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("reading the surplus sites %s..%s failed", leased[0], leased[-1])
            return 0
        new = [site_id for site_id in leased if site_id not in self.sites]
        if new:  # ours now: continue from what the last owners saved, read for the batch's new sites at once
            try:
                self.sites.update(await asyncio.to_thread(take_over_many, new, self.owner, now))
            except asyncio.CancelledError:
                raise
            except Exception:  # the database was busy or gone: these sites are taken over next tick
                log.exception("taking over the surplus sites %s..%s failed", new[0], new[-1])
        for site_id in leased:
            state = self.sites.get(site_id)
            if state is None:  # its takeover failed just now
                continue
            try:
                cycle = await plan_cycle(site_id, state, now, views)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("surplus cycle of site %s failed", site_id)
                continue
            if cycle is None:
                ran += 1  # not enabled any more: nothing to send (released next tick)
            else:
                planned.append((cycle, state))
        for cycle, state in planned:
            if cycle.sending:  # write ahead: a successor of an owner killed mid-send sends these again
                await _save(cycle.site_id, state, now, unknown=cycle.sending, writer=self.writer)
        await self.writer.flush()  # before anything of this batch is sent
        # the sites send side by side: one whose charger is slow to answer holds up no other site
        stored: list[tuple[dict[str, Any], bool]] = []
        finished = await asyncio.gather(
            *(self._finish(cycle, state, now, stored) for cycle, state in planned)
        )
        try:  # the batch's cycles as one insert
            await asyncio.to_thread(_persist_many, stored)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database was busy or gone: the operator misses these rows, the loop goes on
            log.exception("storing the surplus cycles of %d sites failed", len(stored))
        return ran + sum(finished)

    async def _finish(
        self, cycle: Planned, state: SiteLoop, now: datetime, stored: list[tuple[dict[str, Any], bool]]
    ) -> bool:
        try:
            await finish_cycle(cycle, state, now, self.writer, stored)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("surplus cycle of site %s failed", cycle.site_id)
            return False
        return True

    async def run_forever(self, tick_s: float = 2.0) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database was busy or gone: next tick (traceback logged)
                log.exception("surplus loop tick failed")
            await asyncio.sleep(tick_s)
