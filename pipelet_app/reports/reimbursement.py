"""A driver's monthly reimbursement statement as a one-page PDF (WeasyPrint)."""

from __future__ import annotations

import html
from functools import cache
from importlib.resources import files
from string import Template

from pipelet_app.db.models import Driver, ReimbursementStatement

SOURCE_LABELS = {"ocpp-wallbox": "OCPP wallbox", "pv-inverter": "PV wallbox", "public": "Public charging"}


@cache
def _template() -> Template:
    return Template((files("pipelet_app.reports") / "templates" / "reimbursement.html").read_text("utf-8"))


def statement_html(statement: ReimbursementStatement, driver: Driver, fleet_name: str) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr><td>{esc(SOURCE_LABELS.get(line['source'], line['source']))}</td><td>{line['sessions']}</td>"
        f"<td>{esc(str(line['energy_kwh']))}</td><td>{esc(line['rate_per_kwh'] or '—')}</td>"
        f"<td>{esc(str(line['amount']))}</td></tr>"
        for line in statement.lines
    )
    approved = f", approved {statement.approved_at:%Y-%m-%d %H:%M} UTC" if statement.approved_at else ""
    return _template().substitute(
        month=esc(statement.month),
        driver_name=esc(driver.name),
        driver_email=esc(driver.email),
        fleet_name=esc(fleet_name),
        statement_id=statement.id,
        status=esc(str(statement.status)),
        currency=esc(statement.currency),
        rows=rows,
        sessions=statement.session_count,
        energy_kwh=esc(str(statement.energy_kwh)),
        total=esc(str(statement.total)),
        computed_at=f"{statement.computed_at:%Y-%m-%d %H:%M}",
        approved=esc(approved),
    )


def statement_pdf(statement: ReimbursementStatement, driver: Driver, fleet_name: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=statement_html(statement, driver, fleet_name)).write_pdf()
