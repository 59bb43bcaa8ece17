"""Compliance alerts are mailed once to the sponsor's operators, through a real SMTP server on loopback."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import func, select

from pipelet_app.db import session_scope
from pipelet_app.db.models import Spv, SpvAlertSent
from pipelet_app.domain.tax.compliance import Severity
from pipelet_app.settings import get_settings
from pipelet_app.tax.alerts import spv_alerts
from pollers.alerts import mail_compliance_alerts
from tests.conftest import Inbox
from tests.pipelet_process import free_port


def a_day_with_alerts() -> date:
    with session_scope() as db:
        spv = db.exec(select(Spv)).first()
        for day in (date(2026, 3, 5), date(2026, 6, 20), date(2026, 9, 5), date(2027, 3, 5)):
            if any(a.severity in (Severity.WARNING, Severity.OVERDUE) for a in spv_alerts(db, spv, day)):
                return day
    raise AssertionError("the demo SPV raises no alert on any sampled day")


def sent_rows() -> int:
    with session_scope() as db:
        return db.exec(select(func.count()).select_from(SpvAlertSent)).one()


def test_new_alerts_are_mailed_once(demo: dict, smtp_inbox: Inbox) -> None:
    day = a_day_with_alerts()
    assert mail_compliance_alerts(day) == 1
    [(recipients, content)] = smtp_inbox.messages
    assert recipients == ["operator@sonnenstrom.demo"]
    assert "Subject: [Pipelet]" in content and "Pipelet Solar Fund I" in content
    with session_scope() as db:
        spv = db.exec(select(Spv)).first()
        titles = [a.title for a in spv_alerts(db, spv, day) if a.severity != Severity.INFO]
    assert all(title in content for title in titles)
    assert sent_rows() == len(titles)
    assert mail_compliance_alerts(day) == 0 and len(smtp_inbox.messages) == 1, "each alert goes out once"


def test_without_smtp_nothing_is_sent_or_marked(demo: dict) -> None:
    assert mail_compliance_alerts(a_day_with_alerts()) == 0
    assert sent_rows() == 0


def test_unreachable_smtp_marks_nothing(demo: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{free_port()}")  # nothing listens there
    get_settings.cache_clear()
    with pytest.raises(OSError):
        mail_compliance_alerts(a_day_with_alerts())
    assert sent_rows() == 0, "an alert that was not delivered is tried again next run"
