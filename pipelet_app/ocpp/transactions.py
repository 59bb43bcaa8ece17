"""Session bookkeeping shared by OCPP 1.6 and 2.0.1: every transaction is one `op_charging_sessions` row.

Transaction ids: 1.6 needs an integer from the CSMS, so the row's primary key is the 1.6 transactionId
and the row's `transaction_id` is `ocpp16:{charge point}:{pk}`; 2.0.1 chargers name their own
transactions, stored as `ocpp201:{charge point}:{id}`. Both are unique across all session sources.

Energy is stop register - start register, where both may need evidence (domain.meter_energy, rules and
reasons in docs/ocpp-energy-rules.md):
- a start register of 0 delivered late (1.6: more than `OFFLINE_LAG_S` after its timestamp; 2.0.1: the
  `offline` flag) is a reset meter or an unread one: decided from the connector's previous register and
  the session's own readings; when both remain possible the charger's 0 is kept and the session flagged;
- without a start register (a 2.0.1 Started without one, or not yet received) the transaction's first
  energy register is the start, whatever its context;
- 2.0.1 stop: the Transaction.End register, else the last register, derived again whenever a late
  message of an ended transaction arrives, so delivery order does not change the result.
A closed session is checked for impossible energy (`meter_energy.check`): flags that need review hold
it out of reimbursement and solar share until an operator confirms or corrects it.

A charger that reboots with transactions open has lost them: they are closed at its BootNotification
with reason `STALE_REASON`, ending at their last meter sample. A StopTransaction / Ended event that
arrives later (queued during the outage) overwrites that provisional close, so the session is still
counted once and with the charger's own numbers.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from pipelet_app.clock import utcnow
from pipelet_app.db.models import (
    ChargingSession,
    Connector,
    MeterValue,
    SessionSource,
    TransactionSeqNos,
)
from pipelet_app.domain import meter_energy
from pipelet_app.domain.meter_energy import Reading
from pipelet_app.ocpp import seqno
from pipelet_app.ocpp.writer import defer_insert, flush_deferred
from pipelet_app.services import pricing

LOGGER = logging.getLogger("pipelet.csms.transactions")

STALE_REASON = "StaleClosedOnReboot"
SUPERSEDED_REASON = "StaleSupersededByNewTransaction"
PROVISIONAL_REASONS = frozenset({STALE_REASON, SUPERSEDED_REASON})
REGISTER = "Energy.Active.Import.Register"
OFFLINE_LAG_S = 120.0

_TO_BASE_UNIT = {"kwh": ("Wh", 1000.0), "wh": ("Wh", 1.0), "kw": ("W", 1000.0), "w": ("W", 1.0)}
_KVARH = {"kvarh": ("varh", 1000.0), "kvar": ("var", 1000.0)}


@dataclass(frozen=True, slots=True)
class Sample:
    """One sampled value, version-neutral."""

    measurand: str
    value: object
    unit: str | None = None
    phase: str | None = None
    context: str | None = None
    signed: bool = False
    multiplier: int = 0  # 2.0.1 unitOfMeasure.multiplier (power of ten)
    location: str | None = None

    def normalised(self) -> tuple[float, str] | None:
        """(value, unit) in Wh / W / varh / var; None when the value is not a number."""
        if self.signed:
            return None
        try:
            number = float(self.value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        if number != number or number in (float("inf"), float("-inf")):
            return None
        number *= 10.0 ** max(-9, min(9, self.multiplier))
        unit = self.unit or ("Wh" if self.measurand.startswith("Energy") else "")
        base, factor = _TO_BASE_UNIT.get(unit.lower()) or _KVARH.get(unit.lower()) or (unit, 1.0)
        return number * factor, base


def tx_key(version: str, charge_point_id: str, transaction_id: str | int) -> str:
    prefix = "ocpp16" if version == "1.6" else "ocpp201"
    return f"{prefix}:{charge_point_id}:{transaction_id}"


def find_v16_transaction(db: Session, charger_id: int, transaction_id: int) -> ChargingSession | None:
    session = db.get(ChargingSession, transaction_id)
    if session is None or session.charger_id != charger_id:
        return None
    return session


def find_by_key(db: Session, key: str) -> ChargingSession | None:
    return db.exec(select(ChargingSession).where(ChargingSession.transaction_id == key)).first()


_SESSIONS = ChargingSession.__table__
_OPEN_ID_ON_CONNECTOR = (
    select(_SESSIONS.c.id)  # type: ignore[attr-defined]
    .where(
        _SESSIONS.c.charger_id == bindparam("charger_id"),  # type: ignore[attr-defined]
        _SESSIONS.c.connector_id == bindparam("connector_id"),  # type: ignore[attr-defined]
        _SESSIONS.c.end_utc.is_(None),  # type: ignore[attr-defined]
    )
    .order_by(_SESSIONS.c.start_utc.desc())  # type: ignore[attr-defined]
    .limit(1)
)


def open_session_on(db: Session, charger_id: int, connector_id: int) -> ChargingSession | None:
    """The open session on a connector. Asked for every MeterValues without a transaction id: a plain
    statement finds the id (usually none), the ORM loads the session only when there is one."""
    if db.new or db.dirty:
        db.flush()  # a session started or stopped earlier in this transaction must count
    params = {"charger_id": charger_id, "connector_id": connector_id}
    session_id = db.connection().execute(_OPEN_ID_ON_CONNECTOR, params).scalar()
    return None if session_id is None else db.get(ChargingSession, session_id)


def start_transaction(
    db: Session,
    charger_id: int,
    charge_point_id: str,
    *,
    connector_id: int,
    id_tag: str,
    meter_start_wh: float | None,
    started_at: datetime,
    driver_id: int | None,
    key: str | None,
    version: str,
    offline: bool = False,
) -> ChargingSession:
    """The session for this start; the same start delivered twice yields the same row."""
    if key is not None:
        existing = find_by_key(db, key)
        if existing is not None:
            return existing
    else:
        existing = db.exec(
            select(ChargingSession).where(
                ChargingSession.charger_id == charger_id,
                ChargingSession.connector_id == connector_id,
                ChargingSession.start_utc == started_at,
                func.upper(ChargingSession.id_tag) == func.upper(id_tag),
                ChargingSession.meter_start_wh == meter_start_wh,
            )
        ).first()
        if existing is not None:
            return existing
    previous = open_session_on(db, charger_id, connector_id)
    if previous is not None and previous.start_utc <= started_at:
        # The charger started anew on a connector we still think busy: the old stop was lost.
        LOGGER.warning(
            "%s: closing session %s left open on connector %s",
            charge_point_id,
            previous.transaction_id,
            connector_id,
        )
        close_provisionally(db, previous, SUPERSEDED_REASON, fallback_end=started_at)
    session = ChargingSession(
        transaction_id=key or f"pending:{uuid.uuid4()}",
        station_id=charge_point_id,
        id_tag=id_tag,
        source=SessionSource.OCPP_WALLBOX,
        driver_id=driver_id,
        charger_id=charger_id,
        connector_id=connector_id,
        start_utc=started_at,
        meter_start_wh=meter_start_wh,
        started_offline=offline,
    )
    db.add(session)
    db.flush()
    if key is None:
        session.transaction_id = tx_key(version, charge_point_id, session.id)  # type: ignore[arg-type]
        db.add(session)
        db.flush()
    return session


def add_meter_values(
    db: Session,
    charger_id: int,
    connector_id: int,
    session: ChargingSession | None,
    at: datetime,
    samples: list[Sample],
) -> int:
    """Store numeric samples linked to `session`; keeps an open session's energy up to date."""
    stored = 0
    latest_register: float | None = None
    for sample in samples:
        normal = sample.normalised()
        if normal is None:
            continue
        value, unit = normal
        defer_insert(
            db,
            MeterValue.__table__,  # type: ignore[arg-type]
            {
                "charger_id": charger_id,
                "connector_id": connector_id,
                "session_id": session.id if session else None,
                "transaction_id": session.transaction_id if session else None,
                "timestamp": at,
                "measurand": sample.measurand,
                "value": value,
                "unit": unit,
                "phase": sample.phase,
                "context": sample.context,
                "location": sample.location,
            },
            skip_duplicates=session is not None,  # a retried message stores its readings once
        )
        stored += 1
        if sample.measurand == REGISTER and sample.phase is None:
            latest_register = value
    if session is not None and session.end_utc is None and latest_register is not None:
        _set_energy(session, _open_energy(db, session, latest_register))
        session.updated_at = utcnow()
        db.add(session)
    return stored


