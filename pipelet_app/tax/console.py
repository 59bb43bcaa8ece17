"""The sponsor's SPV console as data: lifecycle phases and steps, compliance alerts, each year's return
status with its open violations and audit trail, and the actions that move them.

Operators see and act on the SPVs their tenant sponsors (an admin on all); another tenant's SPV is
NotFound. Status changes go through `tax.returns.set_status`, so the same rule that blocks the CLI
blocks the console: nothing is released with a violation open. The page (`portals/spv`) only formats.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    Alert,
    Phase,
    Step,
    next_phase,
)
from pipelet_app.domain.tax.errors import RuleViolation, TaxValidationError
from pipelet_app.i18n.catalogue import translate
from pipelet_app.i18n.formatting import current_locale
from pipelet_app.i18n.words import refusal_text
from pipelet_app.tax.alerts import lifecycle_steps, spv_alerts
from pipelet_app.tax.books import load_books
from pipelet_app.tax.returns import BooksChanged, check_year, require_sponsor, set_status


@dataclass(frozen=True)
class YearStatus:
    tax_year: int
    status: str
    #: empty (and the books unchanged): the year's return may move on; the page words them (`tax_rule.*`)
    violations: list[RuleViolation]
    #: released or filed, and the books no longer give the released figures: pull back and release again
    books_changed: bool = False


@dataclass(frozen=True)
class SpvState:
    spv: Spv
    phase: Phase
    steps: list[Step]
    alerts: list[Alert]
    years: list[YearStatus]
    events: list[SpvReturnEvent]  # return status changes, newest first


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


def spv_console(db: Session, principal: Principal, today: date | None = None) -> list[SpvState]:
    """Every SPV the caller may see, with what /operator/spvs shows of each."""
    today = today or clock.today()
    out = []
    for spv in _spvs(db, principal):
        years = db.exec(
            select(SpvTaxYear).where(SpvTaxYear.spv_id == spv.id).order_by(SpvTaxYear.tax_year)
        ).all()
        loaded = load_books(db, spv.id or 0)  # once per SPV and load: every year below reads these books
        statuses = []
        for row in years:
            check = check_year(loaded, row.tax_year)  # one computation per year and load
            violations = list(check.violations)
            changed = not violations and str(row.status) != "draft" and not check.released_matches
            statuses.append(YearStatus(row.tax_year, str(row.status), violations, changed))
        events = db.exec(
            select(SpvReturnEvent).where(SpvReturnEvent.spv_id == spv.id).order_by(SpvReturnEvent.at.desc())
        ).all()
        out.append(
            SpvState(
                spv=spv,
                phase=_phase(spv),
                steps=lifecycle_steps(db, spv.id or 0),
                alerts=spv_alerts(db, spv, today),
                years=statuses,
                events=list(events),
            )
        )
    return out


def change_status(db: Session, principal: Principal, spv_id: int, year: int, target: str) -> tuple[str, str]:
    """Release, file, or pull back a year's return; a broken rule comes back as the form's error. The
    status codes it moved from and to (`released`, `draft`): the page words them."""
    try:
        event = set_status(db, principal, spv_id, year, target)
    except TaxValidationError as exc:  # in the page's language (English: the rules' own text)
        raise InvalidInput(refusal_text(exc, current_locale())) from None
    except BooksChanged as exc:  # in the page's language too
        locale = current_locale()
        words = (
            str(exc)
            if locale == "en"
            else f"{exc.spv_name} {exc.year}: {translate('spv.books_changed', locale)}"
        )
        raise InvalidInput(words) from None
    return str(event.from_status), str(event.to_status)


def advance_phase(db: Session, principal: Principal, spv_id: int) -> Phase:
    """Move the SPV to its next lifecycle phase once every step of the current one is done; the new
    phase (the page words it)."""
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
    return target
