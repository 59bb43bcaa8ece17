"""Payments: Stripe's webhook (no API key: Stripe proves itself with the signature, payments/webhook.py;
the body is read at most MAX_BODY + 1 bytes), a site's QR sheet, and the operator's revenue."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from pipelet_app.api.deps import DB, Caller, ObjectId, RefId
from pipelet_app.api.errors import KEYED, documented
from pipelet_app.auth import InvalidInput
from pipelet_app.domain import csv_cells
from pipelet_app.payments import console, flow, qr, terminal, webhook
from pipelet_app.services import revenue as revenue_service

router = APIRouter(tags=["payments"])


@router.post(
    "/payments/stripe/webhook", responses={**documented(400), 413: {"description": "Body above 64 KiB"}}
)
async def stripe_webhook(request: Request, db: DB) -> dict:
    """Apply a Stripe event once: 400 on a bad or stale signature, 413 above 64 KiB, 200 otherwise
    (also for an event already handled, which changes nothing)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > webhook.MAX_BODY:
        raise webhook.WebhookTooLarge(f"body: larger than {webhook.MAX_BODY} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > webhook.MAX_BODY:
            raise webhook.WebhookTooLarge(f"body: larger than {webhook.MAX_BODY} bytes")
    event = webhook.verify(body, request.headers.get("stripe-signature"))
    outcome = webhook.handle(db, event)
    payment_id = outcome.pop("start", None)
    if payment_id is not None:  # this event authorised a payment (the page's check did not): start it
        await flow.start(payment_id)
    return outcome


@router.get(
    "/sites/{site_id}/pay-qr",
    # The sheet is HTML; errors stay JSON like every other route (a `response_class` would document them
    # as HTML too).
    responses={
        **KEYED,
        **documented(404, not_found="No such site in your tenant"),
        200: {"content": {"text/html": {}}, "description": "The printable sheet"},
    },
)
def pay_qr_sheet(site_id: ObjectId, principal: Caller, db: DB) -> HTMLResponse:
    """A printable page of QR codes, one per connector of the site's priced chargers; each opens that
    connector's public pay page."""
    return HTMLResponse(qr.site_sheet(db, principal, site_id))


def _when(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name}: an ISO 8601 date-time such as 2026-12-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{name}: give a zone (Z or an offset)")
    return moment


@router.get("/revenue", responses=KEYED)
def revenue(
    principal: Caller,
    db: DB,
    by: Annotated[str, Query(description="site, month or charger")] = "site",
    from_: Annotated[str | None, Query(alias="from", description="Sessions ending at or after")] = None,
    to: Annotated[str | None, Query(description="Sessions ending before")] = None,
) -> dict:
    """Revenue of the caller's chargers: per group and currency, sessions, kWh, `revenue` (final prices),
    `collected` (captured from cards), `shortfall` (price above a card's hold); amounts as strings."""
    totals = revenue_service.revenue(db, principal, by, _when(from_, "from"), _when(to, "to"))
    return {"by": by, "rows": revenue_service.as_rows(totals, by)}


@router.get("/revenue.csv", responses={**KEYED, 200: {"content": {"text/csv": {}}, "description": "As CSV"}})
def revenue_csv(
    principal: Caller,
    db: DB,
    by: Annotated[str, Query(description="site, month or charger")] = "site",
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: Annotated[str | None, Query()] = None,
) -> Response:
    totals = revenue_service.revenue(db, principal, by, _when(from_, "from"), _when(to, "to"))
    rows = revenue_service.as_rows(totals, by)
    buffer = io.StringIO()
    columns = [by, "currency", "sessions", "energy_kwh", "revenue", "collected", "shortfall"]
    columns += ["energy_cost", "margin", "energy_cost_complete"]
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(csv_cells.record(row))
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="pipelet-revenue.csv"'},
    )


@router.get("/revenue/sessions", responses=KEYED)
def revenue_sessions(
    principal: Caller,
    db: DB,
    key: Annotated[str, Query(description="The group's key as in /revenue: a site name, YYYY-MM or charger")],
    currency: Annotated[str, Query(description="The group's currency")],
    by: Annotated[str, Query(description="site, month or charger")] = "site",
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: Annotated[str | None, Query()] = None,
) -> list[dict]:
    """The finished sessions behind one revenue figure (drill-down), newest first."""
    return revenue_service.drill_down(db, principal, by, key, currency, _when(from_, "from"), _when(to, "to"))


class EnergyPriceIn(BaseModel):
    per_kwh: str | None = Field(description="Decimal string in the site's currency; null forgets it")


@router.put(
    "/sites/{site_id}/energy-price",
    responses={**KEYED, **documented(400, 404, not_found="No such site in your tenant")},
)
def site_energy_price(site_id: ObjectId, body: EnergyPriceIn, principal: Caller, db: DB) -> dict:
    """What a kWh delivered at the site costs the operator: revenue reports show energy cost and margin."""
    return revenue_service.set_energy_price(db, principal, site_id, body.per_kwh)


@router.get("/payments", responses=KEYED)
def list_payments(
    principal: Caller,
    db: DB,
    state: Annotated[str, Query(description="pending, authorized, captured, cancelled or failed")] = "",
    provider: Annotated[str, Query(description="stripe or payter")] = "",
    charge_point_id: Annotated[str, Query(description="part of the charger's id")] = "",
) -> list[dict]:
    """The latest 200 payments at the caller's chargers, each with its state and the next step."""
    return console.list_payments(db, principal, state, provider, charge_point_id)


class RefundIn(BaseModel):
    amount: str | None = Field(default=None, description="Decimal string; absent = all that was captured")


@router.post(
    "/payments/{payment_id}/refund",
    responses={**KEYED, **documented(400, 404, not_found="No such payment at your chargers")},
)
def refund(payment_id: ObjectId, body: RefundIn, principal: Caller, db: DB) -> dict:
    """Refund a captured payment (once; part or all)."""
    return console.refund(db, principal, payment_id, body.amount)


class TerminalAuthorizedIn(BaseModel):
    charge_point_id: str
    connector_id: RefId
    psp_ref: str = Field(description="The terminal's payment reference; the charger's id tag for the session")
    amount: str = Field(description="The amount the terminal pre-authorised, decimal string")


@router.post(
    "/payments/terminal",
    responses={**KEYED, **documented(400, 404, not_found="No such charger in your tenant")},
)
def terminal_authorized(body: TerminalAuthorizedIn, principal: Caller, db: DB) -> dict:
    """A Payter terminal pre-authorised a card at a connector (its integration reports it): the payment
    and a one-time id token (type DirectPayment, the psp_ref) the charger then starts with. Idempotent."""
    return terminal.authorized(
        db, principal, body.charge_point_id, body.connector_id, body.psp_ref, body.amount
    )


class TerminalSettlementIn(BaseModel):
    """OCPP 2.1 NotifySettlement's fields, as the terminal's integration reports them."""

    psp_ref: str
    status: str = Field(description="Settled, Canceled, Rejected or Failed")
    settlement_amount: str = Field(description="Decimal string: what was settled, or attempted")
    settlement_time: str | None = None
    status_info: str | None = None
    receipt_url: str | None = None


@router.post(
    "/payments/terminal/settlement",
    responses={**KEYED, **documented(400, 404, not_found="No terminal payment with this psp_ref")},
)
def terminal_settlement(body: TerminalSettlementIn, principal: Caller, db: DB) -> dict:
    """The terminal settled (or failed to): Settled captures in the ledger, Canceled cancels; once."""
    return terminal.settled(db, principal, body.model_dump())