def stop_transaction(
    db: Session,
    session: ChargingSession,
    *,
    meter_stop_wh: float | None,
    stopped_at: datetime,
    reason: str,
) -> bool:
    """Close the session; False when it was already closed by the charger (a duplicate stop)."""
    if session.end_utc is not None and session.reason not in PROVISIONAL_REASONS:
        return False
    db.flush()
    session.end_utc = max(stopped_at, session.start_utc)
    session.reason = reason
    session.meter_stop_wh = meter_stop_wh
    _settle(db, session, derive_stop=meter_stop_wh is None)
    return True


def refresh_closed(db: Session, session: ChargingSession) -> None:
    """A late 2.0.1 message of an ended transaction: settle it again from everything received, so the
    session ends where in-order delivery would have left it."""
    if session.end_utc is not None:
        db.flush()
        _settle(db, session, derive_stop=True)


def close_provisionally(
    db: Session, session: ChargingSession, reason: str, fallback_end: datetime | None = None
) -> None:
    """Close a session the charger lost, at its last meter sample (a later real stop overrides this)."""
    flush_deferred(db)
    db.flush()
    last = db.exec(
        select(MeterValue)
        .where(MeterValue.session_id == session.id)
        .order_by(col(MeterValue.timestamp).desc())
    ).first()
    end = last.timestamp if last is not None else (fallback_end or utcnow())
    session.end_utc = max(end, session.start_utc)
    session.reason = reason
    session.meter_stop_wh = None
    _settle(db, session, derive_stop=True)


