"""The driver's inverter connections: list, couple (after the live test), disconnect, and the OAuth state.

Every function takes ``(db, principal)`` and checks the role itself (``require``), then scopes to the
caller's own driver record: a driver can only ever see or change their own accounts, whatever ids the
browser sends. Nothing here talks to a cloud: the caller (the driver portal's state) does the live test
call (``inverters.service.connect``) and hands the result in, so these stay fast, synchronous and testable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from pipelet_app.auth import Principal, require
from pipelet_app.auth.errors import InvalidInput, NotFound
from pipelet_app.clock import utcnow
from pipelet_app.db.models import (
    ChargingSession,
    Driver,
    PvAccount,
    PvSnapshot,
    PvStatus,
    PvWallbox,
    Role,
    SessionSource,
)
from pipelet_app.i18n.formatting import kwh, when
from pipelet_app.inverters.credentials import encrypt_credentials
from pipelet_app.inverters.registry import adapter_class, brands
from pipelet_app.inverters.service import ConnectResult
from pipelet_app.keys import derive
from pipelet_app.services.zones import session_zones
from pipelet_app.settings import get_settings

CALLBACK_PATH = "/driver/pv/callback"
OAUTH_STATE_TTL = timedelta(minutes=15)
_STATE_PURPOSE = b"pipelet/pv-oauth-state/v1"
RECENT_SESSIONS = 5


# ---------------------------------------------------------------------------------------- the brands


def brand_choices() -> list[dict[str, Any]]:
    """The brands the connect page offers, in registry order, with the form each one needs."""
    out = []
    for brand in brands():
        cls = adapter_class(brand)
        out.append(
            {
                "brand": brand,
                "name": cls.display_name,
                "auth_kind": cls.auth_kind,
                "fields": [
                    {
                        "name": f.name,
                        "label": f.label,
                        "secret": f.secret,
                        "required": f.required,
                        "help": f.help,
                    }
                    for f in cls.credential_fields
                ],
            }
        )
    return out


def clean_credentials(brand: str, form: dict[str, Any]) -> dict[str, str]:
    """Only the brand's declared fields, stripped; InvalidInput naming a missing required field.

    Why filter: the browser may send any keys, and some adapters read extra keys from the credential dict
    (app keys, base URLs). Only what the form declares may come from the driver.
    """
    cls = adapter_class(brand)
    out: dict[str, str] = {}
    for field in cls.credential_fields:
        value = str(form.get(field.name) or "").strip()
        if value and field.name.endswith("_url"):
            check_public_url(value, field.label)
        if value:
            out[field.name] = value
        elif field.required:
            raise InvalidInput(field.label)
    return out


def check_public_url(value: str, label: str) -> None:
    """An address the driver typed (Solarwatt's manager) must be http(s) and not inside Pipelet's network.

    Why: the server, not the browser, calls it; without this check a driver could make Pipelet probe its own
    loopback, database or cloud-metadata addresses. ``PV_ALLOW_PRIVATE_URLS=1`` lifts it for an installation
    inside the home network. (A name re-pointed after this check is not caught; this is a first fence.)
    """
    if get_settings().pv_allow_private_urls:
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(label)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise InvalidInput(label) from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise InvalidInput(label)


# ---------------------------------------------------------------------------------------- ownership


def my_driver(db: Session, principal: Principal) -> Driver:
    require(principal, Role.DRIVER)
    driver = db.exec(select(Driver).where(Driver.user_id == principal.user_id)).first()
    if driver is None or driver.id is None:
        raise NotFound("Your login has no driver profile; ask your fleet manager.")
    return driver


def _my_account(db: Session, principal: Principal, account_id: int) -> PvAccount:
    driver = my_driver(db, principal)
    account = db.get(PvAccount, account_id)
    if account is None or account.driver_id != driver.id:
        raise NotFound("Not found.")  # another driver's account looks exactly like a missing one
    return account


# ------------------------------------------------------------------------------------------ reading


def pv_session_count(db: Session, principal: Principal) -> int:
    """The caller's PV-wallbox sessions from any way in (a connection here, or imported for the fleet):
    with none connected here, the page must not read as if there were no PV data at all."""
    driver = my_driver(db, principal)
    return db.exec(
        select(func.count())
        .select_from(ChargingSession)
        .where(ChargingSession.driver_id == driver.id, ChargingSession.source == SessionSource.PV_INVERTER)
    ).one()


def list_connections(db: Session, principal: Principal) -> list[dict[str, Any]]:
    """The caller's connections with what the page shows: status, progress, last sync, chargers, sessions."""
    driver = my_driver(db, principal)
    accounts = db.exec(
        select(PvAccount).where(PvAccount.driver_id == driver.id).order_by(col(PvAccount.created_at))
    ).all()
    out = []
    for account in accounts:
        boxes = db.exec(
            select(PvWallbox).where(PvWallbox.account_id == account.id).order_by(col(PvWallbox.id))
        ).all()
        serials = [b.serial for b in boxes]
        recent = _recent_sessions(db, driver.id, account.brand, serials)
        count = (
            db.exec(
                select(func.count())
                .select_from(ChargingSession)
                .where(
                    ChargingSession.driver_id == driver.id,
                    ChargingSession.source == SessionSource.PV_INVERTER,
                    ChargingSession.id_tag == f"pv-{account.brand}",
                    ChargingSession.station_id.in_(serials),  # type: ignore[attr-defined]
                )
            ).one()
            if serials
            else 0
        )
        cls = adapter_class(account.brand)
        progress = ""
        if account.status == PvStatus.SYNCING.value and account.progress_done is not None:
            progress = str(account.progress_done) + (
                f" / {account.progress_total}" if account.progress_total else ""
            )
        out.append(
            {
                "id": str(account.id),
                "brand": account.brand,
                "name": cls.display_name,
                "auth_kind": cls.auth_kind,
                "status": account.status,
                "message": account.message or "",
                "progress": progress,
                "last_sync": when(account.last_sync_utc),
                "next_poll": when(account.next_poll_utc),
                "wallboxes": ", ".join(
                    f"{b.name or b.model or 'Charger'} · {b.serial}" if (b.name or b.model) else b.serial
                    for b in boxes
                ),
                "session_count": str(count),
                "sessions": recent,
            }
        )
    return out


def _recent_sessions(
    db: Session, driver_id: int | None, brand: str, serials: list[str]
) -> list[dict[str, str]]:
    if not serials:
        return []
    rows = db.exec(
        select(ChargingSession)
        .where(
            ChargingSession.driver_id == driver_id,
            ChargingSession.source == SessionSource.PV_INVERTER,
            ChargingSession.id_tag == f"pv-{brand}",
            ChargingSession.station_id.in_(serials),  # type: ignore[attr-defined]
        )
        .order_by(ChargingSession.start_utc.desc())  # type: ignore[attr-defined]
        .limit(RECENT_SESSIONS)
    ).all()
    zones = session_zones(db, (s.id for s in rows))
    return [
        {
            "start": when(s.start_utc, zones.get(s.id, "UTC")),
            "end": when(s.end_utc, zones.get(s.id, "UTC")),
            "station": s.station_id,
            "energy_kwh": kwh(s.energy_wh),
            "reason": s.reason,
        }
        for s in rows
    ]


# ------------------------------------------------------------------------------------------ writing


def save_connection(
    db: Session, principal: Principal, brand: str, result: ConnectResult, *, now: datetime | None = None
) -> int:
    """Store a connection that passed its live test: encrypted credentials, chargers found, due now.

    One account per (driver, brand): coupling a brand again (e.g. after "re-auth needed") replaces the
    credentials of the existing account and keeps its chargers' resume points, so nothing is imported twice.
    """
    from pollers.pv import sync_wallboxes

    adapter_class(brand)  # KeyError for an unknown brand before anything is written
    driver = my_driver(db, principal)
    now = now or utcnow()
    account = db.exec(
        select(PvAccount).where(PvAccount.driver_id == driver.id, PvAccount.brand == brand)
    ).first()
    if account is None:
        account = PvAccount(driver_id=driver.id, brand=brand, created_at=now)  # type: ignore[arg-type]
        account.state = dict(result.state)
    else:
        account.state = {**(account.state or {}), **result.state}
    account.credentials_enc = encrypt_credentials(result.credentials)
    account.status, account.message = PvStatus.PENDING.value, None
    account.failures, account.lease_until_utc = 0, None
    account.progress_done = account.progress_total = None
    account.tz_name = next((s.timezone for s, _ in result.found if s.timezone), None)
    account.next_poll_utc = account.updated_at = now
    db.add(account)
    db.flush()
    assert account.id is not None
    sync_wallboxes(db, account.id, result.found)
    return account.id


def disconnect(db: Session, principal: Principal, account_id: int) -> str:
    """Delete the caller's account: credentials, chargers, snapshots. Imported sessions stay (history).

    Returns the brand, for the page's notice.
    """
    account = _my_account(db, principal, account_id)
    brand = account.brand
    db.execute(delete(PvSnapshot).where(col(PvSnapshot.account_id) == account.id))
    db.execute(delete(PvWallbox).where(col(PvWallbox.account_id) == account.id))
    db.delete(account)
    db.flush()
    return brand


# ------------------------------------------------------------------------------------------- OAuth


def redirect_uri() -> str:
    """Where the brand sends the driver back; must match the URI registered with the brand."""
    return get_settings().web_url.rstrip("/") + CALLBACK_PATH


def _state_key() -> bytes:
    return derive(_STATE_PURPOSE)  # keys.py: the one derivation, no fallback without a key


def _binding(session_token: str) -> str:
    return hashlib.sha256(f"pv-oauth:{session_token}".encode()).hexdigest()[:32]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_oauth_state(
    db: Session, principal: Principal, session_token: str, brand: str, *, now: datetime | None = None
) -> str:
    """A signed, expiring ``state`` for the authorize redirect, bound to this sign-in session and brand.

    Why signed rather than stored: it survives a web-worker restart and needs no table, and the binding to a
    hash of the session cookie means a code obtained in another browser (CSRF / login fixation) is refused.
    """
    driver = my_driver(db, principal)
    if adapter_class(brand).auth_kind != "oauth2":
        raise InvalidInput("brand")
    now = now or utcnow()
    body = {
        "d": driver.id,
        "b": brand,
        "s": _binding(session_token),
        "e": int((now + OAUTH_STATE_TTL).timestamp()),
        "n": secrets.token_urlsafe(12),
    }
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    signature = _b64(hmac.new(_state_key(), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def check_oauth_state(
    db: Session, principal: Principal, session_token: str, state: str, *, now: datetime | None = None
) -> str:
    """The brand the ``state`` was made for, or InvalidInput when forged, expired or from another session."""
    driver = my_driver(db, principal)
    payload, _, signature = (state or "").partition(".")
    expected = _b64(hmac.new(_state_key(), payload.encode(), hashlib.sha256).digest())
    if not payload or not hmac.compare_digest(signature, expected):
        raise InvalidInput("state")
    try:
        body = json.loads(_unb64(payload))
    except ValueError:
        raise InvalidInput("state") from None
    now = now or utcnow()
    if (
        body.get("d") != driver.id
        or not hmac.compare_digest(str(body.get("s", "")), _binding(session_token))
        or int(body.get("e", 0)) < now.timestamp()
        or body.get("b") not in brands()
    ):
        raise InvalidInput("state")
    return str(body["b"])
