"""Boot registration rules (`ocpp/registration.py`): who is Pending, Rejected or Accepted, and what a
station not yet accepted may send."""

from __future__ import annotations

import pytest

from pipelet_app.ocpp.registration import ACCEPTED, PENDING, REJECTED, Registration, boot_status


@pytest.mark.parametrize(
    ("claimed", "auth_mode", "has_password", "authenticated", "expected"),
    [
        (False, "basic", False, False, PENDING),  # auto-registered, unclaimed
        (True, "basic", True, True, ACCEPTED),  # created or claimed, logged in
        (True, "basic", True, False, REJECTED),  # claimed while its open-door socket was open
        (True, "none", False, False, ACCEPTED),  # the operator chose no authentication
        (False, "none", False, False, ACCEPTED),
        (False, "basic", True, True, ACCEPTED),  # a password was set: someone provisioned it
    ],
)
def test_boot_status(
    claimed: bool, auth_mode: str, has_password: bool, authenticated: bool, expected: str
) -> None:
    assert boot_status(claimed, auth_mode, has_password, authenticated) == expected


def test_pending_admits_boot_reports_and_what_was_triggered_until_the_next_boot() -> None:
    reg = Registration(PENDING)
    assert reg.admits("BootNotification") and reg.admits("NotifyReport")
    assert not reg.admits("StatusNotification") and not reg.admits("Heartbeat")
    reg.expect("StatusNotification")
    assert reg.admits("StatusNotification") and reg.admits("StatusNotification")  # one per connector
    reg.booted(PENDING)
    assert not reg.admits("StatusNotification")


def test_rejected_admits_only_boot_and_accepted_everything() -> None:
    rejected = Registration(REJECTED)
    rejected.expect("StatusNotification")
    assert rejected.admits("BootNotification")
    assert not rejected.admits("NotifyReport") and not rejected.admits("StatusNotification")
    assert Registration(ACCEPTED).admits("TransactionEvent")