_OPEN_ON_CHARGER = select(ChargingSession).where(
    ChargingSession.charger_id == bindparam("charger_id"),
    col(ChargingSession.end_utc).is_(None),
    ChargingSession.source == SessionSource.OCPP_WALLBOX,
)


_ANY_OPEN_ON_CHARGER = select(_SESSIONS.c.id).where(  # type: ignore[attr-defined]
    _SESSIONS.c.charger_id == bindparam("charger_id"),  # type: ignore[attr-defined]
    _SESSIONS.c.end_utc.is_(None),  # type: ignore[attr-defined]
    _SESSIONS.c.source == SessionSource.OCPP_WALLBOX,  # type: ignore[attr-defined]
)


def close_stale_on_boot(db: Session, charger_id: int, boot_at: datetime) -> int:
    # Most boots find nothing open: ask with a plain statement before loading any session object.
    if db.connection().execute(_ANY_OPEN_ON_CHARGER, {"charger_id": charger_id}).first() is None:
        return 0
    sessions = db.execute(_OPEN_ON_CHARGER, {"charger_id": charger_id}).scalars().all()
    for session in sessions:
        close_provisionally(db, session, STALE_REASON, fallback_end=boot_at)
    return len(sessions)


def reopen(db: Session, session: ChargingSession) -> None:
    """A 2.0.1 charger resumed a transaction we closed provisionally at its reboot."""
    if session.end_utc is not None and session.reason in PROVISIONAL_REASONS:
        session.end_utc = None
        session.reason = ""
        session.meter_stop_wh = None
        db.add(session)


def record_seq_no(db: Session, session: ChargingSession, seq_no: int) -> seqno.SeqUpdate | None:
    """Note a 2.0.1 TransactionEvent's seqNo for the session (see `seqno`); None for a negative one.

    A jump is logged as a warning and stays visible in `ocpp_transaction_seq_nos.missing` until the late
    messages arrive; the event itself is applied by the caller either way.
    """
    if seq_no < 0:
        LOGGER.warning("%s: TransactionEvent with negative seqNo %s", session.transaction_id, seq_no)
        return None
    row = db.get(TransactionSeqNos, session.id)
    state = seqno.parse(row.seen) if row is not None else seqno.SeqState()
    update = seqno.add(state, seq_no)
    if update.duplicate:
        return update
    if update.skipped:
        LOGGER.warning(
            "%s: TransactionEvent seqNo %s after %s: %s message(s) missing %s",
            session.transaction_id,
            seq_no,
            state.last,
            update.state.missing,
            update.state.missing_numbers(10),
        )
    elif update.late:
        LOGGER.info(
            "%s: late TransactionEvent seqNo %s (%s still missing)",
            session.transaction_id,
            seq_no,
            update.state.missing,
        )
    if row is None:
        row = TransactionSeqNos(session_id=session.id, last_seq_no=seq_no, seen="")  # type: ignore[arg-type]
    row.seen = seqno.format_state(update.state)
    row.last_seq_no = update.state.last  # type: ignore[assignment]
    row.missing = update.state.missing
    row.updated_at = utcnow()
    db.add(row)
    return update


