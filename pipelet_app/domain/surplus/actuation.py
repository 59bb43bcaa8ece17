"""From the controller's decisions to charging profiles: unit, purpose and fallback order, the safe limit
when site data is stale, and whether a profile needs sending at all. Pure; the loop does the I/O.

Rules (docs/surplus-actuation.md):
- Unit: amperes where the charger allows A (1.6 `ChargingScheduleAllowedChargingRateUnit` "Current",
  2.0.1 `SmartChargingCtrlr.RateUnit` "A"), watts where it allows only W; A when unknown.
- Purpose: a TxProfile during a transaction; a charger that rejects it gets the same limit as a
  TxDefaultProfile one stack level above the connector's baseline (`tx_attempts`), under the lift's id
  and bounded like the TxProfile, so the baseline stays in place under it and leads again when it lapses
  (a dead loop) or is cleared (the transaction ended). Every connector keeps a TxDefaultProfile at its
  baseline (`baseline.baseline_shares`: the safe limit per mode below, within the cap summed over the
  site's connectors), so a new transaction, and a car that locks its current when the session starts,
  begins there, never at full power, and the site holds its cap with the loop dead. The site cap goes
  out once per charger as a ChargePointMaxProfile (the hardware backstop: one car may take all of it).
  While a new car would start, an idle connector below the minimum also gets a lift (a second
  TxDefaultProfile on stack level 1, `baseline.lift_shares`), bounded and renewed like a TxProfile.
- Stale data (no grid measurement for `STALE_AFTER`): PV-only pauses (no measurement = no proof of
  surplus); PV-priority and Eco-plus keep the minimum current (the grid tops up anyway). Never more.
- Phases: a charger (and car) that can switch between 1 and 3 phases gets `numberPhases` in every
  profile of its tx/idle slot (the controller's phase count); others never carry it (3 assumed).
- A profile goes out only when the value, unit, phases or purpose differs from what the charger last
  answered for that slot (a rejected one too: it is not retried until the limit changes). A switch of
  phases at the same current is a change.
- Bounded TxProfiles: a TxProfile's schedule lasts `validity_s` (its `duration`), so one sent by a loop
  that died lapses and the charger falls back to the connector's baseline TxDefaultProfile; the live
  loop sends an accepted TxProfile again, unchanged, once less than a lease is left (`renewal_due`: the
  one exception to "no duplicates").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pipelet_app.domain.surplus.model import MIN_CURRENT_A, Mode

STALE_AFTER = timedelta(minutes=2)
#: a transaction's limit: its TxProfile, else (a charger that rejects it) a bounded TxDefaultProfile
#: under the lift's id, one stack level above the baseline (`tx_attempts`; this: a baseline on level 0)
TX_ATTEMPTS: tuple[tuple[str, int], ...] = (("TxProfile", 0), ("TxDefaultProfile", 1))
BASE_ATTEMPTS: tuple[tuple[str, int], ...] = (("TxDefaultProfile", 0), ("TxDefaultProfile", 1))
MAX_ATTEMPTS: tuple[tuple[str, int], ...] = (("ChargePointMaxProfile", 0),)
#: an idle connector's lift (`baseline.lift_shares`): over the baseline, so on stack level 1 only
LIFT_ATTEMPTS: tuple[tuple[str, int], ...] = (("TxDefaultProfile", 1),)


def rate_unit(allowed: str | None) -> str:
    """`A` or `W` from the charger's configured allowed units ("Current,Power", "A,W", "W", ...)."""
    if not allowed:
        return "A"
    words = {w.strip().lower() for w in allowed.replace(";", ",").split(",") if w.strip()}
    if words & {"current", "a"}:
        return "A"
    if words & {"power", "w"}:
        return "W"
    return "A"


def safe_limit_a(mode: Mode, min_a: float = MIN_CURRENT_A) -> float:
    """The per-phase limit while the site's data is stale: pause in PV-only, the minimum otherwise."""
    return 0.0 if mode == Mode.PV_ONLY else min_a


def profile_value(limit_a: float, phases: int, unit: str, voltage_v: float) -> float:
    """The number the schedule carries: tenths of an ampere per phase, or whole watts over all phases."""
    if unit == "W":
        return float(round(limit_a * phases * voltage_v))
    return round(limit_a, 1)


@dataclass(frozen=True)
class Sent:
    """What a profile slot (charger, connector, kind) last carried and how the charger answered."""

    value: float
    unit: str
    transaction_id: str | None
    status: str
    #: the `numberPhases` the profile carried; None = none (the charger assumes 3)
    phases: int | None = None
    #: when it was sent (its schedule starts then): a TxProfile with a `duration` is renewed from this;
    #: None for other slots and for records saved before profiles had one
    sent_utc: datetime | None = None


