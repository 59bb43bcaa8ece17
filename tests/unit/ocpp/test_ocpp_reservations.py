"""Reservation status rules, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipelet_app.ocpp.reservations import answered_status, effective_status, next_status, request_fields

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("answer", "stored"),
    [("Accepted", "Active"), ("Occupied", "Occupied"), ("Faulted", "Faulted"), ("Rejected", "Rejected")],
)
def test_answer_is_stored_as_answered(answer: str, stored: str) -> None:
    assert answered_status(answer) == stored


@pytest.mark.parametrize(
    ("event", "after"),
    [("cancelled", "Cancelled"), ("used", "Used"), ("Expired", "Expired"), ("Removed", "Removed")],
)
def test_only_active_reservations_move_on(event: str, after: str) -> None:
    assert next_status("Active", event) == after
    for final in ("Used", "Cancelled", "Expired", "Rejected", "Occupied"):
        assert next_status(final, event) is None
    assert next_status("Active", "bogus") is None


def test_expiry_is_computed_on_read() -> None:
    assert effective_status("Active", NOW + timedelta(seconds=1), NOW) == "Active"
    assert effective_status("Active", NOW, NOW) == "Expired"
    assert effective_status("Used", NOW - timedelta(hours=1), NOW) == "Used"
    assert effective_status("Cancelled", NOW - timedelta(hours=1), NOW) == "Cancelled"


def test_request_fields_of_both_versions() -> None:
    v16 = request_fields(
        "1.6",
        {"connectorId": 2, "expiryDate": "2030-01-01T12:00:00Z", "idTag": "T", "reservationId": 5},
    )
    assert v16 == {
        "reservation_id": 5,
        "connector_id": 2,
        "id_tag": "T",
        "parent_id_tag": None,
        "expires_at": NOW,
    }
    v201 = request_fields(
        "2.0.1",
        {
            "id": 6,
            "expiryDateTime": "2030-01-01T12:00:00Z",
            "idToken": {"idToken": "T", "type": "ISO14443"},
            "groupIdToken": {"idToken": "G", "type": "Central"},
        },
    )
    assert v201 == {
        "reservation_id": 6,
        "connector_id": 0,
        "id_tag": "T",
        "parent_id_tag": "G",
        "expires_at": NOW,
    }
