"""Who may do what on the site energy broker: user names, password hashes and Mosquitto's rules for them.

The consumer trusts that a message on `pipelet/sites/{id}/...` comes from that site's tenant; only the
broker can make that true. Each site gets a user `site-{id}` that may write nothing but its own two topics,
the consumer one user that may read all sites' topics, and (on a broker with the dynamic security plugin)
an admin user that may only manage the other two over `$CONTROL/dynamic-security/v1`.

A password leaves Pipelet once, in the answer that issues it; what is kept is Mosquitto's PBKDF2-SHA512
hash (`$7$iterations$salt$hash`, base64, a 12-byte salt: what `mosquitto_passwd` 2.x writes and
`src/password_mosq.c` reads). The dynamic security plugin stores the very same three parts
(`password`, `salt`, `iterations` in its JSON, `plugins/dynamic-security/clients.c`), so one stored hash
serves a `password_file` and a dynamic-security config alike, and a broker rebuilt from the database
knows every issued password without Pipelet ever having kept one in clear.

Pure: no database, no network (the service and the broker admin client use these).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

CONSUMER_USER = "pipelet-consumer"
ADMIN_USER = "pipelet-admin"
CONSUMER_ROLE = "pipelet-consumer"
ADMIN_ROLE = "pipelet-admin"
TOPIC_KINDS = ("measurements", "transactions")
ALL_SITES_FILTER = "pipelet/sites/+/+"
CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = "$CONTROL/dynamic-security/v1/response"
ITERATIONS = 101  # mosquitto_passwd 2.x's and the dynsec plugin's default; every connect pays for it
SALT_BYTES = 12  # SALT_LEN in src/password_mosq.h; the dynsec plugin refuses any other length


def site_user(site_id: int) -> str:
    return f"site-{site_id}"


def site_client_id(site_id: int) -> str:
    """The only MQTT client id a site's login may connect with (the dynsec client's `clientid`).

    Why bound: MQTT lets a new connection with a client id already in use take over that session, and the
    broker does not otherwise tie a client id to a login, so any site's login could disconnect another
    site's gateway by connecting with its client id. Bound to the user name, each login has exactly one
    client id, its own."""
    return site_user(site_id)


def site_topics(site_id: int) -> tuple[str, ...]:
    """The topics docs/interfaces.md fixes for a site (the site API returns the same)."""
    return tuple(f"pipelet/sites/{site_id}/{kind}" for kind in TOPIC_KINDS)


def new_password() -> str:
    """192 random bits, URL-safe: fits MQTT_URL's user:pass@ and a gateway's config field as it is."""
    return secrets.token_urlsafe(24)


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """Mosquitto's `$7$` entry for `password` (PBKDF2-HMAC-SHA512, 64-byte digest)."""
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, entry: str) -> bool:
    """Whether `password` matches a `$7$` entry, as Mosquitto would decide."""
    try:
        _empty, kind, iterations, salt, digest = entry.split("$")
        if kind != "7":
            return False
        expected = hashlib.pbkdf2_hmac("sha512", password.encode(), base64.b64decode(salt), int(iterations))
        return hmac.compare_digest(expected, base64.b64decode(digest))
    except ValueError:
        return False


def dynsec_password(entry: str) -> dict[str, Any]:
    """A `$7$` entry as the dynsec JSON's client fields. ValueError for anything the plugin would refuse
    (it drops such a client silently at load, which would lock that site out without a word)."""
    try:
        _empty, kind, iterations, salt, digest = entry.split("$")
        ok = kind == "7" and int(iterations) >= 1
        ok = ok and len(base64.b64decode(salt)) == SALT_BYTES and len(base64.b64decode(digest)) == 64
    except ValueError:
        ok = False
    if not ok:
        raise ValueError("not a Mosquitto $7$ PBKDF2-SHA512 entry with a 12-byte salt")
    return {"password": digest, "salt": salt, "iterations": int(iterations)}


