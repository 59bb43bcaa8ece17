"""Reimbursement rates and monthly statements of a fleet: draft → approved → exported.

Drafts are recomputed from the sessions whenever asked, so a late PV session still lands in its month.
Approval freezes a statement's figures; export is the hand-over to payroll and is final. Every step
checks that the statement belongs to the caller's fleet.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from sqlmodel import Session, select

from pipelet_app import audit
from pipelet_app.auth import InvalidInput, NotFound, Principal, require
from pipelet_app.clock import utcnow
from pipelet_app.db.models import (
    ChargingSession,
    Driver,
    ReimbursementRate,
    ReimbursementStatement,
    Role,
    StatementStatus,
    Tenant,
)
from pipelet_app.domain import csv_cells
from pipelet_app.domain.reimbursement import SOURCES, SessionEnergy, compute_statement
from pipelet_app.errors import Conflict

log = logging.getLogger(__name__)


def _month_bounds(month: str) -> tuple[datetime, datetime]:
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput("month: must look like 2025-03") from None
    end = (
        start.replace(year=start.year + 1, month=1)
        if start.month == 12
        else start.replace(month=start.month + 1)
    )
    return start, end


def get_rates(db: Session, principal: Principal) -> dict[str, Decimal | None]:
    require(principal, Role.FLEET_MANAGER)
    rows = db.exec(select(ReimbursementRate).where(ReimbursementRate.fleet_id == principal.tenant_id)).all()
    stored = {r.source: r.rate_per_kwh for r in rows}
    return {source: stored.get(source) for source in SOURCES}


def _parse_rate(source: str, rate: str | Decimal | None) -> Decimal | None:
    if source not in SOURCES:
        raise InvalidInput(f"source: one of {', '.join(SOURCES)}")
    if rate is None or not str(rate).strip():
        return None
    try:
        value = Decimal(str(rate).strip().replace(",", "."))
    except InvalidOperation:
        raise InvalidInput(f"rate: {rate!r} is not a number") from None
    if not value.is_finite() or value < 0 or value > 100:
        raise InvalidInput("rate: must be between 0 and 100 per kWh")
    return value


def set_rates(db: Session, principal: Principal, rates: dict[str, str | Decimal | None]) -> None:
    """Set €/kWh per source (empty = not reimbursed). All are checked before any is written."""
    require(principal, Role.FLEET_MANAGER)
    parsed = {source: _parse_rate(source, rate) for source, rate in rates.items()}
    stored = {
        r.source: r
        for r in db.exec(
            select(ReimbursementRate).where(ReimbursementRate.fleet_id == principal.tenant_id)
        ).all()
    }
    for source, value in parsed.items():
        row = stored.get(source) or ReimbursementRate(fleet_id=principal.tenant_id, source=source)
        row.rate_per_kwh = value
        row.updated_at = utcnow()
        db.add(row)
    db.commit()


def rate_text(rate: Decimal | None) -> str:
    """0.3000 → '0.30', 0.1234 → '0.1234': cents always shown, extra places only when they matter."""
    if rate is None:
        return ""
    cents = rate.quantize(Decimal("0.01"))
    return str(cents if cents == rate else rate.normalize())


def draft_statements(db: Session, principal: Principal, month: str) -> list[ReimbursementStatement]:
    """(Re)compute every driver's draft for `month`; approved and exported statements stay as they are."""
    require(principal, Role.FLEET_MANAGER)
    start, end = _month_bounds(month)
    rates = get_rates(db, principal)
    drivers = db.exec(
        select(Driver).where(Driver.fleet_id == principal.tenant_id).order_by(Driver.name)
    ).all()
    energies: dict[int, list[SessionEnergy]] = defaultdict(list)
    for driver_id, source, energy_wh in db.exec(
        select(ChargingSession.driver_id, ChargingSession.source, ChargingSession.energy_wh)
        .join(Driver, Driver.id == ChargingSession.driver_id)
        .where(
            Driver.fleet_id == principal.tenant_id,
            ChargingSession.start_utc >= start,
            ChargingSession.start_utc < end,
            # Held for the charger operator's review (docs/ocpp-energy-rules.md): paid once confirmed.
            ChargingSession.review_pending.is_(False),
        )
    ).all():
        energies[driver_id].append(SessionEnergy(str(source), energy_wh))
    existing = {
        s.driver_id: s
        for s in db.exec(
            select(ReimbursementStatement).where(
                ReimbursementStatement.fleet_id == principal.tenant_id, ReimbursementStatement.month == month
            )
        ).all()
    }
    result = []
    for driver in drivers:
        statement = existing.get(driver.id) or ReimbursementStatement(
            fleet_id=principal.tenant_id, driver_id=driver.id, month=month
        )
        if statement.status == StatementStatus.DRAFT:
            computed = compute_statement(energies.get(driver.id, []), rates)
            if computed.excluded:
                log.warning(
                    "reimbursement %s, fleet %s, driver %s: %d session(s) with implausible energy left out; "
                    "void or correct them",
                    month,
                    principal.tenant_id,
                    driver.id,
                    computed.excluded,
                )
            statement.lines = [
                {
                    "source": line.source,
                    "sessions": line.sessions,
                    "energy_kwh": str(line.energy_kwh),
                    "rate_per_kwh": rate_text(line.rate_per_kwh) or None,
                    "amount": str(line.amount),
                }
                for line in computed.lines
            ]
            statement.energy_kwh = computed.energy_kwh
            statement.total = computed.total
            statement.currency = computed.currency
            statement.session_count = sum(line.sessions for line in computed.lines)
            statement.computed_at = utcnow()
            db.add(statement)
        result.append(statement)
    db.commit()
    return result


