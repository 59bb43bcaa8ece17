"""The compliance-alert mail job: every SPV's new warning and overdue alerts to its sponsor's operators."""

from __future__ import annotations

import logging
from datetime import date

from pipelet_app import clock
from pipelet_app.db import session_scope
from pipelet_app.notify.mail import MailNotConfigured
from pipelet_app.tax.alerts import email_new_alerts

log = logging.getLogger(__name__)


def mail_compliance_alerts(today: date | None = None) -> int:
    """Returns the number of mails sent; without SMTP_URL it sends nothing and says so once per run."""
    try:
        with session_scope() as db:
            return email_new_alerts(db, today or clock.today())
    except MailNotConfigured as exc:
        log.info("compliance alerts not mailed: %s", exc)
        return 0