def _acl(kind: str, topic: str) -> dict[str, Any]:
    return {"acltype": kind, "topic": topic, "priority": 0, "allow": True}


def site_role(site_id: int) -> dict[str, Any]:
    """The dynsec role of one site: publish to its two topics, nothing else (no subscribing, not even to
    its own topics: a gateway has no business reading what it or anyone else sent)."""
    return {
        "rolename": site_user(site_id),
        "acls": [_acl("publishClientSend", topic) for topic in site_topics(site_id)],
    }


def consumer_role() -> dict[str, Any]:
    """Read every site's topics, directly or as a member of a shared subscription (`pipelet worker`s);
    the broker checks `$share/<group>/<filter>` as given, so both forms are listed."""
    return {
        "rolename": CONSUMER_ROLE,
        "acls": [
            _acl("subscribePattern", ALL_SITES_FILTER),
            _acl("subscribePattern", f"$share/+/{ALL_SITES_FILTER}"),
        ],
    }


def admin_role() -> dict[str, Any]:
    """Send dynsec commands and read their answers; no site data. Receiving the answers needs its own
    rule: the plugin never lets a `$CONTROL` topic fall through to the default access."""
    control = "$CONTROL/dynamic-security/#"
    return {
        "rolename": ADMIN_ROLE,
        "acls": [
            _acl("publishClientSend", control),
            _acl("subscribePattern", control),
            _acl("publishClientReceive", control),
        ],
    }


def dynsec_config(
    site_hashes: Mapping[int, str],
    *,
    consumer_hash: str,
    admin_hash: str,
    consumer_user: str = CONSUMER_USER,
    admin_user: str = ADMIN_USER,
) -> dict[str, Any]:
    """The dynamic security plugin's whole config: default deny for publishing and subscribing (a client
    may receive only what a subscription it was allowed brought), no anonymous group, one client and role
    per site with an issued credential, the consumer and the admin."""

    def client(user: str, entry: str, role: str, clientid: str | None = None) -> dict[str, Any]:
        bound = {"clientid": clientid} if clientid else {}
        return {"username": user, **bound, **dynsec_password(entry), "roles": [{"rolename": role}]}

    clients = [
        client(admin_user, admin_hash, ADMIN_ROLE),
        client(consumer_user, consumer_hash, CONSUMER_ROLE),
    ]
    roles = [admin_role(), consumer_role()]
    for site_id in sorted(site_hashes):
        user = site_user(site_id)
        clients.append(client(user, site_hashes[site_id], user, site_client_id(site_id)))
        roles.append(site_role(site_id))
    return {
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": True,
            "subscribe": False,
            "unsubscribe": True,
        },
        "clients": clients,
        "groups": [],
        "roles": roles,
    }


def issue_commands(site_id: int, password: str) -> list[dict[str, Any]]:
    """Dynsec commands that give site `site_id` exactly `password` and its role, whatever the broker had:
    the old client goes first (which also disconnects whoever is logged in with the old password), the
    role is created if missing, the client is bound to the site's client id (`site_client_id`). The broker
    runs them in order within one control message."""
    user = site_user(site_id)
    return [
        {"command": "deleteClient", "username": user},
        {"command": "createRole", **site_role(site_id)},
        {
            "command": "createClient",
            "username": user,
            "clientid": site_client_id(site_id),
            "password": password,
            "roles": [{"rolename": user}],
        },
    ]


#: answers to `issue_commands` that only say the broker was already in the wanted state
HARMLESS_ERRORS = {"deleteClient": "Client not found", "createRole": "Role already exists"}


def command_errors(responses: Iterable[Mapping[str, Any]]) -> list[str]:
    """`command: error` for each answer that means a command failed (harmless ones left out)."""
    failed = []
    for response in responses:
        command, error = str(response.get("command", "?")), response.get("error")
        if error and HARMLESS_ERRORS.get(command) != error:
            failed.append(f"{command}: {error}")
    return failed
