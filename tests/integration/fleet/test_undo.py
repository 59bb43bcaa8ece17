"""Undo where it is possible (#13): a voided import comes back as it was, an approval is withdrawn until
the payroll export; both only for the caller's own fleet, both on the audit trail with the undone step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from pipelet_app import audit
from pipelet_app.auth import Forbidden, NotFound, Principal
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    ChargingSession,
    Driver,
    ReimbursementStatement,
    SessionSource,
    User,
    VoidedSession,
)
from pipelet_app.errors import Conflict
from pipelet_app.fleet import reimbursement
from pipelet_app.fleet.voids import restore_session, void_session


def _principal(email: str) -> Principal:
    with session_scope() as db:
        return Principal.of(db.exec(select(User).where(User.email == email)).one())


def test_a_voided_import_comes_back_as_it_was_and_both_steps_are_audited(demo: dict) -> None:
    acme, globex, dana = (_principal(e) for e in ("fleet@acme.demo", "fleet@globex.demo", "driver@acme.demo"))
    with session_scope() as db:
        driver = db.exec(select(Driver).where(Driver.user_id == dana.user_id)).one()
        typo = ChargingSession(
            transaction_id="undo-typo-1",
            station_id="TYPO",
            source=SessionSource.PUBLIC,
            driver_id=driver.id,
            start_utc=utcnow() - timedelta(hours=3),
            end_utc=utcnow() - timedelta(hours=2),
            energy_wh=950_000.0,
        )
        db.add(typo)
        db.commit()
        db.refresh(typo)
        original = typo.model_dump()
    with session_scope() as db:
        void_session(db, acme, "undo-typo-1", "950 kWh is a typo")
    with session_scope() as db:
        with pytest.raises(NotFound):  # another fleet's void is not there for it
            restore_session(db, globex, "undo-typo-1")
        with pytest.raises(Forbidden):
            restore_session(db, dana, "undo-typo-1")
    with session_scope() as db:
        restore_session(db, acme, "undo-typo-1")
    with session_scope() as db:
        back = db.exec(select(ChargingSession).where(ChargingSession.transaction_id == "undo-typo-1")).one()
        assert back.model_dump() == original  # same id, same times, same energy
        assert (
            db.exec(select(VoidedSession).where(VoidedSession.transaction_id == "undo-typo-1")).first()
            is None
        )
        trail = audit.history(db, acme.tenant_id, "charging_session", "undo-typo-1")
        assert [e["action"] for e in trail] == ["session.restored", "session.voided"]
        assert trail[0]["changes"]["reason"] == ["950 kWh is a typo", None]
        with pytest.raises(NotFound):  # nothing voided any more: nothing to undo twice
            restore_session(db, acme, "undo-typo-1")


@pytest.mark.dates
def test_an_approval_can_be_withdrawn_until_the_export_and_not_after(demo: dict) -> None:
    acme, globex = _principal("fleet@acme.demo"), _principal("fleet@globex.demo")
    month = (utcnow() - timedelta(days=14)).strftime("%Y-%m")
    with session_scope() as db:
        reimbursement.set_rates(db, acme, {"ocpp-wallbox": "0.30"})
        statement_id = next(s.id for s in reimbursement.draft_statements(db, acme, month) if s.session_count)
        reimbursement.approve(db, acme, statement_id)
    with session_scope() as db:
        with pytest.raises(NotFound):
            reimbursement.reopen(db, globex, statement_id)
        draft = reimbursement.reopen(db, acme, statement_id)
        assert (draft.status, draft.approved_by, draft.approved_at) == ("draft", None, None)
        with pytest.raises(Conflict):  # a draft has no approval to withdraw
            reimbursement.reopen(db, acme, statement_id)
        actions = [
            e["action"] for e in audit.history(db, acme.tenant_id, "reimbursement_statement", statement_id)
        ]
        assert actions == ["statement.reopened", "statement.approved"]
        reimbursement.approve(db, acme, statement_id)
        reimbursement.export_csv(db, acme, month)
    with session_scope() as db:
        assert db.get(ReimbursementStatement, statement_id).status == "exported"
        with pytest.raises(Conflict):  # the payroll file has left: no undo after the export
            reimbursement.reopen(db, acme, statement_id)
