"""Boot registration of OCPP 2.0.1 stations: who is Accepted, who waits (Pending), who is refused.

A station is *accepted* once an operator holds it: it was created by an operator, or auto-registered and
then claimed (it has a tenant and a password, or an operator chose auth mode "none" for it). Until then
(auto-registered, unclaimed: no tenant, no password) its BootNotification is
answered `Pending`: it is recorded (vendor, model, serial, so the operator can recognise it) and may
be configured and asked for reports (B02), but nothing it reports is taken as real (B02.FR.09). A
station claimed while its socket was admitted without credentials is answered `Rejected` (B03): its
admission no longer holds and the CSMS closes that socket; it must come back with its password.

Before an accepted boot every Call other than BootNotification gets a CallError `SecurityError`
(TC_B_30), except, while Pending, what the CSMS itself asked for: NotifyReport (GetBaseReport /
GetReport) and the message a TriggerMessage requested. A station accepted by its operator while
Pending is sent TriggerMessage(BootNotification), so it need not wait out the retry interval (TC_B_31).

An operator may also hold back a station it owns (`chargers.registration_status`, set through
`PUT /api/v1/chargers/{id}/registration`): its next BootNotification is answered `Pending` (B02: the
operator wants to configure or inspect it first) or `Rejected` (B03). A boot is where the status is given
(B01-B03), so an already accepted connected station is not re-triggered to boot: F06.FR.17 has a station
refuse TriggerMessage(BootNotification) once accepted. Set back to `Accepted` while the station waits in
Pending on its socket, it is sent TriggerMessage(BootNotification) as above (TC_B_02, TC_B_31).

A claimed station that reconnects is accepted without booting again (a reconnect is not a reboot).
OCPP 1.6 chargers are always Accepted: unclaimed 1.6 chargers keep being let in and trusted with no
id token (`authorization`), as before; the CSMS benchmark's load generator relies on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ACCEPTED = "Accepted"
PENDING = "Pending"
REJECTED = "Rejected"
STATUSES = (ACCEPTED, PENDING, REJECTED)  # what an operator may choose (`chargers.registration_status`)

# How long a Pending station waits before it boots again (BootNotificationResponse.interval).
PENDING_RETRY_S = 60

# While Pending, the station may send what the CSMS asked it for (B02.FR.09).
REQUESTED_REPORTS = frozenset({"NotifyReport", "NotifyMonitoringReport"})


def awaiting_operator(claimed: bool, auth_mode: str, has_password: bool) -> bool:
    """Auto-registered and unclaimed: no tenant, no password, and no operator chose auth mode "none"
    for it (the state `admission` lets in without credentials and trusts with nothing)."""
    return not claimed and auth_mode != "none" and not has_password


def boot_status(
    claimed: bool, auth_mode: str, has_password: bool, authenticated: bool, operator_status: str = ACCEPTED
) -> str:
    """The answer to a BootNotification over a socket admitted `authenticated` (or not), for a station
    whose operator chose `operator_status` (Accepted unless it holds the station back)."""
    if awaiting_operator(claimed, auth_mode, has_password):
        return PENDING
    if auth_mode != "none" and not authenticated:
        return REJECTED  # claimed while this unauthenticated socket was open; it is being closed
    return operator_status if operator_status in STATUSES else ACCEPTED


@dataclass(slots=True)
class Registration:
    """One connection's registration state; `status` starts Accepted for a station an operator holds."""

    status: str
    triggered: set[str] = field(default_factory=set)
    boot_asked: bool = False  # TriggerMessage(BootNotification) sent since the last boot

    @property
    def accepted(self) -> bool:
        return self.status == ACCEPTED

    def expect(self, requested_message: str) -> None:
        """The CSMS sent TriggerMessage(`requested_message`): let that message in while Pending."""
        self.triggered.add(requested_message)

    def booted(self, status: str) -> None:
        self.status = status
        self.triggered.clear()
        self.boot_asked = False

    def admits(self, action: str) -> bool:
        """Whether a Call `action` is processed now (False: answer SecurityError)."""
        if self.status == ACCEPTED or action == "BootNotification":
            return True
        if self.status != PENDING:
            return False
        if action in REQUESTED_REPORTS:
            return True
        return action in self.triggered  # kept until the next boot: one per connector, say
