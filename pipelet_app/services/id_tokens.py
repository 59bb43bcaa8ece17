"""An operator's id tokens (RFID cards and other OCPP id tokens): issue, list, block, expire, assign to a
driver of one of its fleet customers, delete, and import many from CSV.

Rules:
- A token is 1-36 letters, digits or `. _ : * -`, starting with a letter or digit (OCPP 2.0.1
  IdToken is at most 36 characters; 1.6 chargers take at most 20). So a token never starts a
  spreadsheet formula.
- Tokens are compared case-insensitively, as OCPP does: `acme0001` is `ACME0001`. A token that exists
  in any tenant cannot be issued again (409, without saying whose it is).
- Another tenant's token reads as missing (404); a driver must belong to one of the caller's fleet
  customers (`services.fleet_customers`).
- The CSV import is row by row: a bad row is skipped with its row number, the field and the reason; good
  rows are saved; a row for a token the caller already has updates the fields whose cells are not empty
  (idempotent: the same file twice changes nothing). Values echoed in errors pass through
  `domain.csv_cells`, so an error report opened in a spreadsheet runs no formula. Every change is
  audited on the token.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from pipelet_app import audit
from pipelet_app.auth import InvalidInput, NotFound, Principal, require
from pipelet_app.clock import utcnow
from pipelet_app.db.models import Driver, IdToken, IdTokenStatus, Role
from pipelet_app.domain import csv_cells
from pipelet_app.errors import Conflict
from pipelet_app.services.fleet_customers import own_customer

TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:*-]{0,35}$")
TYPES = ("ISO14443", "ISO15693", "Central", "eMAID", "KeyCode", "Local", "MacAddress")
CSV_COLUMNS = ("token", "type", "driver_id", "expires_utc", "blocked")
MAX_ROWS = 10_000
TRUE = {"true", "1", "yes", "y"}
FALSE = {"false", "0", "no", "n"}


def _check_token(token: Any) -> str:
    if not isinstance(token, str) or not TOKEN.match(token):
        raise InvalidInput("token: 1-36 letters, digits or . _ : * - (starting with a letter or digit)")
    return token


def _check_type(value: Any) -> str:
    if value not in TYPES:
        raise InvalidInput(f"type: one of {', '.join(TYPES)}")
    return str(value)


def _check_expiry(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput("expires_utc: ISO 8601 with an offset, e.g. 2027-01-31T00:00:00Z") from None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput("expires_utc: give a UTC offset (Z or +hh:mm)")
    return value.astimezone(UTC)


def _check_driver(db: Session, principal: Principal, driver_id: Any) -> int | None:
    if driver_id is None or driver_id == "":
        return None
    try:
        number = int(driver_id)
    except (TypeError, ValueError):
        raise InvalidInput("driver_id: a number") from None
    driver = db.get(Driver, number)
    try:
        if driver is None:
            raise NotFound("Not found.")
        own_customer(db, principal, driver.fleet_id)
    except NotFound:
        raise InvalidInput(f"driver_id: no driver {number} among your fleet customers") from None
    return number


def _find_any(db: Session, token: str) -> list[IdToken]:
    return list(db.exec(select(IdToken).where(func.upper(IdToken.token) == token.upper())).all())


def _own(db: Session, principal: Principal, token: str) -> IdToken:
    require(principal, Role.OPERATOR)
    for row in _find_any(db, token):
        if row.tenant_id == principal.tenant_id:
            return row
    raise NotFound("Not found.")


def token_out(row: IdToken, drivers: Mapping[int, Driver] | None = None, now: datetime | None = None) -> dict:
    now = now or utcnow()
    status = IdTokenStatus(row.status)
    if status == IdTokenStatus.ACCEPTED and row.expires_at is not None and row.expires_at <= now:
        status = IdTokenStatus.EXPIRED
    driver = (drivers or {}).get(row.driver_id) if row.driver_id is not None else None
    return {
        "token": row.token,
        "type": row.type,
        "driver_id": row.driver_id,
        "driver_name": driver.name if driver else None,
        "fleet_id": driver.fleet_id if driver else None,
        "expires_utc": row.expires_at,
        "blocked": row.status == IdTokenStatus.BLOCKED,
        "status": status.value,
    }


def _snapshot(row: IdToken) -> dict[str, Any]:
    return {
        "type": row.type,
        "driver_id": row.driver_id,
        "expires_utc": row.expires_at,
        "blocked": row.status == IdTokenStatus.BLOCKED,
    }


def _apply(row: IdToken, values: Mapping[str, Any]) -> None:
    if "type" in values:
        row.type = values["type"]
    if "driver_id" in values:
        row.driver_id = values["driver_id"]
    if "expires_utc" in values:
        row.expires_at = values["expires_utc"]
    if "blocked" in values:
        row.status = IdTokenStatus.BLOCKED if values["blocked"] else IdTokenStatus.ACCEPTED


def _clean(db: Session, principal: Principal, values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "type" in values:
        out["type"] = _check_type(values["type"])
    if "driver_id" in values:
        out["driver_id"] = _check_driver(db, principal, values["driver_id"])
    if "expires_utc" in values:
        out["expires_utc"] = _check_expiry(values["expires_utc"])
    if "blocked" in values:
        if not isinstance(values["blocked"], bool):
            raise InvalidInput("blocked: true or false")
        out["blocked"] = values["blocked"]
    return out


def _drivers_of(db: Session, rows: list[IdToken]) -> dict[int, Driver]:
    ids = sorted({r.driver_id for r in rows if r.driver_id is not None})
    if not ids:
        return {}
    return {d.id: d for d in db.exec(select(Driver).where(col(Driver.id).in_(ids))).all()}  # type: ignore[misc]


def issue(db: Session, principal: Principal, values: Mapping[str, Any]) -> dict[str, Any]:
    require(principal, Role.OPERATOR)
    if principal.tenant_id is None:
        raise NotFound("Not found.")
    token = _check_token(values.get("token"))
    clean = _clean(db, principal, {"type": TYPES[0], **{k: v for k, v in values.items() if k != "token"}})
    if _find_any(db, token):
        raise Conflict("token: already issued")
    row = IdToken(tenant_id=principal.tenant_id, token=token)
    _apply(row, clean)
    db.add(row)
    db.flush()
    audit.record(db, principal, "IdTokenIssued", "id_token", token, audit.diff({}, _snapshot(row)))
    db.commit()
    return token_out(row, _drivers_of(db, [row]))


def list_tokens(db: Session, principal: Principal, driver_id: int | None = None) -> list[dict[str, Any]]:
    require(principal, Role.OPERATOR)
    query = select(IdToken).where(IdToken.tenant_id == principal.tenant_id)
    if driver_id is not None:
        query = query.where(IdToken.driver_id == driver_id)
    rows = list(db.exec(query.order_by(col(IdToken.token))).all())
    drivers = _drivers_of(db, rows)
    now = utcnow()
    return [token_out(r, drivers, now) for r in rows]


def get_token(db: Session, principal: Principal, token: str) -> dict[str, Any]:
    row = _own(db, principal, token)
    return token_out(row, _drivers_of(db, [row]))


def update(db: Session, principal: Principal, token: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Block or unblock, set or clear the expiry, (re)assign or unassign the driver, change the type."""
    row = _own(db, principal, token)
    clean = _clean(db, principal, values)
    before = _snapshot(row)
    _apply(row, clean)
    if changes := audit.diff(before, _snapshot(row)):
        db.add(row)
        audit.record(db, principal, "IdTokenUpdated", "id_token", row.token, changes)
        db.commit()
    return token_out(row, _drivers_of(db, [row]))