def _statement(db: Session, principal: Principal, statement_id: int) -> ReimbursementStatement:
    require(principal, Role.FLEET_MANAGER)
    statement = db.get(ReimbursementStatement, statement_id)
    if statement is None or statement.fleet_id != principal.tenant_id:
        raise NotFound(f"statement_id: no statement {statement_id} in your fleet")
    return statement


def approve(db: Session, principal: Principal, statement_id: int) -> ReimbursementStatement:
    statement = _statement(db, principal, statement_id)
    if statement.status != StatementStatus.DRAFT:
        raise InvalidInput(f"status: only a draft can be approved (this one is {statement.status})")
    statement.status = StatementStatus.APPROVED
    statement.approved_by = principal.user_id
    statement.approved_at = utcnow()
    db.add(statement)
    audit.record(db, principal, "statement.approved", "reimbursement_statement", statement_id)
    db.commit()
    return statement


def reopen(db: Session, principal: Principal, statement_id: int) -> ReimbursementStatement:
    """Undo an approval while it is still possible: before the payroll export (an exported statement's
    CSV has left the building; a correction then is next month's). Back to draft, audited."""
    statement = _statement(db, principal, statement_id)
    if statement.status != StatementStatus.APPROVED:  # a state clash, not bad input: the API says 409
        raise Conflict(
            "status: only an approved, not yet exported statement can be reopened "
            f"(this one is {statement.status})"
        )
    statement.status = StatementStatus.DRAFT
    statement.approved_by = None
    statement.approved_at = None
    db.add(statement)
    audit.record(
        db,
        principal,
        "statement.reopened",
        "reimbursement_statement",
        statement_id,
        {"status": ["approved", "draft"]},
    )
    db.commit()
    return statement


def export_csv(db: Session, principal: Principal, month: str) -> str:
    """All approved statements of the month as payroll CSV; they become exported in the same transaction."""
    require(principal, Role.FLEET_MANAGER)
    _month_bounds(month)
    rows = db.exec(
        select(ReimbursementStatement, Driver)
        .join(Driver, Driver.id == ReimbursementStatement.driver_id)
        .where(
            ReimbursementStatement.fleet_id == principal.tenant_id,
            ReimbursementStatement.month == month,
            ReimbursementStatement.status.in_(
                [StatementStatus.APPROVED.value, StatementStatus.EXPORTED.value]
            ),
        )
        .order_by(Driver.name)
    ).all()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "month",
            "driver_id",
            "driver_name",
            "driver_email",
            "source",
            "sessions",
            "energy_kwh",
            "rate_per_kwh",
            "amount",
            "currency",
            "statement_id",
            "status",
        ]
    )
    now = utcnow()
    for statement, driver in rows:
        for line in statement.lines:
            writer.writerow(
                csv_cells.row(
                    [
                        month,
                        driver.id,
                        driver.name,
                        driver.email,
                        line["source"],
                        line["sessions"],
                        line["energy_kwh"],
                        line["rate_per_kwh"] or "",
                        line["amount"],
                        statement.currency,
                        statement.id,
                        StatementStatus.EXPORTED.value,
                    ]
                )
            )
        if statement.status == StatementStatus.APPROVED:
            statement.status = StatementStatus.EXPORTED
            statement.exported_at = now
            db.add(statement)
    db.commit()
    return buffer.getvalue()


def statement_view(db: Session, principal: Principal, statement_id: int) -> dict:
    """Everything a printed statement shows."""
    statement = _statement(db, principal, statement_id)
    driver = db.get(Driver, statement.driver_id)
    assert driver is not None
    fleet = db.get(Tenant, principal.tenant_id)
    assert fleet is not None
    return {"statement": statement, "driver": driver, "fleet_name": fleet.name}


def driver_names(db: Session, principal: Principal) -> dict[int, str]:
    """The caller's fleet's drivers by id, for the statement lists' names."""
    require(principal, Role.FLEET_MANAGER)
    drivers = db.exec(select(Driver).where(Driver.fleet_id == principal.tenant_id)).all()
    return {d.id: d.name for d in drivers if d.id is not None}
