"""Which profile goes to which slot this cycle, and whether it must be sent: the site cap per charger,
each connector's baseline `TxDefaultProfile` and its lift, each transaction's `TxProfile` and its
renewal. A slot is (charge point, connector, kind); what a charger last answered for it is in
`SiteLoop.sent`. No I/O here: the loop (`loop`) plans with these, saves its write-ahead, then sends
exactly the slots `to_send` named.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime

from pipelet_app.actuation.lease import LEASE_INTERVALS
from pipelet_app.actuation.site_loop import SiteLoop
from pipelet_app.actuation.snapshot import SiteView, Target
from pipelet_app.domain.surplus import ChargerDecision, SiteSnapshot
from pipelet_app.domain.surplus.actuation import (
    Sent,
    bounded,
    needs_sending,
    number_phases,
    profile_value,
    renewal_due,
)
from pipelet_app.domain.surplus.baseline import baseline_shares, hold_lift, lift_shares, newcomer_starts
from pipelet_app.domain.surplus.controller import house_currents
from pipelet_app.settings import get_settings

Slot = tuple[str, int, str]


def tx_plan(view: SiteView, decision: ChargerDecision) -> tuple[Target, float, int | None, Slot]:
    """Where a transaction's decision goes: target, the value and `numberPhases` its TxProfile carries,
    slot."""
    target = view.targets[decision.charger_id]
    value = profile_value(decision.limit_a, decision.phases, target.unit, view.config.voltage_v)
    phases = number_phases(target.switch_phases, decision.phases)
    # "tx/idle": the name saved memories know (idle connectors once had their own default here; the
    # baseline, slot "base", took that over)
    return target, value, phases, (target.charge_point_id, target.connector_id, "tx/idle")


def tx_validity(view: SiteView) -> tuple[int, float]:
    """How long a TxProfile of this site lasts (s, 0 = until its transaction ends) and the site's lease
    (s), which says when the live loop renews it (`renewal_due`)."""
    return int(get_settings().surplus_tx_validity_s), float(view.settings.interval_s * LEASE_INTERVALS)


def cap_plan(view: SiteView, charge_point_id: str) -> tuple[Target, float, Slot]:
    target = next(t for t in view.targets.values() if t.charge_point_id == charge_point_id)
    value = profile_value(view.config.grid_limit_a, view.config.phases, target.unit, view.config.voltage_v)
    return target, value, (charge_point_id, 0, "max")


def connector_shares(view: SiteView) -> dict[str, float]:
    """Each connector's baseline (`domain.surplus.baseline`): its share of the cap with the loop away."""
    minimum = {c.charger_id: c.min_a for c in view.snapshot.chargers if c.charger_id in view.targets}
    return baseline_shares(minimum, view.config.mode, view.config.grid_limit_a)


def base_plan(view: SiteView, shares: dict[str, float], key: str) -> tuple[Target, float, Slot]:
    """A connector's baseline TxDefaultProfile: target, value (no `numberPhases`: 3 assumed), slot."""
    target = view.targets[key]
    value = profile_value(shares[key], view.config.phases, target.unit, view.config.voltage_v)
    return target, value, (target.charge_point_id, target.connector_id, "base")


def base_held(state: SiteLoop, target: Target) -> bool:
    """True while the connector's baseline TxDefaultProfile itself carries its running transaction's
    limit: a fallback sent before fallbacks went above the baseline under the lift's id (restored from
    such a memory; it dropped the baseline's record). The baseline would overwrite that limit; it is sent
    again when the transaction ends."""
    last = state.sent.get((target.charge_point_id, target.connector_id, "tx/idle"))
    return (
        target.transaction_id is not None
        and last is not None
        and last.transaction_id == target.transaction_id
        and last.status.startswith("fallback:")
        and (target.charge_point_id, target.connector_id, "base") not in state.sent
    )


