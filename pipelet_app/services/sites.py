"""An operator's sites and their devices, and a site's energy series.

Every function checks the operator role and the tenant itself; another tenant's site is reported exactly
like a missing one (404). Bad input raises `InvalidInput` whose message starts with the field's name
(`devices[1].asset_id: ...`), the same for the API and the pages.

Devices are replaced as a list on update, matched by `asset_id`: a kept asset keeps its row id, so its
stored samples stay attached; a dropped asset's row goes (its samples stay in the minutes they made).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session, col, select

from pipelet_app import audit
from pipelet_app.auth import InvalidInput, NotFound, Principal, require, require_tenant
from pipelet_app.db.models import (
    Charger,
    DeviceKind,
    Role,
    Site,
    SiteDevice,
    SiteLifecycle,
    SiteSurplus,
    Spv,
)
from pipelet_app.db.types import utcnow
from pipelet_app.site_energy import queries

SITE_FIELDS = (
    "name",
    "timezone",
    "currency",
    "latitude",
    "longitude",
    "grid_limit_a",
    "phases",
    "address",
    "commissioning_date",
    "lifecycle_state",
    "spv_id",
)
CURRENCY = re.compile(r"^[A-Z]{3}$")
ASSET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
PHASE_NAMES = ("L1", "L2", "L3")
MAX_POINTS = 10_000
MAX_RANGE = timedelta(days=31)
STEP = re.compile(r"^([1-9][0-9]{0,3})([mhd])$")
STEP_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}


def topics(site_id: int) -> dict[str, str]:
    return {
        "measurements_topic": f"pipelet/sites/{site_id}/measurements",
        "transactions_topic": f"pipelet/sites/{site_id}/transactions",
    }


@dataclass(frozen=True)
class DeviceIn:
    asset_id: str
    kind: str
    charge_point_id: str | None = None
    connector_id: int | None = None
    pin_to_phase_mapping: Mapping[str, str] | None = None
    switch_phases: bool = False


def own_site(db: Session, principal: Principal, site_id: int) -> Site:
    """The site, for an operator of its tenant; NotFound otherwise (another tenant's site is not said to
    exist)."""
    require(principal, Role.OPERATOR)
    site = db.get(Site, site_id)
    if site is None:
        raise NotFound("Not found.")
    require_tenant(principal, site.tenant_id)
    return site


def _devices(db: Session, site_id: int) -> list[SiteDevice]:
    return list(
        db.exec(select(SiteDevice).where(SiteDevice.site_id == site_id).order_by(col(SiteDevice.id))).all()
    )


def _out(site: Site, devices: list[SiteDevice]) -> dict[str, Any]:
    assert site.id is not None
    return {
        "id": site.id,
        "name": site.name,
        "timezone": site.timezone,
        "currency": site.currency,
        "latitude": site.latitude,
        "longitude": site.longitude,
        "grid_limit_a": site.grid_limit_a,
        "phases": site.phases,
        "address": site.address,
        "commissioning_date": site.commissioning_date,
        "lifecycle_state": str(site.lifecycle_state),
        "spv_id": site.spv_id,
        "devices": [
            {
                "asset_id": d.asset_id,
                "kind": str(d.kind),
                "charge_point_id": d.charge_point_id,
                "connector_id": d.connector_id,
                "pin_to_phase_mapping": d.pin_to_phase_mapping,
                "switch_phases": d.switch_phases,
            }
            for d in devices
        ],
        "mqtt": topics(site.id),
    }


def list_sites(db: Session, principal: Principal) -> list[dict[str, Any]]:
    require(principal, Role.OPERATOR)
    sites = db.exec(select(Site).where(Site.tenant_id == principal.tenant_id).order_by(col(Site.id))).all()
    devices = db.exec(
        select(SiteDevice)
        .where(col(SiteDevice.site_id).in_([s.id for s in sites]))
        .order_by(col(SiteDevice.id))
    ).all()
    by_site: dict[int, list[SiteDevice]] = {}
    for d in devices:
        by_site.setdefault(d.site_id, []).append(d)
    return [_out(s, by_site.get(s.id, [])) for s in sites]  # type: ignore[arg-type]


def sponsored_spvs(db: Session, principal: Principal) -> list[Spv]:
    """The SPVs the caller's operator tenant sponsors, by name (a site may be assigned to one)."""
    require(principal, Role.OPERATOR)
    return list(
        db.exec(select(Spv).where(Spv.sponsor_tenant_id == principal.tenant_id).order_by(col(Spv.name))).all()
    )


def get_site(db: Session, principal: Principal, site_id: int) -> dict[str, Any]:
    site = own_site(db, principal, site_id)
    return _out(site, _devices(db, site_id))


