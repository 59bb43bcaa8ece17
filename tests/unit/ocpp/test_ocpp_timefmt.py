"""Timestamps: any ISO 8601 in, UTC with a trailing Z out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipelet_app.ocpp.errors import CallRejected
from pipelet_app.ocpp.timefmt import format_utc, parse_utc


def test_format_is_utc_with_z() -> None:
    moment = datetime(2026, 3, 1, 14, 0, 5, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert format_utc(moment) == "2026-03-01T12:00:05.123Z"
    with pytest.raises(ValueError):
        format_utc(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    "text",
    ["2026-03-01T12:00:05Z", "2026-03-01T12:00:05.000z", "2026-03-01T14:00:05+02:00", "2026-03-01T12:00:05"],
)
def test_parse_variants(text: str) -> None:
    assert parse_utc(text) == datetime(2026, 3, 1, 12, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01T00:00:00Z"])
def test_parse_rejects_garbage_as_format_violation(text: str) -> None:
    with pytest.raises(CallRejected) as exc:
        parse_utc(text)
    assert exc.value.code == "FormatViolation"
