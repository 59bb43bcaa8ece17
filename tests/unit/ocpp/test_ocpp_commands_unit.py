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
