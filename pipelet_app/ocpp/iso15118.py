"""ISO 15118 smart charging through OCPP 2.0.1 (use cases K15 to K17; OCTT TC_K_53/55/57/58/59).

A car that talks ISO 15118 tells the station its needs (NotifyEVChargingNeeds); the CSMS answers what
is true and offers a schedule as a TxProfile; the car picks its own schedule within it and the station
reports that (NotifyEVChargingSchedule), which the CSMS checks against what it offered, stores, and
answers Accepted or Rejected. After a Rejected the CSMS renegotiates (K15.FR.13): it offers again.

Who builds the offer:
- Where the site's PV-surplus controller steers the EVSE (`surplus_link.surplus_steers`), the controller
  plans with these needs (departure, energy, the car's limits). When its newest cycle already decided
  a limit for this EVSE (`surplus_limit`), that is offered at once (`Accepted`); otherwise its next
  cycle sends the TxProfile (`Processing`, K15.FR.05). Each later limit it sends is a CSMS-initiated
  renegotiation (K16).
- Elsewhere the CSMS offers at once (`Accepted`): the levelled schedule of `domain.ev_schedule`, bounded
  by the car, the EVSE's rated power and the site's grid connection.
- No offer is possible (no open transaction for the TxProfile, or the limits stay below the car's
  minimum): `Rejected`, and nothing is sent.

The offer a car's schedule is judged against is the newest TxProfile the station accepted for that EVSE
and did not clear (`ocpp_charging_profiles`), whoever sent it: this module, the surplus loop, or an
operator (K16, TC_K_58).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from pipelet_app.db.models import (
    Charger,
    ChargingProfileRecord,
    Connector,
    EvChargingNeeds,
    EvChargingSchedule,
    Site,
    SurplusDecision,
)
from pipelet_app.domain.ev_schedule import EvNeeds, Offer, Period, plan_offer, within_offer
from pipelet_app.ocpp import transactions
from pipelet_app.ocpp.smart_charging import profile_id
from pipelet_app.ocpp.surplus_link import surplus_steers
from pipelet_app.ocpp.timefmt import format_utc, parse_utc
from pipelet_app.settings import get_settings

DECISION_FRESH = timedelta(minutes=2)  # older than the loop's stale limit: the controller is not running


@dataclass(frozen=True)
class Answer:
    """The NotifyEVChargingNeeds answer and, when Accepted, the SetChargingProfile to send after it."""

    status: str
    reason: str
    request: dict[str, Any] | None = None


def needs_of(row: EvChargingNeeds, now: datetime) -> EvNeeds:
    departure = None
    if row.departure_time is not None:
        departure = (row.departure_time - now).total_seconds()
    return EvNeeds(
        transfer=row.requested_energy_transfer or "AC_three_phase",
        energy_wh=row.energy_amount_wh,
        min_current_a=row.ev_min_current_a,
        max_current_a=row.ev_max_current_a,
        max_voltage_v=row.ev_max_voltage_v,
        max_power_w=row.ev_max_power_w,
        departure_in_s=departure,
        max_tuples=row.max_schedule_tuples,
    )


def offer_for(db: Session, charger_id: int, evse_id: int, needs: EvNeeds) -> Offer:
    """The schedule this EVSE can offer for `needs` now (EVSE rated power, the site's grid limit)."""
    evse_max_w = db.exec(
        select(Connector.max_power_w).where(
            Connector.charger_id == charger_id, Connector.connector_id == evse_id
        )
    ).first()
    site_max_a = db.exec(
        select(Site.grid_limit_a)
        .join(Charger, col(Charger.site_id) == col(Site.id))
        .where(Charger.id == charger_id)
    ).first()
    return plan_offer(needs, evse_max_w, site_max_a)


def profile_request(
    offer: Offer, evse_id: int, transaction_id: str, now: datetime, duration_s: int | None = None
) -> dict[str, Any]:
    """The 2.0.1 SetChargingProfile for an offer: the EVSE's TxProfile slot (same id as the surplus
    loop's, so a new offer replaces the last one), Absolute from now; `duration_s` bounds it (the
    surplus controller's limit, like the loop's own TxProfiles: a dead loop's lapses to the baseline)."""
    periods = []
    for period in offer.periods:
        item: dict[str, Any] = {"startPeriod": period.start_s, "limit": period.limit}
        if period.phases is not None:
            item["numberPhases"] = period.phases
        periods.append(item)
    schedule: dict[str, Any] = {
        "id": 1,
        "startSchedule": format_utc(now),
        "chargingRateUnit": offer.unit,
        "chargingSchedulePeriod": periods,
    }
    if duration_s:
        schedule["duration"] = duration_s
    return {
        "evseId": evse_id,
        "chargingProfile": {
            "id": profile_id("TxProfile", evse_id),
            "stackLevel": 0,
            "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Absolute",
            "transactionId": transaction_id,
            "chargingSchedule": [schedule],
        },
    }


def surplus_limit(
    db: Session, charger_id: int, charge_point_id: str, evse_id: int, now: datetime
) -> tuple[float, int] | None:
    """The per-phase limit and phases the site's surplus controller decided for this EVSE in its newest
    cycle (at most `DECISION_FRESH` old), or None. A steered car asking again (K17) gets that at once;
    the controller's next limits are CSMS-initiated renegotiations (K16)."""
    site_id = db.exec(select(Charger.site_id).where(Charger.id == charger_id)).first()
    if site_id is None:
        return None
    decision = db.exec(
        select(SurplusDecision)
        .where(SurplusDecision.site_id == site_id, SurplusDecision.time_utc >= now - DECISION_FRESH)
        .order_by(col(SurplusDecision.time_utc).desc())
    ).first()
    key = f"{charge_point_id}/{evse_id}"
    for row in decision.chargers if decision is not None else []:
        if row.get("charger") == key and row.get("limit_a") is not None:
            return float(row["limit_a"]), int(row.get("phases") or 3)
    return None


def _station_tx_id(session_key: str) -> str:
    """`ocpp201:{cp}:{tx}` -> the station's own transaction id."""
    parts = session_key.split(":", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "ocpp201" else session_key


def answer_needs(
    db: Session, charger_id: int, charge_point_id: str, row: EvChargingNeeds, now: datetime
) -> Answer:
    """What to answer a NotifyEVChargingNeeds just stored as `row` (module docstring)."""
    steered = surplus_steers(db, charge_point_id, row.evse_id)
    session = transactions.open_session_on(db, charger_id, row.evse_id)
    if steered:
        decided = surplus_limit(db, charger_id, charge_point_id, row.evse_id, now)
        if session is None or decided is None:
            return Answer("Processing", "the site's surplus controller plans with these needs")
        limit_a, phases = decided
        cap = row.ev_max_current_a if row.ev_max_current_a is not None else limit_a
        offer = Offer(
            "A", (Period(0, round(min(limit_a, cap), 1), phases),), "the surplus controller's limit"
        )
        validity = int(get_settings().surplus_tx_validity_s) or None
        request = profile_request(offer, row.evse_id, _station_tx_id(session.transaction_id), now, validity)
        return Answer("Accepted", offer.reason, request)
    if session is None:
        return Answer("Rejected", "no open transaction on this EVSE for a TxProfile")
    offer = offer_for(db, charger_id, row.evse_id, needs_of(row, now))
    if not offer.possible:
        return Answer("Rejected", offer.reason)
    request = profile_request(offer, row.evse_id, _station_tx_id(session.transaction_id), now)
    return Answer("Accepted", offer.reason, request)


def renegotiation(db: Session, charger_id: int, charge_point_id: str, evse_id: int, now: datetime) -> Answer:
    """A new offer after the car's schedule was rejected (K15.FR.13), from the car's latest needs."""
    row = db.exec(
        select(EvChargingNeeds)
        .where(EvChargingNeeds.charger_id == charger_id, EvChargingNeeds.evse_id == evse_id)
        .order_by(col(EvChargingNeeds.id).desc())
    ).first()
    if row is None:
        return Answer("Rejected", "no charging needs known for this EVSE")
    return answer_needs(db, charger_id, charge_point_id, row, now)


def _periods(schedule: dict[str, Any]) -> tuple[Period, ...]:
    return tuple(
        Period(int(p["startPeriod"]), float(p["limit"]), p.get("numberPhases"))
        for p in schedule.get("chargingSchedulePeriod", [])
    )


def current_offer(db: Session, charger_id: int, evse_id: int) -> dict[str, Any] | None:
    """The newest TxProfile the station accepted for this EVSE and still holds (its JSON), or None."""
    row = db.exec(
        select(ChargingProfileRecord)
        .where(
            ChargingProfileRecord.charger_id == charger_id,
            ChargingProfileRecord.evse_id == evse_id,
            ChargingProfileRecord.purpose == "TxProfile",
            ChargingProfileRecord.status == "Accepted",
            col(ChargingProfileRecord.cleared_at).is_(None),
        )
        .order_by(col(ChargingProfileRecord.id).desc())
    ).first()
    return None if row is None else json.loads(row.profile)


def judge_schedule(
    db: Session,
    charger_id: int,
    evse_id: int,
    time_base: str,
    schedule: dict[str, Any],
    default_phases: int = 3,
    offered: dict[str, Any] | None = None,
) -> tuple[str, str | None]:
    """Accepted when the car's schedule stays within the current offer; stored either way.

    `offered`: the TxProfile this connection saw accepted last (newer than the database may be yet)."""
    base = parse_utc(time_base, "timeBase")
    offer = offered or current_offer(db, charger_id, evse_id)
    if offer is None:
        reason: str | None = "no TxProfile offered to this EVSE"
    else:
        offered = offer["chargingSchedule"][0]
        start = parse_utc(offered.get("startSchedule") or time_base, "startSchedule")
        reason = within_offer(
            offered.get("chargingRateUnit", "A"),
            _periods(offered),
            schedule.get("chargingRateUnit", "A"),
            _periods(schedule),
            (base - start).total_seconds(),
            default_phases,
        )
    status = "Rejected" if reason else "Accepted"
    session = transactions.open_session_on(db, charger_id, evse_id)
    db.add(
        EvChargingSchedule(
            charger_id=charger_id,
            evse_id=evse_id,
            session_id=session.id if session else None,
            time_base=base,
            schedule=json.dumps(schedule, default=str),
            status=status,
            reason=reason,
        )
    )
    return status, reason


def phases_of(db: Session, charger_id: int, evse_id: int) -> int:
    """The car's phase count from its last needs (3 when unknown), for A <-> W comparisons."""
    transfer = db.exec(
        select(EvChargingNeeds.requested_energy_transfer)
        .where(EvChargingNeeds.charger_id == charger_id, EvChargingNeeds.evse_id == evse_id)
        .order_by(col(EvChargingNeeds.id).desc())
    ).first()
    return {"AC_single_phase": 1, "AC_two_phase": 2}.get(transfer or "", 3)
