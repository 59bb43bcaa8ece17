"""Debounced fault e-mails through a real SMTP server on loopback (aiosmtpd), SQLite and PostgreSQL: a
fault lasting 5 minutes is mailed once to the tenant's operators; a blip, a closed fault and another
tenant's fault are not in it; a second run sends nothing."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta

import pytest
from sqlmodel import select

from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, ConnectorStatusPeriod
from pipelet_app.operations.fault_mail import send_fault_mails


@pytest.mark.dates
def test_a_lasting_fault_is_mailed_once(demo: dict, smtp_inbox) -> None:
    now = utcnow()
    with session_scope() as db:
        son = db.exec(select(Charger).where(Charger.charge_point_id == "SON-CP-001")).one()
        north = db.exec(select(Charger).where(Charger.charge_point_id == "NW-CP-001")).one()

        def period(charger: Charger, connector: int, minutes_ago: int, ended: bool = False, **kw) -> None:
            start = now - timedelta(minutes=minutes_ago)
            db.add(
                ConnectorStatusPeriod(
                    charger_id=charger.id,
                    connector_id=connector,
                    started_at=start,
                    ended_at=start + timedelta(minutes=1) if ended else None,
                    **{"status": "Faulted", "error_code": "GroundFailure", **kw},
                )
            )

        period(son, 1, 10)  # lasting: mailed
        period(son, 2, 2)  # a blip so far: not yet
        period(son, 1, 30, ended=True)  # over: not news
        period(son, 2, 20, status="Available", error_code="NoError")  # no fault
        db.commit()
        assert send_fault_mails(db, now) == 1
        assert send_fault_mails(db, now) == 0  # mailed once
    assert len(smtp_inbox.messages) == 1
    recipients, raw = smtp_inbox.messages[0]
    assert recipients == ["operator@sonnenstrom.demo"]
    text = email.message_from_string(raw, policy=email.policy.default).get_content()
    assert "SON-CP-001 connector 1: Faulted GroundFailure" in text
    assert "connector 2" not in text and "NW-CP" not in text
    with session_scope() as db:
        north_fault = ConnectorStatusPeriod(
            charger_id=north.id,
            connector_id=1,
            status="Faulted",
            error_code="NoError",
            started_at=now - timedelta(minutes=6),
        )
        db.add(north_fault)
        db.commit()
        assert send_fault_mails(db, now) == 1
    assert smtp_inbox.messages[1][0] == ["operator@northwind.demo"]