def plan_lifts(
    view: SiteView, state: SiteLoop, decisions: list[ChargerDecision], available_w: float, now: datetime
) -> dict[str, float]:
    """The idle connectors lifted this cycle (`domain.surplus.baseline`: while the controller would start
    a new car, with a hold before dropping), and the loop's lift state updated. Fresh data only: the
    stale path drops every lift."""
    voltage, phases = view.config.voltage_v, view.config.phases
    inputs = {c.charger_id: c for c in view.snapshot.chargers if c.charger_id in view.targets}
    idle = [key for key in inputs if not view.targets[key].transaction_id]
    if not idle:
        state.lifted, state.lift_low_since = False, None
        return {}
    cars = []
    for decision in decisions:
        charger = inputs.get(decision.charger_id)
        if charger is None or not charger.connected:
            continue
        wanted = charger.prefs.energy_wh
        if wanted is not None and wanted - charger.delivered_wh <= 0:
            continue  # full: it takes no share of the surplus
        memory = state.memory.chargers.get(decision.charger_id)
        cap = memory.draw_cap_a if memory else None
        max_a = charger.max_a if cap is None else min(charger.max_a, max(charger.min_a, cap))
        cars.append(
            (charger.min_a * decision.phases * voltage, max_a * decision.phases * voltage, decision.charging)
        )
    # a new car may be a three-phase one: the surplus must carry its minimum on the site's phases
    newcomer_w = min(inputs[key].min_a for key in idle) * phases * voltage
    starts = newcomer_starts(available_w, cars, newcomer_w)
    hold = get_settings().surplus_newcomer_hold_s
    state.lifted, state.lift_low_since = hold_lift(state.lifted, starts, state.lift_low_since, now, hold)
    if not state.lifted:
        return {}
    shares = connector_shares(view)
    running = {
        d.charger_id: d.limit_a for d in decisions if d.charger_id in inputs and d.charger_id not in idle
    }
    barred = [
        key
        for key in idle
        if (last := state.sent.get(base_plan(view, shares, key)[2])) is not None
        and last.status == "fallback:TxDefaultProfile@1"
    ]
    house = max(house_currents(view.snapshot, view.config))
    minimum = {key: inputs[key].min_a for key in inputs}
    return lift_shares(shares, idle, minimum, running, house, view.config.grid_limit_a, barred)


def lift_plan(
    view: SiteView,
    state: SiteLoop,
    shares: dict[str, float],
    lifts: dict[str, float],
    key: str,
    now: datetime,
) -> tuple[Target, float, Slot, bool]:
    """An idle connector's lift slot: target, the value it should carry (the lift, or the baseline's to
    drop one), slot and whether to send it: a new or changed lift, one due for renewal, or a lift still in
    force that is no longer wanted (sent again at the baseline's value; it lapses like any lift). A lift
    record whose schedule ran out is forgotten. Never for a connector in a transaction: a car that just
    started on its lift keeps it until the TxProfile takes over (it lapses by itself)."""
    target = view.targets[key]
    slot = (target.charge_point_id, target.connector_id, "lift")
    value = profile_value(lifts.get(key, shares[key]), view.config.phases, target.unit, view.config.voltage_v)
    validity, lease = tx_validity(view)
    last = state.sent.get(slot)
    lapsed = (
        last is not None and last.sent_utc is not None and (now - last.sent_utc).total_seconds() >= validity
    )
    if lapsed and validity > 0:
        del state.sent[slot]  # lapsed on the charger: the baseline leads again
        last = None
    if target.transaction_id or not target.online:
        return target, value, slot, False
    if key in lifts:
        due = needs_sending(last, value, target.unit, None) or renewal_due(last, now, validity, lease)
    else:
        due = last is not None and last.status == "Accepted" and needs_sending(last, value, target.unit, None)
    return target, value, slot, due


def lapse_value(view: SiteView, state: SiteLoop, shares: dict[str, float], key: str) -> float | None:
    """The value a connector's TxProfile lapses to, when it is sure: its baseline TxDefaultProfile as
    the charger accepted it and as this cycle leaves it (`renewal_due` renews no TxProfile at that value).
    None while the baseline is about to change or the charger does not carry it."""
    target, value, slot = base_plan(view, shares, key)
    last = state.sent.get(slot)
    if last is None or last.status not in ("Accepted", "fallback:TxDefaultProfile@1"):
        return None
    return None if needs_sending(last, value, target.unit, None) else value


