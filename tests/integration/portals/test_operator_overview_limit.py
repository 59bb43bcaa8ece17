"""The landing page lists the first `CHARGER_ROWS` chargers by id and says how many there are
(benchmarks/operator: 10,000 rows in one table took the page tens of seconds)."""

from __future__ import annotations

from sqlmodel import select

from pipelet_app.auth import Principal
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, User
from pipelet_app.portals.operator import data


def test_the_chargers_table_is_capped_and_counted(demo: dict, monkeypatch) -> None:
    with session_scope() as db:
        user = db.exec(select(User).where(User.email == "operator@sonnenstrom.demo")).one()
        principal = Principal.of(user)
        own = db.exec(select(Charger).where(Charger.tenant_id == user.tenant_id)).all()
        monkeypatch.setattr(data, "CHARGER_ROWS", 2)
        view = data.operator_overview(db, principal)
        assert [c["id"] for c in view["chargers"]] == sorted(c.charge_point_id for c in own)[:2]
        assert view["chargers_shown"] == "2" and view["charger_count"] == str(len(own)) and len(own) > 2
        monkeypatch.setattr(data, "CHARGER_ROWS", 10_000)
        whole = data.operator_overview(db, principal)
        assert whole["chargers_shown"] == whole["charger_count"] == str(len(own))
