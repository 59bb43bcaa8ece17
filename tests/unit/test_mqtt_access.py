"""The broker rules in `domain.mqtt_access`: one stored hash serves Mosquitto's password file and its
dynamic security plugin, and the plugin's config and commands give each site exactly its two topics."""

from __future__ import annotations

import base64
import hashlib

import pytest

from pipelet_app.domain import mqtt_access as m


def test_a_stored_hash_becomes_the_dynsec_plugin_s_fields_for_the_same_password() -> None:
    entry = m.hash_password("gateway-secret", salt=b"0123456789ab")
    fields = m.dynsec_password(entry)
    assert fields["iterations"] == m.ITERATIONS and base64.b64decode(fields["salt"]) == b"0123456789ab"
    # what plugins/dynamic-security/auth.c computes at connect: PBKDF2-SHA512 over the decoded salt
    expected = hashlib.pbkdf2_hmac("sha512", b"gateway-secret", b"0123456789ab", fields["iterations"])
    assert base64.b64decode(fields["password"]) == expected


@pytest.mark.parametrize(
    "entry",
    [
        "$6$101$c2FsdA==$aGFzaA==",  # another scheme
        m.hash_password("x", salt=b"short"),  # the plugin only takes a 12-byte salt
        "$7$0$MDEyMzQ1Njc4OWFi$" + base64.b64encode(b"h" * 64).decode(),
        "plain-text",
    ],
)
def test_what_the_plugin_would_drop_silently_is_refused_loudly(entry: str) -> None:
    with pytest.raises(ValueError):
        m.dynsec_password(entry)


def test_the_config_denies_by_default_and_gives_each_site_its_own_two_topics() -> None:
    config = m.dynsec_config(
        {7: m.hash_password("a"), 12: m.hash_password("b")},
        consumer_hash=m.hash_password("c"),
        admin_hash=m.hash_password("d"),
    )
    assert config["defaultACLAccess"] == {
        "publishClientSend": False,
        "publishClientReceive": True,
        "subscribe": False,
        "unsubscribe": True,
    }
    assert "anonymousGroup" not in config and config["groups"] == []
    clients = {c["username"]: [r["rolename"] for r in c["roles"]] for c in config["clients"]}
    assert clients == {
        "pipelet-admin": ["pipelet-admin"],
        "pipelet-consumer": ["pipelet-consumer"],
        "site-7": ["site-7"],
        "site-12": ["site-12"],
    }
    # Each site's login is bound to its own client id (no session takeover across sites); the consumer's
    # workers share one login, so it is not bound.
    bound = {c["username"]: c.get("clientid") for c in config["clients"]}
    assert bound == {
        "pipelet-admin": None,
        "pipelet-consumer": None,
        "site-7": "site-7",
        "site-12": "site-12",
    }
    roles = {r["rolename"]: {(a["acltype"], a["topic"]) for a in r["acls"]} for r in config["roles"]}
    assert roles["site-7"] == {
        ("publishClientSend", "pipelet/sites/7/measurements"),
        ("publishClientSend", "pipelet/sites/7/transactions"),
    }
    assert all(kind.startswith("subscribe") for kind, _ in roles["pipelet-consumer"])
    assert all(topic.startswith("$CONTROL/") for _, topic in roles["pipelet-admin"])


def test_issuing_replaces_the_client_and_ignores_only_harmless_answers() -> None:
    commands = m.issue_commands(7, "pw")
    assert [c["command"] for c in commands] == ["deleteClient", "createRole", "createClient"]
    assert commands[2] == {
        "command": "createClient",
        "username": "site-7",
        "clientid": "site-7",
        "password": "pw",
        "roles": [{"rolename": "site-7"}],
    }
    first_time = [
        {"command": "deleteClient", "error": "Client not found"},
        {"command": "createRole", "error": "Role already exists"},
        {"command": "createClient"},
    ]
    assert m.command_errors(first_time) == []
    assert m.command_errors([{"command": "createClient", "error": "Client already exists"}]) == [
        "createClient: Client already exists"
    ]
