"""What the portfolio report page (`/operator/reports`) shows: services.portfolio_reports' report and
drill-down, worded for the page (numbers in the reader's locale). Role and tenant are checked there."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pipelet_app.auth import Principal
from pipelet_app.domain import portfolio as rules
from pipelet_app.i18n.catalogue import translate
from pipelet_app.i18n.formatting import current_locale, kwh, money, number, when
from pipelet_app.services import portfolio_reports as service
from pipelet_app.services.session import Session

API = "/api/v1/reports/portfolio"


def _hours(value: float) -> str:
    """A day's hours (23/24/25 on DST days) whole, anything else to a tenth, in the page language."""
    return f"{number(value, 0 if value.is_integer() else 1)} h"


def _query(params: dict[str, str]) -> str:
    keep = {k: v for k, v in params.items() if v}
    return "&".join(f"{k}={v}" for k, v in keep.items())


def _revenue(amounts: dict[str, str]) -> str:
    return ", ".join(money(Decimal(v), cur) for cur, v in amounts.items()) or "—"


# The two portfolios that are not an SPV have names of ours (the service's are English: the API's, CSV's)
_OUR_NAMES = {rules.ALL: "reports.portfolio_all", rules.NO_SPV: "reports.portfolio_none"}


def _named(portfolio: dict[str, str]) -> dict[str, str]:
    """A portfolio choice in the reader's language (an SPV keeps its own name)."""
    key = _OUR_NAMES.get(portfolio["key"])
    return {**portfolio, "name": translate(key, current_locale())} if key else portfolio


def _availability(uptime: dict[str, Any] | None) -> str:
    if not uptime or uptime["availability_percent"] is None:
        return "—"
    return f"{number(uptime['availability_percent'], 2)} %"


def _row(row: dict[str, Any], name: str = "", site_id: str = "") -> dict[str, str]:
    return {
        "period": row.get("period", ""),
        "hours": "" if row.get("hours") is None else _hours(float(row["hours"])),
        "name": name,
        "site_id": site_id,
        "sessions": str(row["sessions"]),
        "energy": number(float(row["energy_kwh"]), 1),
        "revenue": _revenue(row["revenue"]),
        "availability": _availability(row["uptime"]),
    }


def report_view(db: Session, principal: Principal, params: dict[str, str]) -> dict[str, Any]:
    site = params.get("site_id") or ""
    report = service.report(
        db,
        principal,
        params.get("portfolio") or "all",
        params.get("from") or None,
        params.get("to") or None,
        params.get("step") or "month",
        int(site) if site.isdigit() else None,
    )
    portfolio = params.get("portfolio") or "all"
    body = service.as_dict(report, portfolio, service.portfolios(db, principal))
    query = _query(
        {
            "portfolio": portfolio,
            "from": body["from"],
            "to": body["to"],
            "step": body["step"],
            "site_id": site,
        }
    )
    return {
        "portfolios": [_named(p) for p in body["portfolios"]],
        "params": {
            "portfolio": portfolio,
            "from": body["from"],
            "to": body["to"],
            "step": body["step"],
            "site_id": site,
        },
        "title": _named(body["portfolio"])["name"]
        + (f" · {body['sites'][0]['name']}" if site and body["sites"] else ""),
        "periods": [_row(p) for p in body["periods"]],
        "totals": _row({**body["totals"], "period": ""}),
        "sites": [_row({**s, "period": ""}, s["name"], str(s["site_id"])) for s in body["sites"]],
        "chart": [
            {"period": p["period"], "kwh": float(p["energy_kwh"]), "sessions": p["sessions"]}
            for p in body["periods"]
        ],
        "csv": f"{API}.csv?{query}",
        "pdf": f"{API}.pdf?{query}",
    }


def sessions_view(
    db: Session, principal: Principal, params: dict[str, str], period: str, site_id: str
) -> list[dict[str, str]]:
    site = site_id or params.get("site_id") or ""
    rows = service.sessions(
        db,
        principal,
        params.get("portfolio") or "all",
        params.get("from") or None,
        params.get("to") or None,
        params.get("step") or "month",
        period or None,
        int(site) if site.isdigit() else None,
    )
    return [
        {
            "transaction_id": r["transaction_id"],
            "site": r["site"],
            "charger": r["charge_point_id"],
            "end": when(r["end_utc"]),
            "local_day": r["local_day"],
            "energy": kwh(r["energy_wh"]),
            "cost": "—" if r["cost"] is None else money(Decimal(r["cost"]), r["currency"]),
        }
        for r in rows[:500]
    ]
