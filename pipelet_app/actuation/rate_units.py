"""What the surplus loop must know of a charger before its first profile and asks for itself: the rate
unit it takes (A or W) and, for a charger marked `switch_phases`, whether it can switch from 3 to 1
phase. Asked in one request (1.6 GetConfiguration / 2.0.1 GetVariables); the CSMS stores the answer in
the charger's configuration / device model, where the next site read finds it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlmodel import select

from pipelet_app.actuation.snapshot import SiteView
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger
from pipelet_app.ocpp.commands import send_command
from pipelet_app.ocpp.errors import CommandError

log = logging.getLogger("pipelet.surplus")

#: a charger that never told its rate unit (or, marked switch_phases, whether it can switch from 3 to 1
#: phase) is asked (GetConfiguration / GetVariables, both in one request) before its first profile; it
#: has this long to answer, and is asked again by this process at most once an hour
UNIT_ASK_TIMEOUT_S = 3.0
UNIT_ASK_AGAIN = timedelta(hours=1)
RATE_UNIT_16 = "ChargingScheduleAllowedChargingRateUnit"
RATE_UNIT_201 = {"component": {"name": "SmartChargingCtrlr"}, "variable": {"name": "RateUnit"}}
PHASES_16 = "ConnectorSwitch3to1PhaseSupported"
PHASES_201 = {"component": {"name": "SmartChargingCtrlr"}, "variable": {"name": "Phases3to1"}}
_units_asked: dict[str, datetime] = {}  # charge point id -> when this process last asked


def version_of(charge_point_id: str) -> str:
    with session_scope() as db:
        version = db.exec(
            select(Charger.ocpp_version).where(Charger.charge_point_id == charge_point_id)
        ).first()
        return version or "1.6"


async def _ask_rate_unit(charge_point_id: str, unit: bool = True, phases: bool = False) -> bool:
    """Ask a charger which rate units it takes (`unit`) and whether it can switch from 3 to 1 phase
    (`phases`), in one request; the CSMS stores what it answered in its configuration / device model
    (`after_command`), where the next `load_site` reads it. A key it does not know stays unknown. False
    when it did not answer."""
    version = await asyncio.to_thread(version_of, charge_point_id)
    if version == "1.6":
        keys = [k for k, wanted in ((RATE_UNIT_16, unit), (PHASES_16, phases)) if wanted]
        action, payload = "GetConfiguration", {"key": keys}
    else:
        data = [v for v, wanted in ((RATE_UNIT_201, unit), (PHASES_201, phases)) if wanted]
        action, payload = "GetVariables", {"getVariableData": data}
    try:
        await send_command(charge_point_id, action, payload, UNIT_ASK_TIMEOUT_S)
    except CommandError as exc:
        log.info("%s did not say %s (%s)", charge_point_id, payload, type(exc).__name__)
        return False
    return True


async def learn_units(view: SiteView, now: datetime) -> bool:
    """Ask the online chargers whose rate unit is unknown, or that are marked switch_phases and never said
    whether they can switch from 3 to 1 phase (once an hour per process); True when one answered, so the
    cycle reads the site again before sending. Without it a charger that takes only W got A profiles
    until an operator ran get-configuration by hand, and one that cannot switch got numberPhases 1."""
    asks: dict[str, tuple[bool, bool]] = {}  # charge point id -> (ask the unit, ask the phases)
    for t in view.targets.values():
        if t.online and (not t.unit_known or t.phases_unknown):
            unit, phases = asks.get(t.charge_point_id, (False, False))
            asks[t.charge_point_id] = (unit or not t.unit_known, phases or t.phases_unknown)
    due = sorted(cp for cp in asks if cp not in _units_asked or now - _units_asked[cp] >= UNIT_ASK_AGAIN)
    for charge_point_id in due:
        _units_asked[charge_point_id] = now
    if not due:
        return False
    return any(await asyncio.gather(*(_ask_rate_unit(cp, *asks[cp]) for cp in due)))
