"""`/api/v1/reports/portfolio`: an operator's portfolio report as JSON, CSV and PDF, and the sessions
behind any of its figures (services/portfolio_reports.py; rules: docs/reports.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from pipelet_app.api.deps import DB, Caller
from pipelet_app.api.errors import KEYED, documented
from pipelet_app.api.fleet import PG_INT_MAX
from pipelet_app.auth import Principal
from pipelet_app.clock import utcnow
from pipelet_app.reports.portfolio import report_pdf
from pipelet_app.runtime import offload
from pipelet_app.services import account
from pipelet_app.services import portfolio_reports as service
from pipelet_app.services.session import Session

router = APIRouter(prefix="/reports", tags=["reports"])

Portfolio = Annotated[str, Query(description="all, none (sites of no SPV) or spv:<id>")]
From = Annotated[str | None, Query(alias="from", description="First local day, YYYY-MM-DD")]
To = Annotated[str | None, Query(description="Local day after the last, YYYY-MM-DD (excluded)")]
Step = Annotated[str, Query(description="month or day")]
SiteId = Annotated[int | None, Query(ge=1, le=PG_INT_MAX, description="One site of the portfolio")]
ERRORS = {**KEYED, **documented(404, not_found="No such site in your tenant or portfolio")}


@dataclass(frozen=True)
class ReportQuery:
    """The query parameters every portfolio route takes, read once (the service checks their values and
    names the field it refuses)."""

    portfolio: str
    start: str | None
    end: str | None
    step: str
    site_id: int | None


def _report_query(
    portfolio: Portfolio = "all",
    from_: From = None,
    to: To = None,
    step: Step = "month",
    site_id: SiteId = None,
) -> ReportQuery:
    return ReportQuery(portfolio, from_, to, step, site_id)


Report = Annotated[ReportQuery, Depends(_report_query)]


@router.get("/portfolio", responses=ERRORS)
def portfolio_report(principal: Caller, db: DB, q: Report) -> dict:
    """Sessions, energy (kWh), revenue per currency and stored availability per period, per site and in
    total; each figure carries `sessions_link`, the sessions behind it. Days are the sites' local days
    (`hours`: 23 or 25 on DST change days)."""
    report = service.report(db, principal, q.portfolio, q.start, q.end, q.step, q.site_id)
    return service.as_dict(report, q.portfolio, service.portfolios(db, principal))


@router.get("/portfolio/sessions", responses=ERRORS)
def portfolio_sessions(
    principal: Caller,
    db: DB,
    q: Report,
    period: Annotated[
        str | None, Query(description="YYYY-MM or YYYY-MM-DD; absent = the whole range")
    ] = None,
) -> list[dict]:
    """The finished sessions a figure of the report counts (same parameters, plus its period)."""
    return service.sessions(db, principal, q.portfolio, q.start, q.end, q.step, period, q.site_id)


@router.get(
    "/portfolio.csv", responses={**ERRORS, 200: {"content": {"text/csv": {}}, "description": "As CSV"}}
)
def portfolio_csv(principal: Caller, db: DB, q: Report) -> Response:
    report = service.report(db, principal, q.portfolio, q.start, q.end, q.step, q.site_id)
    return Response(
        service.csv_text(report),
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="pipelet-portfolio-{report.start}-{report.end}.csv"'
        },
    )


@router.get("/portfolio.pdf", responses={**ERRORS, 200: {"content": {"application/pdf": {}}}})
async def portfolio_pdf(principal: Caller, db: DB, q: Report) -> Response:
    body = await offload.heavy(_pdf, db, principal, q)  # WeasyPrint
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="pipelet-portfolio.pdf"'},
    )


def _pdf(db: Session, principal: Principal, q: ReportQuery) -> bytes:
    report = service.report(db, principal, q.portfolio, q.start, q.end, q.step, q.site_id)
    names = {p["key"]: p["name"] for p in service.portfolios(db, principal)}
    return report_pdf(
        report, names[q.portfolio], account.my_tenant_name(db, principal), f"{utcnow():%Y-%m-%d %H:%M}"
    )
