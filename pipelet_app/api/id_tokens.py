"""`/api/v1/id-tokens`: an operator's RFID cards and other id tokens. Thin over `services.id_tokens`,
which checks role and tenant (another tenant's token answers 404) and audits every change."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from pipelet_app.api.audit_out import AuditOut
from pipelet_app.api.deps import DB, NO_NUL, Caller, RefId
from pipelet_app.api.errors import KEYED, ErrorBody, documented
from pipelet_app.errors import InvalidInput
from pipelet_app.services import id_tokens as service

router = APIRouter(prefix="/id-tokens", tags=["id-tokens"])
NOT_FOUND = {**KEYED, **documented(404, not_found="No such token in your tenant")}
TokenPath = Annotated[str, Path(max_length=64, pattern=NO_NUL)]
MAX_CSV_BYTES = 2 * 1024 * 1024


class TokenIn(BaseModel):
    token: str = Field(description="1-36 letters, digits or . _ : * - (starting with a letter or digit)")
    type: str = Field(
        default="ISO14443", description="OCPP IdTokenEnumType: ISO14443 (RFID card), Central, ..."
    )
    driver_id: RefId | None = Field(default=None, description="A driver of one of your fleet customers")
    expires_utc: datetime | None = Field(default=None, description="ISO 8601 with offset")
    blocked: bool = False


class TokenPatch(BaseModel):
    """Only the fields given change; `null` clears driver_id or expires_utc."""

    type: str | None = None
    driver_id: RefId | None = None
    expires_utc: datetime | None = None
    blocked: bool | None = None


class TokenOut(BaseModel):
    token: str
    type: str
    driver_id: int | None
    driver_name: str | None
    fleet_id: int | None = Field(description="The driver's fleet customer")
    expires_utc: datetime | None
    blocked: bool
    status: str = Field(description="As the CSMS answers it now: Accepted, Blocked or Expired")


class ImportRowError(BaseModel):
    row: int = Field(description="CSV line number; the header is row 1")
    field: str
    message: str
    value: str | None = Field(description="The cell as given (neutralised against spreadsheet formulas)")


class ImportOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    errors: list[ImportRowError]


@router.get("", response_model=list[TokenOut], responses=KEYED)
def list_tokens(
    principal: Caller,
    db: DB,
    driver_id: Annotated[int | None, Query(description="Only this driver's")] = None,
) -> list[dict]:
    return service.list_tokens(db, principal, driver_id)


@router.post(
    "",
    response_model=TokenOut,
    status_code=201,
    responses={**KEYED, **documented(400), 409: {"model": ErrorBody, "description": "The token is issued"}},
)
def issue_token(body: TokenIn, principal: Caller, db: DB, response: Response) -> dict:
    """Issue a token. One that exists anywhere (in any case) is refused with 409."""
    out = service.issue(db, principal, body.model_dump())
    response.headers["Location"] = f"/api/v1/id-tokens/{out['token']}"
    return out


@router.post("/import", response_model=ImportOut, responses={**KEYED, **documented(400)})
async def import_tokens(request: Request, principal: Caller, db: DB) -> dict:
    """A CSV body (`text/csv`, UTF-8) with header `token,type,driver_id,expires_utc,blocked` (only `token`
    required). Row by row: bad rows are skipped and listed with the field and reason, good rows saved;
    a token you have is updated, so importing a file twice changes nothing."""
    body = await request.body()
    if len(body) > MAX_CSV_BYTES:
        raise InvalidInput(f"body: at most {MAX_CSV_BYTES // (1024 * 1024)} MiB of CSV")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("body: the CSV must be UTF-8") from None
    return await run_in_threadpool(service.import_csv, db, principal, text)


@router.get("/{token}", response_model=TokenOut, responses=NOT_FOUND)
def get_token(token: TokenPath, principal: Caller, db: DB) -> dict:
    return service.get_token(db, principal, token)


@router.patch("/{token}", response_model=TokenOut, responses={**NOT_FOUND, **documented(400)})
def update_token(token: TokenPath, body: TokenPatch, principal: Caller, db: DB) -> dict:
    """Block or unblock it, set or clear its expiry, assign it to a driver or unassign it (audited)."""
    return service.update(db, principal, token, body.model_dump(exclude_unset=True))


@router.post("/{token}/expire", response_model=TokenOut, responses=NOT_FOUND)
def expire_token(token: TokenPath, principal: Caller, db: DB) -> dict:
    """Expire it now: chargers answer Expired from now on."""
    return service.expire_now(db, principal, token)


@router.delete("/{token}", status_code=204, responses=NOT_FOUND)
def delete_token(token: TokenPath, principal: Caller, db: DB) -> Response:
    """Remove the token (its sessions keep their id tag; the audit trail keeps what it was)."""
    service.delete(db, principal, token)
    return Response(status_code=204)


@router.get("/{token}/history", response_model=list[AuditOut], responses=NOT_FOUND)
def token_history(token: TokenPath, principal: Caller, db: DB) -> list[dict]:
    return service.history(db, principal, token)
