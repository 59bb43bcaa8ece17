"""`POST /api/v1/payments/stripe/webhook`: Stripe's events, signature-checked (payments/webhook.py).
No API key: Stripe proves itself with the signature; the body is read at most MAX_BODY + 1 bytes."""

from __future__ import annotations

from fastapi import APIRouter, Request

from pipelet_app.api.deps import DB
from pipelet_app.api.errors import documented
from pipelet_app.payments import webhook

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
    return webhook.handle(db, event)
