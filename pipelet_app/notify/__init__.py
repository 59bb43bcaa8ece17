"""Outgoing messages (e-mail through SMTP_URL)."""
