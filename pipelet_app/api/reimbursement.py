"""`/api/v1/fleet/reimbursement` and `/api/v1/fleet/imports`: rates, statements, public-session CSV."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from pipelet_app.api.deps import DB, Caller, TextId
from pipelet_app.api.errors import KEYED, documented
from pipelet_app.api.fleet import PG_INT_MAX
from pipelet_app.auth import InvalidInput, Principal
from pipelet_app.fleet import reimbursement
from pipelet_app.fleet.public_import import ImportPlan, run_import
from pipelet_app.fleet.reimbursement import ReimbursementStatement
from pipelet_app.fleet.voids import restore_session, void_session
from pipelet_app.reports.reimbursement import statement_pdf
from pipelet_app.runtime import offload
from pipelet_app.services.session import Session

router = APIRouter(prefix="/fleet", tags=["reimbursement"])
ERRORS = {**KEYED, **documented(404, not_found="statement_id is not a statement of your fleet")}
Month = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM (UTC)")]
Source = Annotated[str, Path(pattern="^(ocpp-wallbox|pv-inverter|public)$")]
MAX_IMPORT_BYTES = 20_000_000


class Rates(BaseModel):
    rates: dict[str, Decimal | None] = Field(description="Currency per kWh by source; null = not reimbursed")


class RateIn(BaseModel):
    rate_per_kwh: Decimal | None = Field(ge=0, le=100)


class Line(BaseModel):
    source: str
    sessions: int
    energy_kwh: Decimal
    rate_per_kwh: Decimal | None
    amount: Decimal


class StatementOut(BaseModel):
    id: int
    driver_id: int
    month: str
    status: str
    lines: list[Line]
    energy_kwh: Decimal
    total: Decimal
    currency: str
    session_count: int


def _out(s: ReimbursementStatement) -> StatementOut:
    return StatementOut(
        id=s.id or 0,
        driver_id=s.driver_id,
        month=s.month,
        status=str(s.status),
        lines=[Line(**x) for x in s.lines],
        energy_kwh=s.energy_kwh,
        total=s.total,
        currency=s.currency,
        session_count=s.session_count,
    )


@router.get("/reimbursement/rates", response_model=Rates, responses=ERRORS)
def get_rates(principal: Caller, db: DB) -> Rates:
    return Rates(rates=reimbursement.get_rates(db, principal))


@router.put("/reimbursement/rates/{source}", response_model=Rates, responses={**ERRORS, **documented(400)})
def put_rate(source: Source, body: RateIn, principal: Caller, db: DB) -> Rates:
    reimbursement.set_rates(db, principal, {source: body.rate_per_kwh})
    return Rates(rates=reimbursement.get_rates(db, principal))


@router.post("/reimbursement/statements", response_model=list[StatementOut], responses=ERRORS)
def compute_drafts(month: Month, principal: Caller, db: DB) -> list[StatementOut]:
    """Recompute every driver's draft for the month; approved and exported statements are kept."""
    return [_out(s) for s in reimbursement.draft_statements(db, principal, month)]


@router.post(
    "/reimbursement/statements/{statement_id}/approve", response_model=StatementOut, responses=ERRORS
)
def approve(
    statement_id: Annotated[int, Path(ge=1, le=PG_INT_MAX)], principal: Caller, db: DB
) -> StatementOut:
    return _out(reimbursement.approve(db, principal, statement_id))


@router.post(
    "/reimbursement/statements/{statement_id}/reopen",
    response_model=StatementOut,
    responses={**ERRORS, **documented(409)},
)
def reopen(
    statement_id: Annotated[int, Path(ge=1, le=PG_INT_MAX)], principal: Caller, db: DB
) -> StatementOut:
    """Withdraw an approval: the statement is a draft again (audited). 409 once it is exported (the payroll
    file has left; a correction is next month's) or when it is not approved."""
    return _out(reimbursement.reopen(db, principal, statement_id))


@router.get(
    "/reimbursement/statements/{statement_id}.pdf",
    responses={**ERRORS, 200: {"content": {"application/pdf": {}}}},
)
async def pdf(statement_id: Annotated[int, Path(ge=1, le=PG_INT_MAX)], principal: Caller, db: DB) -> Response:
    name, body = await offload.heavy(_statement_pdf, db, principal, statement_id)  # a WeasyPrint render
    return Response(
        body, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'}
    )


def _statement_pdf(db: Session, principal: Principal, statement_id: int) -> tuple[str, bytes]:
    view = reimbursement.statement_view(db, principal, statement_id)
    body = statement_pdf(view["statement"], view["driver"], view["fleet_name"])
    return f"reimbursement-{view['statement'].month}-{view['driver'].id}.pdf", body


@router.post(
    "/reimbursement/export",
    responses={
        **ERRORS,
        200: {"content": {"text/csv": {}}, "description": "Approved statements; now exported"},
    },
)
def export(month: Month, principal: Caller, db: DB) -> Response:
    return Response(reimbursement.export_csv(db, principal, month), media_type="text/csv")


class ImportResult(BaseModel):
    imported: int
    already_imported: int
    errors: list[str] = Field(description="`line N, column: problem` for every row left out")


@router.post(
    "/imports/public-sessions",
    response_model=ImportResult,
    responses=ERRORS,
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_public_sessions(request: Request, principal: Caller, db: DB) -> ImportResult:
    """Body: the CSV file (columns documented in docs/public-sessions-csv.md). Good rows are imported.

    Reading the body is the only part on the event loop (and stops at the limit); decoding, parsing and
    the inserts run on the heavy lane, so a 20 MB file does not hold up anyone else's request.
    """
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_IMPORT_BYTES:
            raise InvalidInput("body: larger than 20 MB; split the file")
    plan = await offload.heavy(_import, db, principal, bytes(raw))
    return ImportResult(
        imported=len(plan.rows), already_imported=plan.already_imported, errors=[str(e) for e in plan.errors]
    )


def _import(db: Session, principal: Principal, raw: bytes) -> ImportPlan:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return run_import(db, principal, text)


class VoidIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="Why the session is void (audited)")


class VoidOut(BaseModel):
    transaction_id: str
    voided_at: datetime
    reason: str


@router.post(
    "/sessions/{transaction_id}/void",
    response_model=VoidOut,
    responses={**KEYED, **documented(400, 404, not_found="transaction_id is not a session of your fleet")},
)
def void_imported_session(
    transaction_id: TextId,
    body: VoidIn,
    principal: Caller,
    db: DB,
) -> VoidOut:
    """Take a wrong imported (public) session out of every list, export and draft reimbursement.

    The void is recorded with who, when, why and the session as it was; importing the row again skips it.
    """
    record = void_session(db, principal, transaction_id, body.reason)
    return VoidOut(transaction_id=record.transaction_id, voided_at=record.voided_at, reason=record.reason)


class RestoredOut(BaseModel):
    transaction_id: str
    source: str
    driver_id: int | None
    energy_wh: float | None


@router.post(
    "/sessions/{transaction_id}/restore",
    response_model=RestoredOut,
    responses={
        **KEYED,
        **documented(404, 409, not_found="transaction_id is not a voided session of your fleet"),
    },
)
def restore_voided_session(transaction_id: TextId, principal: Caller, db: DB) -> RestoredOut:
    """Undo a void: the session comes back exactly as it was (same id), audited as `session.restored`.
    409 when a session with that transaction id exists again (imported anew after the void)."""
    session = restore_session(db, principal, transaction_id)
    return RestoredOut(
        transaction_id=session.transaction_id,
        source=str(session.source),
        driver_id=session.driver_id,
        energy_wh=session.energy_wh,
    )
