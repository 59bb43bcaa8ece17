"""The sponsor's SPV console: lifecycle phases and steps, compliance alerts, each year's return status
with its open violations and audit trail, and the actions that move them.

Operators see and act on the SPVs their tenant sponsors (an admin on all); another tenant's SPV is
NotFound. Status changes go through `tax.returns.set_status`, so the same rule that blocks the CLI
blocks the console: nothing is released with a violation open.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, select

from pipelet_app import clock
from pipelet_app.auth import InvalidInput, Principal, require
from pipelet_app.db.models import (
    Role,
    Spv,
    SpvReturnEvent,
    SpvTaxYear,
)
from pipelet_app.domain.tax.compliance import (
    Phase,
    next_phase,
)
from pipelet_app.domain.tax.errors import TaxValidationError
from pipelet_app.i18n.formatting import when
from pipelet_app.tax.alerts import lifecycle_steps, spv_alerts
from pipelet_app.tax.books import load_books
from pipelet_app.tax.returns import BooksChanged, check_year, require_sponsor, set_status


def _spvs(db: Session, principal: Principal) -> list[Spv]:
    require(principal, Role.OPERATOR, Role.ADMIN)
    query = select(Spv).order_by(Spv.name)
    if principal.role is Role.OPERATOR:
        query = query.where(Spv.sponsor_tenant_id == principal.tenant_id)
    return list(db.exec(query).all())


def _phase(spv: Spv) -> Phase:
    try:
        return Phase[spv.lifecycle_phase.upper()]
    except KeyError:
        return Phase.SOURCING


def spv_console(
    db: Session, principal: Principal, today: date | None = None
) -> dict[str, list[dict[str, str]]]:
    """Everything on /operator/spvs, as display rows."""
    today = today or clock.today()
    out: dict[str, list[dict[str, str]]] = {"spvs": [], "steps": [], "alerts": [], "years": [], "audit": []}
    for spv in _spvs(db, principal):
        phase = _phase(spv)
        steps = lifecycle_steps(db, spv.id or 0)
        out["spvs"].append(
            {
                "id": str(spv.id),
                "name": spv.name,
                "phase": phase.name.title(),
                "next": Phase(phase + 1).name.title() if phase < Phase.EXIT else "",
            }
        )
        for step in steps:
            out["steps"].append(
                {
                    "spv": spv.name,
                    "phase": step.phase.name.title(),
                    "title": step.title,
                    "owner": step.owner,
                    "due": step.due.isoformat(),
                    "done": step.done_on.isoformat() if step.done_on else "",
                }
            )
        alerts = spv_alerts(db, spv, today)
        years = db.exec(
            select(SpvTaxYear).where(SpvTaxYear.spv_id == spv.id).order_by(SpvTaxYear.tax_year)
        ).all()
        loaded = load_books(db, spv.id or 0)  # once per SPV and load: every year below reads these books
        for row in years:
            check = check_year(loaded, row.tax_year)  # one computation per year and load
            violations = [str(v) for v in check.violations]
            if not violations and str(row.status) != "draft" and not check.released_matches:
                violations.append("the books changed since release: pull back to draft and release again")
            out["years"].append(
                {
                    "spv_id": str(spv.id),
                    "spv": spv.name,
                    "year": str(row.tax_year),
                    "status": str(row.status),
                    "violations": "; ".join(violations) or "—",
                }
            )
        out["alerts"].extend(
            {
                "spv": spv.name,
                "severity": a.severity.value,
                "title": a.title,
                "owner": a.owner,
                "due": a.due.isoformat(),
                "message": a.message,
            }
            for a in alerts
        )
        for event in db.exec(
            select(SpvReturnEvent).where(SpvReturnEvent.spv_id == spv.id).order_by(SpvReturnEvent.at.desc())
        ).all():
            out["audit"].append(
                {
                    "spv": spv.name,
                    "year": str(event.tax_year),
                    "change": f"{event.from_status} → {event.to_status}",
                    "actor": event.actor,
                    "at": when(event.at) + " UTC",
                    "note": event.note,
                }
            )
    return out


def change_status(db: Session, principal: Principal, spv_id: int, year: int, target: str) -> str:
    """Release, file, or pull back a year's return; a broken rule comes back as the form's error."""
    try:
        event = set_status(db, principal, spv_id, year, target)
    except (TaxValidationError, BooksChanged) as exc:
        raise InvalidInput(str(exc)) from None
    return f"{event.from_status} → {event.to_status}"


def advance_phase(db: Session, principal: Principal, spv_id: int) -> str:
    """Move the SPV to its next lifecycle phase once every step of the current one is done."""
    spv = db.get(Spv, spv_id)
    require_sponsor(principal, spv.sponsor_tenant_id if spv is not None else None)
    assert spv is not None
    current = _phase(spv)
    if current is Phase.EXIT:
        raise InvalidInput("phase: the SPV is already in its last phase")
    try:
        target = next_phase(current, Phase(current + 1), lifecycle_steps(db, spv_id))
    except TaxValidationError as exc:
        raise InvalidInput(exc.violations[0].message) from None
    spv.lifecycle_phase = target.name.lower()
    db.add(spv)
    return target.name.title()
