"""The audit trail: rows join the caller's transaction, secrets never reach it, tenants read only theirs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pipelet_app import audit
from pipelet_app.db import session_scope


@dataclass(frozen=True)
class Someone:
    user_id: int | None
    email: str
    tenant_id: int | None


ALICE = Someone(1, "alice@example.com", 10)
BOB = Someone(2, "bob@example.com", 20)


def test_diff_lists_only_changed_fields_in_json_form() -> None:
    changes = audit.diff(
        {"name": "Old", "phases": 3, "day": date(2026, 1, 2)},
        {"name": "New", "phases": 3, "day": date(2026, 1, 3), "rate": Decimal("0.39")},
    )
    assert changes == {
        "name": ["Old", "New"],
        "day": ["2026-01-02", "2026-01-03"],
        "rate": [None, "0.39"],
    }
    assert audit.describe(changes).startswith("day: 2026-01-02 → 2026-01-03")


def test_record_and_history_per_tenant(database: str) -> None:
    with session_scope() as db:
        audit.record(db, ALICE, "site.created", "site", 7, {"name": [None, "Depot"]})
        audit.record(db, ALICE, "charger.password", "charger", "CP-1", {"password": ["x", "y"]})
        audit.record(db, BOB, "site.updated", "site", 7, {"name": ["A", "B"]})
        db.commit()
    with session_scope() as db:
        mine = audit.history(db, 10, "site", 7)
        assert [(r["action"], r["actor"]) for r in mine] == [("site.created", "alice@example.com")]
        assert audit.history(db, 20, "site", "7")[0]["changes"] == {"name": ["A", "B"]}
        secret = audit.history(db, 10, "charger", "CP-1")[0]["changes"]
        assert secret == {"password": [audit.REDACTED, audit.REDACTED]}


def test_record_is_lost_with_a_rolled_back_action(database: str) -> None:
    with session_scope() as db:
        audit.record(db, None, "site.created", "site", 1, tenant_id=10)
        db.rollback()
    with session_scope() as db:
        assert audit.history(db, 10, "site", 1) == []
        audit.record(db, None, "system.sweep", "site", 1, tenant_id=10)
        db.commit()
    with session_scope() as db:
        assert audit.history(db, 10, "site", 1)[0]["actor"] == "system"
