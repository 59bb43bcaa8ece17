"""The running cost on the charger's screen: the I/O around domain/pricing/display.py.

- 2.0.1: after an `Updated` TransactionEvent (at most once a minute per transaction and connection,
  with CostUpdated, v201.py), a `SetDisplayMessage` with the cost so far and the rate in force. A
  station that answers anything but Accepted (no display, `NotSupported`) is not asked again on that
  connection; an accepted message is stored like any other (display_messages, source `running-cost`).
- 1.6, only to chargers that declared support: the configuration key `CustomDisplayCostAndPrice` =
  true, as the OCA California Pricing whitepaper defines it, known from the charger's GetConfiguration
  answer: asked by the CSMS after the first accepted BootNotification (`ask_california`, v16.py) and
  stored like any command's answer. Then `SetUserPrice` after an accepted StartTransaction,
  `RunningCost` after MeterValues (at most once a minute per transaction and connection) and
  `FinalCost` after StopTransaction, all DataTransfer with vendorId `org.openchargealliance.costmsg`.
A charger without a pricing plan gets none of these. Every one is a display nicety: a failure is logged
and changes nothing else (the price itself is settled by the CSMS, transactions._settle).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, and_, col, or_, select

from pipelet_app.clock import utcnow
from pipelet_app.db.models import Charger, ChargingSession, DeviceVariable, MeterValue
from pipelet_app.domain.pricing import Plan, Rate, display
from pipelet_app.ocpp.device_model import V16_COMPONENT, store_configuration, upsert_variable
from pipelet_app.services import pricing

CALIFORNIA_KEY = "CustomDisplayCostAndPrice"
#: what the CSMS found out by asking (not the charger's own configuration), per firmware version
PROBE_COMPONENT = "CSMS.Probe"
INTERVAL_S = 60.0  # at most one running-cost message per transaction and connection per minute
REGISTER = "Energy.Active.Import.Register"


def california_enabled(db: Session, charger_id: int) -> bool:
    """Did this 1.6 charger report `CustomDisplayCostAndPrice` = true (GetConfiguration)?"""
    value = db.exec(
        select(DeviceVariable.value).where(
            DeviceVariable.charger_id == charger_id,
            DeviceVariable.component == V16_COMPONENT,
            DeviceVariable.variable == CALIFORNIA_KEY,
        )
    ).first()
    return str(value or "").strip().lower() == "true"


def california_asked(db: Session, charger_id: int, firmware: str) -> bool:
    """Did this charger declare the key (any value), or did this firmware already fail to answer for it?
    A charger recorded as not supporting it is asked again once its firmware changes."""
    declared = db.exec(
        select(DeviceVariable.id).where(
            DeviceVariable.charger_id == charger_id,
            DeviceVariable.variable == CALIFORNIA_KEY,
            or_(
                DeviceVariable.component == V16_COMPONENT,
                and_(
                    DeviceVariable.component == PROBE_COMPONENT,
                    DeviceVariable.variable_instance == firmware[:128],
                ),
            ),
        )
    ).first()
    return declared is not None


def record_california_answer(
    db: Session, charger_id: int, firmware: str, answer: dict | None, failure: str | None
) -> bool:
    """Store the charger's answer to GetConfiguration(CustomDisplayCostAndPrice); True when it declared
    the key. A declared key is stored as any configuration key is (its value decides, `california_enabled`);
    unknownKey, an answer without it, a CallError or no answer (`failure`) are recorded as not supported
    under `PROBE_COMPONENT`, for this firmware, with the reason."""
    keys = [k for k in (answer or {}).get("configurationKey") or [] if k.get("key") == CALIFORNIA_KEY]
    if keys:
        store_configuration(db, charger_id, keys[:1])
        return True
    if failure is None:
        unknown = CALIFORNIA_KEY in ((answer or {}).get("unknownKey") or [])
        failure = "unknownKey" if unknown else "not in the answer"
    upsert_variable(
        db,
        charger_id,
        component=PROBE_COMPONENT,
        variable=CALIFORNIA_KEY,
        variable_instance=firmware[:128],
        value=f"not supported: {failure}"[:200],
        mutability="ReadOnly",
    )
    return False


@dataclass(frozen=True)
class Snapshot:
    """A priced session now: its cost so far, the rate in force, the plan and multiplier."""

    cost: Decimal
    currency: str
    energy_wh: float
    meter_wh: float
    rate: Rate
    plan: Plan
    multiplier: Decimal

    @property
    def rate_text(self) -> str:
        return display.rate_text(self.rate, self.plan, self.multiplier, self.currency)


def snapshot(db: Session, charger: Charger, session: ChargingSession, now: datetime) -> Snapshot | None:
    tariff = pricing.charger_tariff(db, charger)
    if tariff is None:
        return None
    total = pricing.cost_of(db, charger, session).get("total")
    if total is None:
        return None
    last = db.exec(
        select(MeterValue.value)
        .where(MeterValue.session_id == session.id, MeterValue.measurand == REGISTER)
        .order_by(col(MeterValue.timestamp).desc())
    ).first()
    meter = float(last) if last is not None else float(session.meter_start_wh or 0)
    start = float(session.meter_start_wh) if session.meter_start_wh is not None else meter
    return Snapshot(
        cost=Decimal(total),
        currency=tariff.currency,
        energy_wh=max(meter - start, float(session.energy_wh or 0)),
        meter_wh=meter,
        rate=display.rate_at(tariff.schedule, now.timestamp()),
        plan=tariff.plan,
        multiplier=Decimal(charger.price_multiplier),
    )


def user_price_text(db: Session, charger: Charger) -> str | None:
    """The tariff for SetUserPrice: the rate in force now and the fees."""
    tariff = pricing.charger_tariff(db, charger)
    if tariff is None:
        return None
    rate = display.rate_at(tariff.schedule, utcnow().timestamp())
    return display.rate_text(rate, tariff.plan, Decimal(charger.price_multiplier), tariff.currency)
