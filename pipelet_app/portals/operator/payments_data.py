"""What the operator's payments page (`/operator/payments`) shows: the payment list with its next steps
(payments.console), refunds, revenue with energy cost by site and its drill-down (services.revenue),
worded for the page. Role and tenant are checked in those services on every call, not here."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pipelet_app.auth import InvalidInput, Principal
from pipelet_app.i18n.catalogue import translate
from pipelet_app.i18n.formatting import current_locale, money, when
from pipelet_app.payments import console
from pipelet_app.services import revenue as revenue_service
from pipelet_app.services.session import Session

FILTERS = ("state", "provider", "charger")


def _amount(value: str | None, currency: str) -> str:
    return "" if value is None else money(Decimal(value), currency)


def _next_step(row: dict[str, Any]) -> str:
    """The payment's next step in the page's language (the API answers the English, console.NEXT_STEP)."""
    code = console.next_step_code(row["state"], row["refunded"] is not None, row["stuck"], row["provider"])
    return translate(f"payments.step.{code}", current_locale())


def payments(db: Session, principal: Principal, filters: dict[str, str]) -> list[dict[str, str]]:
    rows = console.list_payments(
        db, principal, filters.get("state", ""), filters.get("provider", ""), filters.get("charger", "")
    )
    out = []
    for row in rows:
        currency = row["currency"]
        held, taken = _amount(row["authorized"], currency), _amount(row["captured"], currency)
        refundable = (
            (row["provider"] == "stripe" and row["state"] == "captured" and row["refunded"] is None)
            and bool(row["captured"])
            and Decimal(row["captured"]) > 0
        )
        out.append(
            {
                "id": str(row["id"]),
                "when": when(row["created_utc"], zone=False),
                "charger": f"{row['charge_point_id']} / {row['connector_id']}",
                "state": row["state"],  # a code the page words through the catalogue (`payment_state.*`)
                "stuck": "yes" if row["stuck"] else "",
                "provider": row["provider"],
                "amounts": f"{held} / {taken or '-'}",
                "note": row["note"],
                "next_step": _next_step(row),
                "refundable": "yes" if refundable else "",
            }
        )
    return out


def refund(db: Session, principal: Principal, payment_id: int) -> dict[str, Any]:
    """The whole captured amount back to the card (once; payments.console checks role and tenant)."""
    return console.refund(db, principal, payment_id, None)


def revenue(db: Session, principal: Principal) -> list[dict[str, str]]:
    totals = revenue_service.as_rows(revenue_service.revenue(db, principal, "site", None, None), "site")
    return [
        {
            "site": row["site"],
            "currency": row["currency"],
            "sessions": str(row["sessions"]),
            "energy": row["energy_kwh"],
            "revenue": money(Decimal(row["revenue"]), row["currency"]),
            "collected": money(Decimal(row["collected"]), row["currency"]),
            "energy_cost": money(Decimal(row["energy_cost"]), row["currency"]),
            "margin": money(Decimal(row["margin"]), row["currency"]),
            "complete": "yes" if row["energy_cost_complete"] else "",
        }
        for row in totals
    ]


def sessions(db: Session, principal: Principal, site: str, currency: str) -> list[dict[str, str]]:
    rows = revenue_service.drill_down(db, principal, "site", site, currency, None, None)
    return [
        {
            "transaction": r["transaction_id"],
            "charger": r["charger"],
            "month": r["month"],
            "energy": r["energy_kwh"],
            "price": _amount(r["price"], currency),
            "collected": _amount(r["collected"], currency),
            "energy_cost": _amount(r["energy_cost"], currency),
        }
        for r in rows
    ]


def set_energy_price(db: Session, principal: Principal, site_id: str, value: str) -> dict[str, Any]:
    if not site_id.isdigit():
        raise InvalidInput("site_id: choose a site")
    return revenue_service.set_energy_price(db, principal, int(site_id), value.strip() or None)
