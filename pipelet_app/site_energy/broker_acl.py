"""Mosquitto's `password_file` and `acl_file` for the site energy topics: one broker user per site.

The consumer trusts that a message on `pipelet/sites/{id}/...` comes from that site's tenant; only the
broker can make that true. Each site gets a user `site-{id}` that may write nothing but its own two topics,
and the consumer one user that may read all sites' topics. A site's gateway that publishes into another
site's topic is then dropped by Mosquitto itself (silently: MQTT 3.1.1 has no way to say no to a QoS 0/1
publish), before Pipelet sees it.

Passwords are generated here and leave this module only in the `issued` list the caller prints once; the
password file holds Mosquitto's PBKDF2-SHA512 hashes (`user:$7$iterations$salt$hash`, base64, a 12-byte
salt: what `mosquitto_passwd` 2.x writes and `src/password_mosq.c` reads), so a re-run cannot show an old
password again. It keeps them instead, unless asked to rotate.

A password file cannot tie a client id to a user, and MQTT lets a connection with a client id in use take
that session over: any site's login could disconnect another site's gateway by claiming its id. So the
config fragment puts the gateways on a listener with `use_username_as_clientid true` (a client's id is its
user name, `site-{id}`, whatever it asked for) and Pipelet's consumers on a second listener without it:
the web process and every worker share one login and would otherwise take each other's session over.
Only Pipelet must reach the second one (a site login works there too, with any client id).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pipelet_app.domain.mqtt_access import (
    CONSUMER_USER,
    ITERATIONS,
    SALT_BYTES,
    TOPIC_KINDS,
    check_password,
    hash_password,
    new_password,
    site_topics,
    site_user,
)

__all__ = [
    "CONSUMER_USER",
    "ITERATIONS",
    "SALT_BYTES",
    "TOPIC_KINDS",
    "check_password",
    "hash_password",
    "site_topics",
    "site_user",
]

ACL_FILE = "acl"
PASSWORD_FILE = "passwords"
CONF_FILE = "pipelet-acl.conf"
SITE_LISTENER = "1883"  # every address: the gateways'
CONSUMER_LISTENER = "1884 127.0.0.1"  # Pipelet's processes only


def listener(value: str) -> tuple[int, str | None]:
    """(port, address or None: every address) from Mosquitto's `PORT [ADDRESS]`; ValueError otherwise."""
    words = value.split()
    if not 1 <= len(words) <= 2 or not words[0].isdigit() or not 1 <= int(words[0]) <= 65535:
        raise ValueError(f"{value!r} is not `PORT` or `PORT ADDRESS`")
    return int(words[0]), words[1] if len(words) == 2 else None


def read_password_file(path: Path) -> dict[str, str]:
    """user -> hash entry of an existing password file ({} when there is none)."""
    if not path.exists():
        return {}
    entries: dict[str, str] = {}
    for line in path.read_text().splitlines():
        user, sep, entry = line.strip().partition(":")
        if sep and user and not user.startswith("#"):
            entries[user] = entry
    return entries


@dataclass(frozen=True)
class SiteEntry:
    site_id: int
    tenant: str  # the tenant's slug, a comment in the ACL file for whoever reads it


@dataclass
class BrokerFiles:
    acl: str
    passwords: dict[str, str]  # user -> hash entry
    issued: list[tuple[str, str]] = field(default_factory=list)  # (user, new password), shown once
    kept: list[str] = field(default_factory=list)
    #: site id -> the hash its user ends with: what the database must hold afterwards
    site_hashes: dict[int, str] = field(default_factory=dict)


