"""Local authorization lists: what a charger holds, and the smallest update that brings it up to date.

The CSMS keeps a snapshot of each charger's list (`local_list_entries`) as of the last SendLocalList the
charger *accepted*: a Full update replaces it, a Differential one patches it (an entry without
idTagInfo / idTokenInfo removes that token). A charger answering Failed, VersionMismatch or
NotSupported keeps what it had, so the snapshot is left alone. A Differential update built from the
database is then `diff(snapshot, tenant's tokens now)`: only the tokens added, removed or whose status,
expiry or parent changed.

Expiries are compared as the text sent to the charger (`format_utc`, millisecond UTC), so a database
value with microseconds is not "changed" against the same value read back from the snapshot.

Tokens are keyed by their string alone, compared case-insensitively (`token_key`): everything the CSMS
sends is 2.0.1 type `Central`, and a charger's list cannot hold one token twice in 1.6 anyway.

The top half of this module is pure (`diff`, `apply`, `to_payload`, `from_payload`); the bottom half
reads and writes the snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, select

from pipelet_app.db.models import Charger, LocalListEntry
from pipelet_app.ocpp.errors import CallRejected
from pipelet_app.ocpp.timefmt import format_utc, parse_utc

FULL = "Full"
DIFFERENTIAL = "Differential"
UPDATE_TYPES = (FULL, DIFFERENTIAL)
TOKEN_TYPE = "Central"  # 2.0.1 idToken type of every token the CSMS sends


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One token's authorization as it is (or should be) on the charger's list."""

    id_token: str
    status: str
    expiry: str | None = None  # format_utc text, e.g. 2030-01-01T00:00:00.000Z
    parent: str | None = None  # 1.6 parentIdTag / 2.0.1 groupIdToken.idToken


# (token, entry): entry None means "remove the token" (sent without idTagInfo / idTokenInfo).
Change = tuple[str, ListEntry | None]


# ---------------------------------------------------------------------- pure
def token_key(token: str) -> str:
    """The identity of an id token: OCPP compares them case-insensitively (1.6 CiString20Type, 2.0.1
    IdTokenType), so `acme0001` and `ACME0001` are one token everywhere in the CSMS."""
    return token.upper()


def _same(a: ListEntry, b: ListEntry) -> bool:
    """Equal authorization (a token's or its parent's spelling alone is no change)."""
    parents = (token_key(a.parent) if a.parent else None, token_key(b.parent) if b.parent else None)
    return (a.status, a.expiry) == (b.status, b.expiry) and parents[0] == parents[1]


def diff(held: Mapping[str, ListEntry], wanted: Mapping[str, ListEntry]) -> list[Change]:
    """The Differential update that turns `held` into `wanted`, sorted by token (case-insensitively)."""
    held_by_key = {token_key(token): (token, entry) for token, entry in held.items()}
    wanted_by_key = {token_key(token): (token, entry) for token, entry in wanted.items()}
    changes: list[Change] = []
    for key in sorted(held_by_key.keys() | wanted_by_key.keys()):
        now = wanted_by_key.get(key)
        if now is None:
            changes.append((held_by_key[key][0], None))
        elif key not in held_by_key or not _same(held_by_key[key][1], now[1]):
            changes.append(now)
    return changes


def apply(held: Mapping[str, ListEntry], update_type: str, changes: Iterable[Change]) -> dict[str, ListEntry]:
    """The list a charger holds after accepting the update (`held` is not modified).

    A Full update is the whole list (entries without info in it are ignored: 1.6 requires the info in
    a Full list); a Differential one adds/replaces entries with info and removes those without.
    """
    result: dict[str, ListEntry] = {} if update_type == FULL else dict(held)
    spelled = {token_key(token): token for token in result}  # tokens match case-insensitively
    for token, entry in changes:
        key = token_key(token)
        existing = spelled.pop(key, None)
        if existing is not None and (entry is not None or update_type == DIFFERENTIAL):
            del result[existing]
        elif existing is not None:
            spelled[key] = existing
        if entry is not None:
            result[token] = entry
            spelled[key] = token
    return result


def to_payload(
    ocpp_version: str, list_version: int, update_type: str, changes: Iterable[Change]
) -> dict[str, Any]:
    """A SendLocalList request in the charger's version's shape.

    An empty update leaves out `localAuthorizationList` (2.0.1 requires at least one item when present);
    a Full update without entries clears the charger's list, a Differential one only bumps the version.
    """
    items: list[dict[str, Any]] = []
    for token, entry in changes:
        if ocpp_version == "1.6":
            item: dict[str, Any] = {"idTag": token}
            if entry is not None:
                info: dict[str, Any] = {"status": entry.status}
                if entry.expiry:
                    info["expiryDate"] = entry.expiry
                if entry.parent:
                    info["parentIdTag"] = entry.parent
                item["idTagInfo"] = info
        else:
            item = {"idToken": {"idToken": token, "type": TOKEN_TYPE}}
            if entry is not None:
                info = {"status": entry.status}
                if entry.expiry:
                    info["cacheExpiryDateTime"] = entry.expiry
                if entry.parent:
                    info["groupIdToken"] = {"idToken": entry.parent, "type": TOKEN_TYPE}
                item["idTokenInfo"] = info
        items.append(item)
    version_key = "listVersion" if ocpp_version == "1.6" else "versionNumber"
    payload: dict[str, Any] = {version_key: list_version, "updateType": update_type}
    if items:
        payload["localAuthorizationList"] = items
    return payload