def needs_sending(
    last: Sent | None, value: float, unit: str, transaction_id: str | None, phases: int | None = None
) -> bool:
    """True unless the slot already carries this value and phase count (accepted or rejected) for this
    transaction. Why phases: 6 A on 3 phases and 6 A on 1 phase carry the same value."""
    if last is None:
        return True
    return not (
        last.unit == unit
        and last.transaction_id == transaction_id
        and last.phases == phases
        and abs(last.value - value) < 0.05
    )


def renew_before_s(validity_s: float, lease_s: float) -> float:
    """How long before its schedule runs out a TxProfile is sent again: a lease (a successor that takes
    the site over within it still finds the profile in force), at most half the validity (a validity
    shorter than two leases is then renewed at its half, not every cycle)."""
    return min(lease_s, validity_s / 2)


def renewal_due(
    last: Sent | None, now: datetime, validity_s: float, lease_s: float, fallback: float | None = None
) -> bool:
    """True when the slot's accepted TxProfile (or its bounded fallback, `tx_attempts`) runs out within
    `renew_before_s` (or carries no known start: sent before profiles had a duration, so it lasts until
    its transaction ends). A rejected one is not renewed: it is not retried until the limit changes.

    `fallback`: the value the connector's baseline TxDefaultProfile carries (in the same unit), when the
    charger has it and it stays: a TxProfile at that value lapses to the same limit, so it is not renewed
    (PV-only's paused and full cars at 0 A: most renewals, benchmarks/surplus/renewals.py). Should the
    baseline change, the lapsed TxProfile is due at once and goes out in the same cycle."""
    if validity_s <= 0 or last is None or not bounded(last.status):
        return False
    if fallback is not None and abs(last.value - fallback) < 0.05:
        return False
    if last.sent_utc is None:
        return True
    remaining = validity_s - (now - last.sent_utc).total_seconds()
    return remaining <= renew_before_s(validity_s, lease_s)


def renewals_per_hour(validity_s: float, lease_s: float) -> float:
    """TxProfiles per car and hour that renewal alone sends for a limit that never changes (an upper
    bound: every change of the limit restarts the schedule and needs no renewal)."""
    if validity_s <= 0:
        return 0.0
    return 3600.0 / (validity_s - renew_before_s(validity_s, lease_s))


def number_phases(switchable: bool, phases: int) -> int | None:
    """The `numberPhases` a profile carries: the decision's phases for a switchable charger, else none."""
    return (1 if phases == 1 else 3) if switchable else None


def base_level(status: str | None) -> int:
    """The stack level a connector's baseline went on, from its slot's answer: 1 where the charger
    rejected level 0 (`fallback:TxDefaultProfile@1`), else 0 (also when it is unknown or rejected)."""
    return 1 if status == "fallback:TxDefaultProfile@1" else 0


def tx_attempts(base: int = 0) -> tuple[tuple[str, int], ...]:
    """A transaction's tries: its TxProfile, then the same limit as a TxDefaultProfile one stack level
    above the connector's baseline (on `base`). Above, never on the baseline's level: OCPP takes the
    highest stack level with a period for the instant within a purpose, so the fallback leads while it
    lasts and the baseline leads again when it lapses. On the baseline's level it would replace it (1.6:
    same stack level and purpose) or be rejected (2.0.1), and once it lapsed the connector would have no
    default at all, the whole site cap. A charger that rejects it too keeps the baseline for the session
    (`Rejected`, tried again when the limit changes)."""
    return (("TxProfile", 0), ("TxDefaultProfile", base + 1))


def attempts_for(kind: str, base: int = 0) -> tuple[tuple[str, int], ...]:
    """Purpose and stack level to try in order for a `tx`, `base` (baseline), `lift` or `max` slot;
    `base`: the level of the connector's baseline (`base_level`), for a `tx` slot's fallback."""
    if kind == "tx":
        return tx_attempts(base)
    return {"base": BASE_ATTEMPTS, "lift": LIFT_ATTEMPTS, "max": MAX_ATTEMPTS}[kind]


def outcome(kind: str, attempt: int, status: str, base: int = 0) -> str:
    """How the operator sees a send: Accepted, Rejected, or `fallback:Purpose@level` when a later try took."""
    if status != "Accepted":
        return status
    if attempt == 0:
        return "Accepted"
    purpose, level = attempts_for(kind, base)[attempt]
    return f"fallback:{purpose}@{level}"


def bounded(status: str) -> bool:
    """True for a slot whose answer says the charger carries a bounded profile the live loop renews: an
    accepted TxProfile (or lift), or a transaction's fallback above the baseline (`tx_attempts`)."""
    return status in ("Accepted", "fallback:TxDefaultProfile@1", "fallback:TxDefaultProfile@2")
