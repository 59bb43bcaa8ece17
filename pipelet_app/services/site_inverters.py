"""Inverter-cloud accounts an operator links to a site, so the site's PV production comes from the cloud.

Ownership: a driver's coupled account (`c4_pv_accounts`) reads the driver's own wallbox and stays the
driver's; it never feeds an operator's site (a driver's data is not the operator's to take). A site's PV
comes from an account the operator links here with the operator's own credentials (`site_inverters`),
encrypted exactly like the drivers' (`inverters.credentials`), never returned, never logged.

Every function checks the operator role and the tenant itself; another tenant's site (or link) is 404.
Bad input raises `InvalidInput` whose message starts with the field's name. The live test call (credentials
and systems) happens before anything is saved (`connect_systems`, async, no database); `link` stores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, col, select

from pipelet_app import audit
from pipelet_app.auth import InvalidInput, NotFound, Principal
from pipelet_app.clock import utcnow
from pipelet_app.db.models import DeviceKind, SiteDevice, SiteInverter
from pipelet_app.errors import AppError
from pipelet_app.inverters.base import (
    CredentialField,
    InvalidCredentials,
    InverterError,
    ReauthRequired,
    System,
)
from pipelet_app.inverters.credentials import encrypt_credentials
from pipelet_app.inverters.registry import adapter_class, brands
from pipelet_app.services.sites import ASSET_ID, own_site

#: what the operator enters per brand. Enphase authorizes by OAuth: an operator links it with the token
#: pair of their own Enphase app authorization (the drivers' redirect flow is not offered for sites yet).
_ENPHASE_FIELDS = (
    CredentialField("access_token", "Access token", secret=True),
    CredentialField("refresh_token", "Refresh token", secret=True),
)


#: brands Pipelet reads chargers from whose clouds document no PV production, and why (said to the operator)
NO_PRODUCTION = {
    "ecoflow": "EcoFlow's open API documents no PV production series for a site",
    "solarwatt": "Solarwatt has no public cloud API (only the local Energy Manager)",
}


def production_brands() -> list[str]:
    """Brands whose adapter reads PV production (the others' public APIs document none we could read)."""
    return [brand for brand in brands() if adapter_class(brand).supports_production]


def credential_fields(brand: str) -> tuple[CredentialField, ...]:
    if brand == "enphase":
        return _ENPHASE_FIELDS
    return adapter_class(brand).credential_fields


def check_input(brand: Any, credentials: Any, asset_id: Any) -> dict[str, str]:
    """The credentials as strings, or InvalidInput naming the field. No network."""
    if brand in NO_PRODUCTION:
        raise InvalidInput(f"brand: {NO_PRODUCTION[brand]}; link one of {', '.join(production_brands())}")
    if brand not in production_brands():
        raise InvalidInput(
            f"brand: must be one of {', '.join(production_brands())} (the brands whose public API gives "
            "PV production)"
        )
    if not isinstance(credentials, Mapping):
        raise InvalidInput("credentials: an object with the brand's fields")
    out: dict[str, str] = {}
    for field in credential_fields(brand):
        value = credentials.get(field.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if field.required:
                raise InvalidInput(f"credentials.{field.name}: required for {brand}")
            continue
        if not isinstance(value, str) or len(value) > 4000:
            raise InvalidInput(f"credentials.{field.name}: text of at most 4000 characters")
        out[field.name] = value.strip()
    unknown = sorted(set(credentials) - {f.name for f in credential_fields(brand)})
    if unknown:
        raise InvalidInput(f"credentials.{unknown[0]}: not a field of {brand}")
    if asset_id is not None and (not isinstance(asset_id, str) or not ASSET_ID.match(asset_id)):
        raise InvalidInput(
            "asset_id: letters, digits and . _ : - (up to 100), starting with a letter or digit"
        )
    return out


def check_site(db: Session, principal: Principal, site_id: int) -> None:
    """Role and tenant, before any cloud is called for this site."""
    own_site(db, principal, site_id)


async def connect_systems(
    brand: str, credentials: Mapping[str, str], *, base_url: str | None = None
) -> tuple[dict[str, Any], list[System]]:
    """The live test: the credentials work and which systems they see. Raises the adapter errors."""
    adapter = adapter_class(brand)(dict(credentials), base_url=base_url)
    async with adapter:
        await adapter.test_credentials()
        systems = await adapter.list_systems()
        return dict(adapter.credentials), systems


class CloudError(AppError):
    """The brand's cloud did not answer usefully during the live test (outage, throttling, our parsing)."""

    status = 502


async def connect_systems_or_error(
    brand: str, credentials: Mapping[str, str], *, base_url: str | None = None
) -> tuple[dict[str, Any], list[System]]:
    """`connect_systems` with the adapter errors as the API's: refused credentials are bad input (422),
    the rest a 502 whose text is the adapter's (written to be shown; it never holds a secret)."""
    try:
        return await connect_systems(brand, credentials, base_url=base_url)
    except (InvalidCredentials, ReauthRequired) as exc:
        raise InvalidInput(f"credentials: {exc}") from None
    except InverterError as exc:
        raise CloudError(str(exc)) from None


def _choose(systems: list[System], system_id: Any) -> System:
    if system_id is not None:
        chosen = next((s for s in systems if s.system_id == str(system_id)), None)
        if chosen is None:
            known = ", ".join(s.system_id for s in systems) or "none"
            raise InvalidInput(f"system_id: the account has no system {system_id} (it has: {known})")
        return chosen
    if len(systems) == 1:
        return systems[0]
    if not systems:
        raise InvalidInput("credentials: the account has no system to read production from")
    known = ", ".join(f"{s.system_id} ({s.name})" for s in systems)
    raise InvalidInput(f"system_id: the account has several systems, choose one of {known}")


def link(
    db: Session,
    principal: Principal,
    site_id: int,
    brand: str,
    credentials: Mapping[str, Any],
    systems: list[System],
    system_id: Any = None,
    asset_id: str | None = None,
) -> dict[str, Any]:
    """Store the link (after the live test): the site's PV device (`asset_id`, created when missing, a
    kind other than pv refused) and the encrypted credentials. Linking the same system again replaces
    the credentials (a rotated key) and keeps what was stored."""
    site = own_site(db, principal, site_id)
    system = _choose(systems, system_id)
    asset = asset_id or f"{brand}-pv"
    device = db.exec(
        select(SiteDevice).where(SiteDevice.site_id == site_id, SiteDevice.asset_id == asset)
    ).first()
    if device is not None and device.kind != DeviceKind.PV:
        raise InvalidInput(f"asset_id: {asset} is a {device.kind} device of this site, not pv")
    if device is None:
        device = SiteDevice(site_id=site_id, asset_id=asset, kind=DeviceKind.PV)
        db.add(device)
        db.flush()
    now = utcnow()
    row = db.exec(
        select(SiteInverter).where(
            SiteInverter.site_id == site_id,
            SiteInverter.brand == brand,
            SiteInverter.system_id == system.system_id,
        )
    ).first()
    created = row is None
    row = row or SiteInverter(
        site_id=site_id, device_id=device.id, brand=brand, system_id=system.system_id, credentials_enc=""
    )
    row.device_id = device.id  # type: ignore[assignment]
    row.system_timezone = system.timezone or site.timezone
    row.credentials_enc = encrypt_credentials(credentials)
    row.status, row.message, row.failures = "pending", None, 0
    row.next_poll_utc, row.lease_until_utc, row.updated_at = now, None, now
    db.add(row)
    db.flush()
    action = "site.inverter_linked" if created else "site.inverter_relinked"
    audit.record(
        db,
        principal,
        action,
        "site",
        site_id,
        {"brand": [None, brand], "system_id": [None, system.system_id]},
    )
    return link_out(row, device)


def link_out(row: SiteInverter, device: SiteDevice | None) -> dict[str, Any]:
    """What the API and the page show: never the credentials."""
    return {
        "id": row.id,
        "site_id": row.site_id,
        "brand": row.brand,
        "system_id": row.system_id,
        "asset_id": device.asset_id if device is not None else None,
        "status": row.status,
        "message": row.message,
        "last_poll_utc": row.last_poll_utc,
        "stored_until_utc": row.stored_until_utc,
        "next_poll_utc": row.next_poll_utc,
    }


def links(db: Session, principal: Principal, site_id: int) -> list[dict[str, Any]]:
    own_site(db, principal, site_id)
    rows = db.exec(
        select(SiteInverter).where(SiteInverter.site_id == site_id).order_by(col(SiteInverter.id))
    ).all()
    return [link_out(r, db.get(SiteDevice, r.device_id)) for r in rows]


def unlink(db: Session, principal: Principal, site_id: int, link_id: int) -> None:
    """Remove the link and its credentials; the production already stored stays in the site's series."""
    own_site(db, principal, site_id)
    row = db.get(SiteInverter, link_id)
    if row is None or row.site_id != site_id:
        raise NotFound("Not found.")
    audit.record(db, principal, "site.inverter_unlinked", "site", site_id, {"brand": [row.brand, None]})
    db.delete(row)
    db.flush()