def _expiry(value: Any) -> str | None:
    if not value:
        return None
    try:
        return format_utc(parse_utc(str(value)))
    except CallRejected:
        return str(value)  # kept verbatim: compared as text, it simply reads as "changed" next time


def from_payload(ocpp_version: str, payload: Mapping[str, Any]) -> tuple[int, str, list[Change]]:
    """(version, update type, changes) of a SendLocalList request of either version."""
    changes: list[Change] = []
    for item in payload.get("localAuthorizationList") or []:
        if ocpp_version == "1.6":
            token = str(item["idTag"])
            info = item.get("idTagInfo")
            parent = info.get("parentIdTag") if info else None
            expiry = info.get("expiryDate") if info else None
        else:
            token = str(item["idToken"]["idToken"])
            info = item.get("idTokenInfo")
            parent = ((info or {}).get("groupIdToken") or {}).get("idToken")
            expiry = info.get("cacheExpiryDateTime") if info else None
        entry = (
            None if info is None else ListEntry(token, str(info["status"]), _expiry(expiry), parent or None)
        )
        changes.append((token, entry))
    version = int(payload["listVersion"] if ocpp_version == "1.6" else payload["versionNumber"])
    return version, str(payload.get("updateType", FULL)), changes


# ---------------------------------------------------------------------- database
def snapshot(db: Session, charger_id: int) -> dict[str, ListEntry]:
    """What the charger holds according to its last accepted update."""
    rows = db.exec(select(LocalListEntry).where(LocalListEntry.charger_id == charger_id)).all()
    return {
        row.id_token: ListEntry(
            row.id_token,
            row.status,
            format_utc(row.expires_at) if row.expires_at is not None else None,
            row.parent_id_tag,
        )
        for row in rows
    }


def replace_snapshot(db: Session, charger_id: int, entries: Mapping[str, ListEntry]) -> None:
    """Write `entries` as the charger's list (rows of tokens no longer held are deleted)."""
    rows = {
        token_key(row.id_token): row
        for row in db.exec(select(LocalListEntry).where(LocalListEntry.charger_id == charger_id)).all()
    }
    wanted = {token_key(token) for token in entries}
    for key, row in rows.items():
        if key not in wanted:
            db.delete(row)
    db.flush()
    for token, entry in entries.items():
        row = rows.get(token_key(token)) or LocalListEntry(
            charger_id=charger_id, id_token=token, status=entry.status
        )
        row.id_token = token
        row.status = entry.status
        row.expires_at = _parse_or_none(entry.expiry)
        row.parent_id_tag = entry.parent
        db.add(row)
    db.flush()


def _parse_or_none(expiry: str | None) -> Any:
    if expiry is None:
        return None
    try:
        return parse_utc(expiry)
    except CallRejected:
        return None


def store_accepted(db: Session, charger_id: int, ocpp_version: str, payload: Mapping[str, Any]) -> None:
    """The charger accepted `payload` (a SendLocalList request): its version and contents are now held."""
    version, update_type, changes = from_payload(ocpp_version, payload)
    replace_snapshot(db, charger_id, apply(snapshot(db, charger_id), update_type, changes))
    charger = db.get(Charger, charger_id)
    if charger is not None:
        charger.local_list_version = version
        db.add(charger)


def forget_token(db: Session, charger_id: int, token: str) -> bool:
    """The charger dropped `token` by itself (its customer's data was cleared, N10): no longer held.
    Returns whether the snapshot had it (then a Differential update puts it back, N10.FR.02)."""
    held = snapshot(db, charger_id)
    kept = {t: entry for t, entry in held.items() if token_key(t) != token_key(token)}
    if len(kept) == len(held):
        return False
    replace_snapshot(db, charger_id, kept)
    return True


def store_reported_version(db: Session, charger_id: int, version: int) -> None:
    """GetLocalListVersion's answer. Version 0 means the list is empty (1.6 and 2.0.1), so the snapshot
    is cleared; -1 (1.6: no local list support) and other numbers leave the snapshot as it is."""
    charger = db.get(Charger, charger_id)
    if charger is not None:
        charger.local_list_version = version
        db.add(charger)
    if version == 0:
        db.execute(delete(LocalListEntry).where(LocalListEntry.charger_id == charger_id))  # type: ignore[arg-type]


def build_request(
    db: Session, charger_id: int, ocpp_version: str, update_type: str, wanted: Mapping[str, ListEntry]
) -> dict[str, Any]:
    """The SendLocalList that makes the charger hold `wanted`, numbered last accepted + 1."""
    if update_type not in UPDATE_TYPES:
        raise ValueError(f"updateType must be Full or Differential, not {update_type!r}")
    charger = db.get(Charger, charger_id)
    if charger is None:
        raise LookupError(charger_id)
    if update_type == FULL:
        changes: list[Change] = [(token, wanted[token]) for token in sorted(wanted)]
    else:
        changes = diff(snapshot(db, charger_id), wanted)
    return to_payload(ocpp_version, max(charger.local_list_version, 0) + 1, update_type, changes)
