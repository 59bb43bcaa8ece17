"""E-mail through the SMTP server named by SMTP_URL: `smtp://[user:password@]host[:port][?starttls=1]` or
`smtps://...`. Without SMTP_URL nothing is sent and callers are told so (MailNotConfigured)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from pipelet_app.settings import get_settings


class MailNotConfigured(RuntimeError):
    pass


def send_mail(to: list[str], subject: str, body: str) -> None:
    url = get_settings().smtp_url
    if not url:
        raise MailNotConfigured("SMTP_URL is not set")
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MailNotConfigured("SMTP_URL must look like smtp://host:25 or smtps://user:password@host:465")
    message = EmailMessage()
    message["From"] = get_settings().mail_from
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(body)
    smtp_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    with smtp_class(
        parts.hostname, parts.port or (465 if parts.scheme == "smtps" else 25), timeout=20
    ) as smtp:
        if parse_qs(parts.query).get("starttls") == ["1"]:
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)
