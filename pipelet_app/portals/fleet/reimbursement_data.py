"""What the reimbursement and import pages show; thin over pipelet_app.fleet."""

from __future__ import annotations

from pipelet_app.auth import Principal
from pipelet_app.fleet import reimbursement
from pipelet_app.fleet.public_import import plan_import, run_import
from pipelet_app.i18n.formatting import kwh, money, number, when
from pipelet_app.services.session import Session


def rates_view(db: Session, principal: Principal) -> dict[str, str]:
    return {
        source: reimbursement.rate_text(rate)
        for source, rate in reimbursement.get_rates(db, principal).items()
    }


def save_rates(db: Session, principal: Principal, form: dict[str, str]) -> dict[str, str]:
    reimbursement.set_rates(
        db, principal, {s: form.get(s, "") for s in ("ocpp-wallbox", "pv-inverter", "public")}
    )
    return rates_view(db, principal)


def statements_view(db: Session, principal: Principal, month: str) -> list[dict[str, str]]:
    statements = reimbursement.draft_statements(db, principal, month)
    names = reimbursement.driver_names(db, principal)
    return [
        {
            "id": str(s.id),
            "driver": names.get(s.driver_id, "?"),
            "sessions": str(s.session_count),
            "energy_kwh": number(s.energy_kwh, 1),
            "total": money(s.total, s.currency),
            "status": str(s.status),
        }
        for s in statements
    ]


def approve(db: Session, principal: Principal, statement_id: str, month: str) -> list[dict[str, str]]:
    reimbursement.approve(db, principal, int(statement_id))
    return statements_view(db, principal, month)


def reopen(db: Session, principal: Principal, statement_id: str, month: str) -> list[dict[str, str]]:
    reimbursement.reopen(db, principal, int(statement_id))
    return statements_view(db, principal, month)


def export(db: Session, principal: Principal, month: str) -> str:
    return reimbursement.export_csv(db, principal, month)


def preview_import(db: Session, principal: Principal, text: str) -> dict:
    plan = plan_import(db, principal, text)
    return {
        "new_rows": [
            {
                "line": str(row.line),
                "driver": driver.name,
                "start": when(row.start_utc),
                "station": row.station_id,
                "energy_kwh": kwh(row.energy_wh),
                "provider": row.provider,
            }
            for row, driver, _ in plan.rows[:200]
        ],
        "new_count": len(plan.rows),
        "already": plan.already_imported,
        "errors": [str(e) for e in plan.errors[:200]],
        "error_count": len(plan.errors),
    }


def apply_import(db: Session, principal: Principal, text: str) -> dict:
    plan = run_import(db, principal, text)
    return {"imported": len(plan.rows), "already": plan.already_imported, "errors": len(plan.errors)}