def expire_now(db: Session, principal: Principal, token: str) -> dict[str, Any]:
    return update(db, principal, token, {"expires_utc": utcnow()})


def delete(db: Session, principal: Principal, token: str) -> None:
    row = _own(db, principal, token)
    audit.record(db, principal, "IdTokenDeleted", "id_token", row.token, audit.diff(_snapshot(row), {}))
    db.delete(row)
    db.commit()


def history(db: Session, principal: Principal, token: str) -> list[dict[str, Any]]:
    row = _own(db, principal, token)
    return audit.history(db, principal.tenant_id, "id_token", row.token)


# ------------------------------------------------------------------------------------ CSV import


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error(self, row: int, field_name: str, message: str, value: Any = None) -> None:
        self.errors.append(
            {"row": row, "field": field_name, "message": message, "value": csv_cells.cell(value)}
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.errors,
        }


def _csv_row(db: Session, principal: Principal, raw: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(token, clean values) of one CSV row; raises InvalidInput naming the field. An empty cell is left
    out: a new token takes the default, a token you have keeps its value."""
    token = _check_token((raw.get("token") or "").strip())
    values: dict[str, Any] = {}
    for name in ("type", "driver_id", "expires_utc"):
        if cell := (raw.get(name) or "").strip():
            values[name] = cell
    if blocked := (raw.get("blocked") or "").strip().lower():
        if blocked not in TRUE | FALSE:
            raise InvalidInput("blocked: true or false (or empty)")
        values["blocked"] = blocked in TRUE
    return token, _clean(db, principal, values)


def import_csv(db: Session, principal: Principal, text: str) -> dict[str, Any]:
    """Header `token,type,driver_id,expires_utc,blocked` (only `token` required; row numbers count the
    header as row 1). Each row is applied whole or skipped with its reason; one commit at the end."""
    require(principal, Role.OPERATOR)
    if principal.tenant_id is None:
        raise NotFound("Not found.")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if "token" not in header:
        raise InvalidInput("token: the CSV needs a header row with a `token` column")
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise InvalidInput(f"{unknown[0]}: unknown column (known: {', '.join(CSV_COLUMNS)})")
    reader.fieldnames = header
    result = ImportResult()
    seen: dict[str, int] = {}
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            result.error(number, "token", f"more than {MAX_ROWS} rows; the rest was not read")
            break
        if None in raw:  # more cells than columns
            result.error(number, "token", "more cells than the header has columns")
            continue
        try:
            token, values = _csv_row(db, principal, raw)
        except InvalidInput as exc:
            name = exc.message.split(":", 1)[0]
            result.error(number, name, exc.message.split(":", 1)[-1].strip(), raw.get(name))
            continue
        key = token.upper()
        if key in seen:
            result.error(number, "token", f"appears twice (first on row {seen[key]})", token)
            continue
        seen[key] = number
        existing = _find_any(db, token)
        own = [r for r in existing if r.tenant_id == principal.tenant_id]
        if existing and not own:
            result.error(number, "token", "already issued", token)
            continue
        if own:
            row = own[0]
            before = _snapshot(row)
            _apply(row, values)
            changes = audit.diff(before, _snapshot(row))
            if not changes:
                result.unchanged += 1
                continue
            db.add(row)
            audit.record(db, principal, "IdTokenImported", "id_token", row.token, changes)
            result.updated += 1
        else:
            row = IdToken(tenant_id=principal.tenant_id, token=token, type=TYPES[0])
            _apply(row, values)
            db.add(row)
            audit.record(db, principal, "IdTokenImported", "id_token", token, audit.diff({}, _snapshot(row)))
            result.created += 1
        db.flush()
    db.commit()
    return result.as_dict()
