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
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ACL_FILE = "acl"
PASSWORD_FILE = "passwords"
CONF_FILE = "pipelet-acl.conf"
CONSUMER_USER = "pipelet-consumer"
TOPIC_KINDS = ("measurements", "transactions")
ITERATIONS = 101  # mosquitto_passwd 2.x's default; every connect pays for the hashing
SALT_BYTES = 12


def site_user(site_id: int) -> str:
    return f"site-{site_id}"


def site_topics(site_id: int) -> tuple[str, ...]:
    """The topics docs/interfaces.md fixes for a site (the site API returns the same)."""
    return tuple(f"pipelet/sites/{site_id}/{kind}" for kind in TOPIC_KINDS)


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


def build(
    sites: Iterable[SiteEntry],
    existing: dict[str, str],
    *,
    consumer_user: str = CONSUMER_USER,
    rotate: bool = False,
    rotate_sites: Iterable[int] = (),
) -> BrokerFiles:
    """The two files' content for these sites. A user already in `existing` keeps its hash unless
    `rotate` (every user) or its site is in `rotate_sites`; users of sites that are gone are dropped."""
    sites = sorted(set(sites), key=lambda s: s.site_id)
    rotate_users = {site_user(site_id) for site_id in rotate_sites}
    files = BrokerFiles(acl="", passwords={})

    def credential(user: str) -> None:
        if user in existing and not rotate and user not in rotate_users:
            files.passwords[user] = existing[user]
            files.kept.append(user)
            return
        password = secrets.token_urlsafe(24)  # URL-safe: fits MQTT_URL's user:pass@ as it is
        files.passwords[user] = hash_password(password)
        files.issued.append((user, password))

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
        credential(user)
    files.acl = "\n".join(lines) + "\n"
    return files


def conf_snippet(out: Path) -> str:
    """A Mosquitto config fragment pointing at the files (include it, or copy its lines)."""
    return (
        "# Site users and their topics, from `pipelet mqtt-acl`.\n"
        "allow_anonymous false\n"
        f"password_file {out.resolve() / PASSWORD_FILE}\n"
        f"acl_file {out.resolve() / ACL_FILE}\n"
    )


def write(out: Path, files: BrokerFiles) -> None:
    """Both files (and the config fragment) into `out`, each replaced whole; the password file 0600."""
    out.mkdir(parents=True, exist_ok=True)
    passwords = "".join(f"{user}:{entry}\n" for user, entry in files.passwords.items())
    _replace(out / PASSWORD_FILE, passwords, 0o600)
    _replace(out / ACL_FILE, files.acl, 0o644)
    _replace(out / CONF_FILE, conf_snippet(out), 0o644)


def _replace(path: Path, text: str, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, mode)  # the umask may have taken bits O_CREAT asked for; never more than `mode`
    os.replace(tmp, path)