# ---------------------------------------------------------------------- energy
def _registers(db: Session, session: ChargingSession) -> list[MeterValue]:
    flush_deferred(db)
    return list(
        db.exec(
            select(MeterValue)
            .where(
                MeterValue.session_id == session.id,
                MeterValue.measurand == REGISTER,
                col(MeterValue.phase).is_(None),
            )
            .order_by(col(MeterValue.timestamp), col(MeterValue.id))
        ).all()
    )


def _max_power_w(db: Session, session: ChargingSession) -> float:
    power = db.exec(
        select(Connector.max_power_w).where(
            Connector.charger_id == session.charger_id, Connector.connector_id == session.connector_id
        )
    ).first()
    return power or meter_energy.DEFAULT_MAX_POWER_W


def _previous_register(db: Session, session: ChargingSession) -> float | None:
    """The connector's last register before this session: the previous session's stop (or its last
    reading when it has none). Asked only for a late start of 0."""
    previous = db.exec(
        select(ChargingSession)
        .where(
            ChargingSession.charger_id == session.charger_id,
            ChargingSession.connector_id == session.connector_id,
            ChargingSession.id != session.id,
            ChargingSession.start_utc < session.start_utc,
        )
        .order_by(col(ChargingSession.start_utc).desc())
    ).first()
    if previous is None:
        return None
    if previous.meter_stop_wh is not None:
        return previous.meter_stop_wh
    rows = _registers(db, previous)
    return rows[-1].value if rows else None


def _decide_start(
    db: Session, session: ChargingSession, readings: list[Reading], max_power_w: float
) -> meter_energy.StartDecision:
    reported = session.meter_start_wh
    late_zero = reported == 0 and session.started_offline
    return meter_energy.decide_start(
        reported,
        late=session.started_offline,
        started_at=session.start_utc,
        previous_wh=_previous_register(db, session) if late_zero else None,
        readings=readings,
        max_power_w=max_power_w,
    )


def _open_energy(db: Session, session: ChargingSession, latest_wh: float) -> float:
    """Energy so far of an open session: one subtraction unless the start needs evidence."""
    start = session.meter_start_wh
    if start is None or (start == 0 and session.started_offline):
        rows = _registers(db, session)
        readings = [Reading(r.timestamp, r.value) for r in rows]
        start = _decide_start(db, session, readings, _max_power_w(db, session)).start_wh
    return max(0.0, latest_wh - start) if start is not None else 0.0


def _stop_reading(rows: list[MeterValue]) -> float | None:
    """2.0.1 (and a lost 1.6 stop): the Transaction.End register, else the last register."""
    ends = [r for r in rows if r.context == "Transaction.End"]
    if ends:
        return ends[-1].value
    return rows[-1].value if rows else None


def _settle(db: Session, session: ChargingSession, *, derive_stop: bool) -> None:
    """Energy and flags of a closed session from its start, stop and readings (see module docstring)."""
    assert session.end_utc is not None
    rows = _registers(db, session)
    if derive_stop:
        session.meter_stop_wh = _stop_reading(rows)
    stop = session.meter_stop_wh
    readings = [Reading(r.timestamp, r.value) for r in rows]
    if stop is not None:
        readings.append(Reading(session.end_utc, stop))
    max_power = _max_power_w(db, session)
    decision = _decide_start(db, session, readings, max_power)
    start = decision.start_wh
    if start is None or stop is None:
        energy = 0.0
    else:
        energy = stop - start
        if energy < 0:
            LOGGER.warning(
                "session %s: stop register %.0f below start %.0f", session.transaction_id, stop, start
            )
    flags = decision.flags | meter_energy.check(
        started_at=session.start_utc,
        ended_at=session.end_utc,
        start_wh=start,
        energy_wh=energy,
        readings=readings,
        max_power_w=max_power,
    )
    _set_energy(session, max(energy, 0.0))
    _set_flags(session, flags)
    pricing.record_cost(db, session, start, ((r.timestamp, r.value) for r in rows), stop)
    session.updated_at = utcnow()
    db.add(session)


def _set_energy(session: ChargingSession, energy_wh: float) -> None:
    """After an operator's correction the readings' figure goes to `energy_reported_wh` only."""
    if session.energy_reported_wh is not None:
        session.energy_reported_wh = energy_wh
    else:
        session.energy_wh = energy_wh


def _set_flags(session: ChargingSession, flags: frozenset[str]) -> None:
    """New flags need a new review; the same flags keep an operator's earlier decision."""
    text = meter_energy.format_flags(flags)
    if text != session.flags:
        if text:
            LOGGER.warning("session %s: flagged %s", session.transaction_id, text)
        session.flags = text
        session.review_pending = meter_energy.needs_review(flags)
