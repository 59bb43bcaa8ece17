"""OCPP timestamps: parse anything ISO 8601, send UTC with a trailing `Z` (one simulator refuses `+00:00`)."""

from __future__ import annotations

from datetime import UTC, datetime

from pipelet_app.clock import utcnow
from pipelet_app.ocpp.errors import CallRejected


def format_utc(moment: datetime) -> str:
    """`2026-11-22T00:10:43.123Z`: millisecond precision, UTC, `Z`."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def now_utc() -> str:
    return format_utc(utcnow())


def parse_utc(value: str, field: str = "timestamp") -> datetime:
    """An aware UTC datetime; naive inputs are taken as UTC (what chargers without a zone mean)."""
    try:
        text = value.strip()
        if text.endswith(("z", "Z")):
            text = text[:-1] + "+00:00"
        moment = datetime.fromisoformat(text)
    except (AttributeError, ValueError) as exc:
        raise CallRejected("FormatViolation", f"{field}: not an ISO 8601 date-time: {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