def build(
    sites: Iterable[SiteEntry],
    existing: dict[str, str],
    *,
    stored: Mapping[int, str] | None = None,
    consumer_user: str = CONSUMER_USER,
    rotate: bool = False,
    rotate_sites: Iterable[int] = (),
) -> BrokerFiles:
    """The two files' content for these sites. A site's user keeps the hash the database holds for it
    (`stored`: what the operator portal and API issued), else the one in `existing` (a file written
    before credentials were stored); the consumer keeps its `existing` one. `rotate` (every user) or a
    site in `rotate_sites` gets a new password instead; users of sites that are gone are dropped."""
    sites = sorted(set(sites), key=lambda s: s.site_id)
    stored = stored or {}
    rotate_users = {site_user(site_id) for site_id in rotate_sites}
    files = BrokerFiles(acl="", passwords={})

    def credential(user: str, site_id: int | None = None) -> None:
        kept = stored.get(site_id) if site_id is not None else None
        kept = kept or existing.get(user)
        if kept and not rotate and user not in rotate_users:
            files.passwords[user] = kept
            files.kept.append(user)
        else:
            password = new_password()
            files.passwords[user] = hash_password(password)
            files.issued.append((user, password))
        if site_id is not None:
            files.site_hashes[site_id] = files.passwords[user]

    lines = [
        "# Written by `pipelet mqtt-acl`; re-run it after adding or removing sites (it keeps passwords).",
        "# Site users may write only their own site's topics; the consumer reads every site's.",
        "",
        f"user {consumer_user}",
        "topic read pipelet/sites/+/+",
    ]
    credential(consumer_user)
    for site in sites:
        user = site_user(site.site_id)
        if user == consumer_user:
            raise ValueError(f"--consumer-user: {consumer_user!r} is a site's user name")
        lines += ["", f"# tenant {site.tenant}", f"user {user}"]
        lines += [f"topic write {topic}" for topic in site_topics(site.site_id)]
        credential(user, site.site_id)
    files.acl = "\n".join(lines) + "\n"
    return files


def conf_snippet(
    out: Path,
    site: tuple[int, str | None] = listener(SITE_LISTENER),
    consumer: tuple[int, str | None] = listener(CONSUMER_LISTENER),
) -> str:
    """A Mosquitto config fragment: the files and both listeners (`include_dir` it, or copy its lines
    into mosquitto.conf to add TLS under the gateways' listener). A listener option belongs to the
    `listener` line above it in the same file: outside one, Mosquitto gives it to a default listener
    on port 1883 of its own."""

    def line(port: int, address: str | None) -> str:
        return f"listener {port} {address}" if address else f"listener {port}"

    return (
        "# Site users and their topics, from `pipelet mqtt-acl`.\n"
        "allow_anonymous false\n"
        f"password_file {out.resolve() / PASSWORD_FILE}\n"
        f"acl_file {out.resolve() / ACL_FILE}\n"
        "\n"
        "# Site gateways. A client's id is its user name (site-{id}), whatever it asked for: no site's\n"
        "# login can take another site's session over.\n"
        f"{line(*site)}\n"
        "use_username_as_clientid true\n"
        "\n"
        "# Pipelet's consumers (MQTT_URL): one login, each process its own client id. Private: a site\n"
        "# login works here too, with any client id.\n"
        f"{line(*consumer)}\n"
    )


def write(
    out: Path,
    files: BrokerFiles,
    site: tuple[int, str | None] = listener(SITE_LISTENER),
    consumer: tuple[int, str | None] = listener(CONSUMER_LISTENER),
) -> None:
    """Both files (and the config fragment) into `out`, each replaced whole; the password file 0600."""
    out.mkdir(parents=True, exist_ok=True)
    passwords = "".join(f"{user}:{entry}\n" for user, entry in files.passwords.items())
    _replace(out / PASSWORD_FILE, passwords, 0o600)
    _replace(out / ACL_FILE, files.acl, 0o644)
    _replace(out / CONF_FILE, conf_snippet(out, site, consumer), 0o644)


def _replace(path: Path, text: str, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, mode)  # the umask may have taken bits O_CREAT asked for; never more than `mode`
    os.replace(tmp, path)
