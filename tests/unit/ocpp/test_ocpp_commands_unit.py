"""Command names and payload conveniences of the command bus (no sockets)."""

from __future__ import annotations

import pytest

from pipelet_app.ocpp.commands import COMMANDS, adapt_payload, resolve_action
from pipelet_app.ocpp.errors import InvalidCommandPayload, UnknownCommand
from pipelet_app.ocpp.validation import schema_exists


def test_every_api_command_maps_to_a_real_action() -> None:
    for name, actions in COMMANDS.items():
        for version, action in actions.items():
            assert schema_exists(version, action), (name, version, action)
    api_names = {
        "remote-start",
        "remote-stop",
        "reset",
        "unlock",
        "set-charging-profile",
        "clear-charging-profile",
        "get-configuration",
        "change-configuration",
        "trigger-message",
        "change-availability",
    }
    assert api_names <= set(COMMANDS)


def test_resolve() -> None:
    assert resolve_action("remote-start", "2.0.1") == "RequestStartTransaction"
    assert resolve_action("ClearCache", "1.6") == "ClearCache"
    with pytest.raises(UnknownCommand):
        resolve_action("get-base-report", "1.6")
    with pytest.raises(UnknownCommand):
        resolve_action("RequestStartTransaction", "1.6")
    with pytest.raises(UnknownCommand):
        resolve_action("reboot-everything", "1.6")


def test_adapt_remote_start_and_stop() -> None:
    started = adapt_payload("RequestStartTransaction", "2.0.1", {"idTag": "T", "connectorId": 2})
    assert started["idToken"] == {"idToken": "T", "type": "Central"} and started["evseId"] == 2
    assert 0 < started["remoteStartId"] < 2**31
    assert adapt_payload("RemoteStartTransaction", "1.6", {"idTag": "T"}) == {"idTag": "T"}
    assert adapt_payload("RemoteStopTransaction", "1.6", {"transactionId": "ocpp16:CP:12"}) == {
        "transactionId": 12
    }
    assert adapt_payload("RequestStopTransaction", "2.0.1", {"transactionId": "ocpp201:CP:a:b"}) == {
        "transactionId": "a:b"
    }
    with pytest.raises(InvalidCommandPayload):
        adapt_payload("RemoteStopTransaction", "1.6", {"transactionId": "ocpp201:CP:abc"})


class _Socket:
    """A connected charger that accepts every command; saving the effect fails when told to."""

    ocpp_version = "1.6"
    closed = False
    charger_id = 1
    charge_point_id = "CP-1"

    def __init__(self, save_fails: bool) -> None:
        self.save_fails = save_fails

    async def send_call(self, action: str, payload: dict, timeout: float) -> dict:
        return {"status": "Accepted"}

    async def after_command(self, action: str, payload: dict, answer: dict) -> None:
        if self.save_fails:
            raise RuntimeError("database is locked")


class _Node:
    command_timeout_s = 5.0

    def __init__(self, save_fails: bool) -> None:
        self.connections = {"CP-1": _Socket(save_fails)}


@pytest.mark.parametrize("save_fails", [False, True])
async def test_a_command_whose_effect_was_not_saved_is_not_a_success(
    save_fails: bool, caplog: pytest.LogCaptureFixture
) -> None:
    from pipelet_app.ocpp.commands import execute_request, raise_for_envelope
    from pipelet_app.ocpp.errors import EffectNotSaved

    request = {"charge_point_id": "CP-1", "name": "reset", "payload": {"type": "Soft"}}
    envelope = await execute_request(_Node(save_fails), request)  # type: ignore[arg-type]
    if not save_fails:
        assert raise_for_envelope(envelope) == {"status": "Accepted"}
        return
    assert envelope["ok"] is False and envelope["error"] == "not_saved"
    with pytest.raises(EffectNotSaved, match="saving its effect failed") as raised:
        raise_for_envelope(envelope)
    assert raised.value.http_status == 500
    assert "database is locked" in caplog.text and "Traceback" in caplog.text
