"""Import public charging sessions from a CSV upload into the caller's fleet.

Preview and import run the same checks; import adds only rows whose content-derived transaction id is
new, so re-uploading a file (or an overlapping export) adds nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from pipelet_app.auth import InvalidInput, Principal, require
from pipelet_app.db.models import ChargingSession, Driver, Role, SessionSource
from pipelet_app.domain.public_import import PublicRow, RowError, parse_public_csv
from pipelet_app.fleet.voids import voided_ids


@dataclass(frozen=True)
class ImportPlan:
    rows: list[tuple[PublicRow, Driver, str]]  # row, its driver, transaction id
    errors: list[RowError]
    already_imported: int


def plan_import(db: Session, principal: Principal, text: str) -> ImportPlan:
    require(principal, Role.FLEET_MANAGER)
    parsed, errors = parse_public_csv(text)
    drivers = {
        d.email.lower(): d
        for d in db.exec(select(Driver).where(Driver.fleet_id == principal.tenant_id)).all()
        if d.email
    }
    candidates: list[tuple[PublicRow, Driver, str]] = []
    seen: set[str] = set()
    for row in parsed:
        driver = drivers.get(row.driver_email)
        if driver is None:
            errors.append(RowError(row.line, "driver_email", f"no driver {row.driver_email} in your fleet"))
            continue
        transaction_id = row.transaction_id(principal.tenant_id or 0)
        if transaction_id in seen:
            errors.append(RowError(row.line, "row", "duplicate of an earlier row in this file"))
            continue
        seen.add(transaction_id)
        candidates.append((row, driver, transaction_id))
    existing: set[str] = set()
    ids = [c[2] for c in candidates]
    for chunk in range(0, len(ids), 500):
        existing.update(
            db.exec(
                select(ChargingSession.transaction_id).where(
                    ChargingSession.transaction_id.in_(ids[chunk : chunk + 500])
                )
            ).all()
        )
    voided = voided_ids(db, ids)
    for row, _driver, transaction_id in candidates:
        if transaction_id in voided:
            errors.append(RowError(row.line, "row", "this session was voided by a fleet manager"))
    fresh = [c for c in candidates if c[2] not in existing and c[2] not in voided]
    already = len([c for c in candidates if c[2] in existing])
    return ImportPlan(fresh, sorted(errors, key=lambda e: e.line), already)


def run_import(db: Session, principal: Principal, text: str) -> ImportPlan:
    """Insert the good, new rows in one transaction and report what was left out and why."""
    plan = plan_import(db, principal, text)
    if file_errors := [e for e in plan.errors if e.about_the_file]:
        raise InvalidInput(f"body: {file_errors[0]}")
    for row, driver, transaction_id in plan.rows:
        db.add(
            ChargingSession(
                transaction_id=transaction_id,
                station_id=row.station_id,
                id_tag=row.provider,
                reason="imported",
                source=SessionSource.PUBLIC,
                driver_id=driver.id,
                start_utc=row.start_utc,
                end_utc=row.end_utc,
                energy_wh=row.energy_wh,
                cost=row.cost,
                currency=row.currency,
            )
        )
    db.commit()
    return plan