# ------------------------------------------------------------------------------------ validation


def _check_site_fields(db: Session, principal: Principal, values: Mapping[str, Any]) -> None:
    if "name" in values:
        name = values["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise InvalidInput("name: required, 1 to 200 characters")
    if "timezone" in values:
        if not str(values["timezone"] or "").strip():
            raise InvalidInput("timezone: required, an IANA time zone such as Europe/Berlin")
        try:
            ZoneInfo(str(values["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"timezone: {values['timezone']!r} is not an IANA time zone") from None
    if "currency" in values and not CURRENCY.match(str(values["currency"])):
        raise InvalidInput(f"currency: an ISO 4217 code like EUR, got {values['currency']!r}")
    for name, bound in (("latitude", 90.0), ("longitude", 180.0)):
        value = values.get(name)
        if value is not None and not -bound <= float(value) <= bound:
            raise InvalidInput(f"{name}: must be between -{bound:g} and {bound:g}")
    limit = values.get("grid_limit_a")
    if limit is not None and not 0 < float(limit) <= 10_000:
        raise InvalidInput("grid_limit_a: must be above 0 and at most 10000 (A per phase)")
    if "phases" in values and values["phases"] not in (1, 3):
        raise InvalidInput("phases: must be 1 or 3")
    if "address" in values and (not isinstance(values["address"], str) or len(values["address"]) > 500):
        raise InvalidInput("address: at most 500 characters")
    if "lifecycle_state" in values and values["lifecycle_state"] not in {s.value for s in SiteLifecycle}:
        raise InvalidInput(f"lifecycle_state: one of {', '.join(s.value for s in SiteLifecycle)}")
    if values.get("spv_id") is not None:
        spv = db.get(Spv, values["spv_id"])
        if spv is None or spv.sponsor_tenant_id != principal.tenant_id:
            raise InvalidInput("spv_id: no such SPV of your tenant")


def _check_devices(db: Session, principal: Principal, site_id: int | None, devices: list[DeviceIn]) -> None:
    seen: set[str] = set()
    for i, d in enumerate(devices):
        field = f"devices[{i}]"
        if not ASSET_ID.match(d.asset_id or ""):
            raise InvalidInput(f"{field}.asset_id: 1-100 letters, digits or . _ : - (starting with one)")
        if d.asset_id in seen:
            raise InvalidInput(f"{field}.asset_id: {d.asset_id!r} appears twice in this site")
        seen.add(d.asset_id)
        if d.kind not in {k.value for k in DeviceKind}:
            raise InvalidInput(f"{field}.kind: must be one of pv, grid, battery, charger, load")
        if d.switch_phases and d.kind != DeviceKind.CHARGER:
            raise InvalidInput(f"{field}.switch_phases: only a charger switches between 1 and 3 phases")
        if d.pin_to_phase_mapping is not None:
            for pin, phase in d.pin_to_phase_mapping.items():
                if not str(pin) or phase not in PHASE_NAMES:
                    raise InvalidInput(f"{field}.pin_to_phase_mapping: map pins to L1, L2 or L3")
        if d.charge_point_id is None:
            if d.connector_id is not None:
                raise InvalidInput(f"{field}.connector_id: only with a charge_point_id")
            continue
        if d.kind != DeviceKind.CHARGER:
            raise InvalidInput(f"{field}.charge_point_id: only a charger device names a charge point")
        if d.connector_id is None or d.connector_id < 1:
            raise InvalidInput(f"{field}.connector_id: required with a charge_point_id (1 or more)")
        charger = db.exec(select(Charger).where(Charger.charge_point_id == d.charge_point_id)).first()
        if charger is None or charger.tenant_id != principal.tenant_id:
            raise InvalidInput(f"{field}.charge_point_id: no charger {d.charge_point_id!r} in your tenant")
        if site_id is None or charger.site_id != site_id:
            raise InvalidInput(
                f"{field}.charge_point_id: charger {d.charge_point_id!r} is not at this site; claim it into "
                "the site first"
            )
    pairs = [(d.charge_point_id, d.connector_id) for d in devices if d.charge_point_id]
    if len(pairs) != len(set(pairs)):
        raise InvalidInput("devices: one connector is named by two devices")


def _apply_devices(db: Session, site: Site, devices: list[DeviceIn]) -> None:
    existing = {d.asset_id: d for d in _devices(db, site.id)}  # type: ignore[arg-type]
    wanted = {d.asset_id for d in devices}
    for asset_id, row in existing.items():
        if asset_id not in wanted:
            db.delete(row)
    db.flush()
    for d in devices:
        row = existing.get(d.asset_id) or SiteDevice(site_id=site.id, asset_id=d.asset_id, kind=d.kind)  # type: ignore[arg-type]
        row.kind = DeviceKind(d.kind)
        row.charge_point_id = d.charge_point_id
        row.connector_id = d.connector_id
        row.pin_to_phase_mapping = dict(d.pin_to_phase_mapping) if d.pin_to_phase_mapping else None
        row.switch_phases = bool(d.switch_phases)
        db.add(row)
    site.has_pv_meter = any(d.kind == DeviceKind.PV for d in devices)
    db.add(site)
    db.flush()


def create_site(
    db: Session, principal: Principal, values: Mapping[str, Any], devices: list[DeviceIn] | None = None
) -> dict[str, Any]:
    require(principal, Role.OPERATOR)
    if principal.tenant_id is None:
        raise NotFound("Not found.")
    for required in ("name", "timezone"):  # a site's days are local days: no silent UTC
        if required not in values:
            raise InvalidInput(f"{required}: required")
    values = {
        k: v
        for k, v in values.items()
        if k in SITE_FIELDS and (v is not None or k not in ("phases", "currency"))
    }
    _check_site_fields(db, principal, values)
    devices = devices or []
    _check_devices(db, principal, None, devices)
    site = Site(tenant_id=principal.tenant_id, **values)
    db.add(site)
    db.flush()
    _apply_devices(db, site, devices)
    out = get_site(db, principal, site.id)  # type: ignore[arg-type]
    audit.record(db, principal, "site.created", "site", out["id"], audit.diff({}, _audited(out)))
    return out


def _audited(out: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a site answer the trail compares (devices by asset id and kind, no topics)."""
    fields = {k: v for k, v in out.items() if k not in ("id", "mqtt", "devices")}
    fields["devices"] = sorted(f"{d['asset_id']}:{d['kind']}" for d in out["devices"])
    return fields


def update_site(
    db: Session,
    principal: Principal,
    site_id: int,
    values: Mapping[str, Any],
    devices: list[DeviceIn] | None = None,
) -> dict[str, Any]:
    """Change the given fields; `devices`, when given, replaces the device list."""
    site = own_site(db, principal, site_id)
    before = _audited(_out(site, _devices(db, site_id)))
    values = {k: v for k, v in values.items() if k in SITE_FIELDS}
    for required in ("name", "timezone", "currency", "phases", "lifecycle_state", "address"):
        if required in values and values[required] is None:
            raise InvalidInput(f"{required}: cannot be empty")
    _check_site_fields(db, principal, values)
    if "grid_limit_a" in values and values["grid_limit_a"] is None:
        surplus = db.get(SiteSurplus, site_id)
        if surplus is not None and surplus.enabled:  # the loop would stop without a word, profiles left
            raise InvalidInput(
                "grid_limit_a: required while the PV-surplus controller is on; turn it off first"
            )
    if devices is not None:
        _check_devices(db, principal, site_id, devices)
    for name, value in values.items():
        setattr(site, name, value)
    db.add(site)
    db.flush()
    if devices is not None:
        _apply_devices(db, site, devices)
    out = get_site(db, principal, site_id)
    if changes := audit.diff(before, _audited(out)):
        audit.record(db, principal, "site.updated", "site", site_id, changes)
    return out


def site_history(db: Session, principal: Principal, site_id: int) -> list[dict[str, Any]]:
    """Who created and changed the site, when, and what (newest first)."""
    own_site(db, principal, site_id)
    return audit.history(db, principal.tenant_id, "site", site_id)


# ------------------------------------------------------------------------------------ energy


def parse_step(step: str) -> timedelta:
    match = STEP.match(step)
    if match is None:
        raise InvalidInput("step: like 1m, 15m, 1h or 1d")
    return STEP_UNITS[match[2]] * int(match[1])


def energy(
    db: Session,
    principal: Principal,
    site_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
    step: str = "1m",
) -> dict[str, Any]:
    """The site's series (mean powers per step, W) and energy totals (Wh) in [start, end).

    Defaults: the last 24 hours. Times without an offset are refused, not guessed.
    """
    own_site(db, principal, site_id)
    width = parse_step(step)
    for name, value in (("from", start), ("to", end)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(f"{name}: give a UTC offset (Z or +hh:mm)")
    end = (end or utcnow()).astimezone(UTC)
    start = (start or end - timedelta(days=1)).astimezone(UTC)
    if start >= end:
        raise InvalidInput("from: must be before to")
    if end - start > MAX_RANGE:
        raise InvalidInput("to: at most 31 days after from")
    if (end - start) / width > MAX_POINTS:
        raise InvalidInput(f"step: at most {MAX_POINTS} points per request; use a coarser step")
    start = start.replace(second=0, microsecond=0)
    rows = queries.minutes(db, site_id, start, end)
    return queries.series(rows, start, end, width)