def renewals(view: SiteView, state: SiteLoop, decisions: list[ChargerDecision], now: datetime) -> set[Slot]:
    """The transactions' TxProfiles to send again unchanged this cycle (`renewal_due`), decided once
    at planning so the write-ahead and the sends agree."""
    validity, lease = tx_validity(view)
    shares = connector_shares(view)
    out: set[Slot] = set()
    for decision in decisions:
        if not view.targets[decision.charger_id].transaction_id:
            continue
        target, value, phases, slot = tx_plan(view, decision)
        last = state.sent.get(slot)
        if needs_sending(last, value, target.unit, target.transaction_id, phases):
            continue  # a change, not a renewal
        if renewal_due(last, now, validity, lease, lapse_value(view, state, shares, decision.charger_id)):
            out.add(slot)
    return out


def to_send(
    view: SiteView,
    state: SiteLoop,
    decisions: list[ChargerDecision],
    now: datetime,
    lifts: dict[str, float],
    renew: Collection[Slot] = (),
) -> set[Slot]:
    """The slots this cycle will send a profile to (as `_site_cap`, `_baseline` and `_actuate` decide)."""
    out: set[Slot] = set()
    for charge_point_id in view.charge_points:
        target, value, slot = cap_plan(view, charge_point_id)
        if target.online and needs_sending(state.sent.get(slot), value, target.unit, None):
            out.add(slot)
    shares = connector_shares(view)
    for key in shares:
        target, value, slot = base_plan(view, shares, key)
        fresh = needs_sending(state.sent.get(slot), value, target.unit, None)
        if target.online and fresh and not base_held(state, target):
            out.add(slot)
        _, _, lift_slot, lift_due = lift_plan(view, state, shares, lifts, key, now)
        if lift_due:
            out.add(lift_slot)
    for decision in decisions:
        if not view.targets[decision.charger_id].transaction_id:
            continue
        target, value, phases, slot = tx_plan(view, decision)
        last = state.sent.get(slot)
        changed = needs_sending(last, value, target.unit, target.transaction_id, phases)
        if target.online and (changed or slot in renew):
            out.add(slot)
    return out


def with_offers(view: SiteView, state: SiteLoop, now: datetime) -> SiteSnapshot:
    """The view's snapshot with each car carrying the current its charger holds for it (`offered_a`,
    `offered_a_now`): the controller counts a car whose draw is not known yet as drawing that
    (`controller.unmeasured_draws`), and reads a register average across its start with it."""
    chargers = tuple(
        replace(charger, offered_a=offered_a_now(view, state, charger.charger_id, charger.phases, now))
        for charger in view.snapshot.chargers
    )
    return replace(view.snapshot, chargers=chargers)


def offered_a_now(view: SiteView, state: SiteLoop, key: str, phases: int, now: datetime) -> float | None:
    """The per-phase current connector `key`'s charger holds for its transaction now, as it last
    accepted it: the transaction's limit (its TxProfile, or the bounded fallback), else the connector's
    lift while it lasts (the car started on it), else its baseline; None when the transaction has no
    limit the loop knows of (nothing accepted, or no record: a fresh loop). `phases`: the car's, for a
    TxProfile in W without `numberPhases`."""
    target = view.targets.get(key)
    if target is None or not target.transaction_id:
        return None
    validity, _ = tx_validity(view)
    voltage = view.config.voltage_v

    def live(sent: Sent) -> bool:
        return validity <= 0 or sent.sent_utc is None or (now - sent.sent_utc).total_seconds() < validity

    def amps(sent: Sent, on: int) -> float:
        return sent.value if sent.unit != "W" else sent.value / (on * voltage)

    cp, connector = target.charge_point_id, target.connector_id
    tx = state.sent.get((cp, connector, "tx/idle"))
    if tx is not None and tx.transaction_id == target.transaction_id and bounded(tx.status) and live(tx):
        return amps(tx, tx.phases or phases)
    lift = state.sent.get((cp, connector, "lift"))
    if lift is not None and lift.status == "Accepted" and live(lift):
        return amps(lift, lift.phases or view.config.phases)
    base = state.sent.get((cp, connector, "base"))
    if base is not None and base.status in ("Accepted", "fallback:TxDefaultProfile@1"):
        return amps(base, view.config.phases)
    return None
