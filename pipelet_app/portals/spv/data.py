"""The sponsor's SPV console as display rows; the queries and rules are `tax.console`'s."""

from __future__ import annotations

from datetime import date

from pipelet_app.auth import Principal
from pipelet_app.domain.tax.compliance import Phase
from pipelet_app.i18n.formatting import day, when
from pipelet_app.services.session import Session
from pipelet_app.tax import console


def spv_console(
    db: Session, principal: Principal, today: date | None = None
) -> dict[str, list[dict[str, str]]]:
    """Everything on /operator/spvs, as display rows."""
    out: dict[str, list[dict[str, str]]] = {"spvs": [], "steps": [], "alerts": [], "years": [], "audit": []}
    for state in console.spv_console(db, principal, today):
        spv, phase = state.spv, state.phase
        out["spvs"].append(
            {
                "id": str(spv.id),
                "name": spv.name,
                "phase": phase.name.title(),
                "next": Phase(phase + 1).name.title() if phase < Phase.EXIT else "",
            }
        )
        for step in state.steps:
            out["steps"].append(
                {
                    "spv": spv.name,
                    "phase": step.phase.name.title(),
                    "title": step.title,
                    "owner": step.owner,
                    "due": day(step.due),
                    "done": day(step.done_on) if step.done_on else "",
                }
            )
        for year in state.years:
            out["years"].append(
                {
                    "spv_id": str(spv.id),
                    "spv": spv.name,
                    "year": str(year.tax_year),
                    "status": year.status,
                    "violations": "; ".join(year.violations) or "—",
                }
            )
        out["alerts"].extend(
            {
                "spv": spv.name,
                "severity": a.severity.value,
                "title": a.title,
                "owner": a.owner,
                "due": day(a.due),
                "message": a.message,
            }
            for a in state.alerts
        )
        for event in state.events:
            out["audit"].append(
                {
                    "spv": spv.name,
                    "year": str(event.tax_year),
                    "change": f"{event.from_status} → {event.to_status}",
                    "actor": event.actor,
                    "at": when(event.at),
                    "note": event.note,
                }
            )
    return out
