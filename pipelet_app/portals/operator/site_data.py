"""What the site pages show and send, as plain strings for the form fields; the rules are the sites
service's (role, tenant, validation), this module only converts between form text and its values."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

from pipelet_app.auth import InvalidInput, Principal
from pipelet_app.clock import utcnow
from pipelet_app.i18n.formatting import current_locale, editable, number, when
from pipelet_app.i18n.words import label
from pipelet_app.inverters.registry import adapter_class
from pipelet_app.portals.operator.credential_fields import merged_fields
from pipelet_app.portals.operator.onboarding_data import spv_choices, trail
from pipelet_app.services import site_inverters, site_mqtt
from pipelet_app.services import sites as service
from pipelet_app.services.session import Session

#: the site fields the form edits: the service's but the currency (not on the page; the API sets it), derived
#: so that a field the service gains reaches the form instead of a second list forgetting it
FORM_FIELDS = tuple(name for name in service.SITE_FIELDS if name != "currency")


def _text(value: Any) -> str:
    """A stored value as the form shows it; a decimal with the page's decimal mark (`48,1405` in German),
    as `_number` reads it back."""
    if value is None:
        return ""
    if isinstance(value, float):
        return editable(value, 6)
    return str(value)


def _number(form: dict[str, Any], name: str, integer: bool = False) -> float | int | None:
    raw = str(form.get(name, "") or "").strip().replace(",", ".")
    if not raw:
        return None
    try:
        return int(raw) if integer else float(raw)
    except ValueError:
        raise InvalidInput(f"{name}: {raw!r} is not a number") from None


def _link_status(link: dict[str, Any]) -> str:
    """An inverter link's state in words (the PV connections' `pv.status.*`), with the cloud's message."""
    status = label("pv.status", link["status"], current_locale())
    return status + (f": {link['message']}" if link["message"] else "")


def _view(site: dict[str, Any], db: Session, principal: Principal) -> dict[str, Any]:
    now = utcnow()
    totals = service.energy(db, principal, site["id"], now - timedelta(days=1), now, "1h")["totals"]
    return {
        "id": str(site["id"]),
        "form": {name: _text(site[name]) for name in FORM_FIELDS},
        "devices": [
            {
                "asset_id": d["asset_id"],
                "kind": d["kind"],
                "charge_point_id": d["charge_point_id"] or "",
                "connector_id": _text(d["connector_id"]),
                "switch_phases": "yes" if d.get("switch_phases") else "",
            }
            for d in site["devices"]
        ],
        "topics": site["mqtt"],
        "mqtt_login": _mqtt_login(db, principal, site["id"], site["timezone"]),
        "history": trail(service.site_history(db, principal, site["id"]), site["timezone"]),
        "totals": {name: number(value / 1000, 2) for name, value in totals.items()},
        "inverters": [
            {
                "id": str(link["id"]),
                "brand": adapter_class(link["brand"]).display_name,
                "system_id": link["system_id"],
                "asset_id": link["asset_id"] or "—",
                "status": _link_status(link),
                "stored_until": when(link["stored_until_utc"], site["timezone"])
                if link["stored_until_utc"]
                else "—",
            }
            for link in site_inverters.links(db, principal, site["id"])
        ],
        "inverter_brands": [
            {"id": brand, "label": adapter_class(brand).display_name}
            for brand in site_inverters.production_brands()
        ],
    }


def credential_inputs() -> list[tuple[str, list[str], bool]]:
    """The link form's credential inputs: (field name, the brands that ask for it, secret), one per distinct
    field name over the brands whose production can be linked; the form posts them all and
    `link_inverter` keeps the chosen brand's."""
    return merged_fields(
        (adapter_class(brand).display_name, site_inverters.credential_fields(brand))
        for brand in site_inverters.production_brands()
    )


def site_view(db: Session, principal: Principal, site_id: int) -> dict[str, Any]:
    return {
        **_view(service.get_site(db, principal, site_id), db, principal),
        "spvs": spv_choices(db, principal),
    }


def new_site_view(db: Session, principal: Principal) -> dict[str, Any]:
    """What the empty form needs: the tenant's SPVs to choose from (role checked)."""
    return {"spvs": spv_choices(db, principal)}


def _values(form: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": str(form.get("name", "")).strip(),
        "timezone": str(form.get("timezone", "") or "").strip(),  # empty: refused by the service
        "latitude": _number(form, "latitude"),
        "longitude": _number(form, "longitude"),
        "grid_limit_a": _number(form, "grid_limit_a"),
    }
    phases = _number(form, "phases", integer=True)
    values["phases"] = 3 if phases is None else phases
    values["address"] = str(form.get("address", "") or "").strip()
    values["lifecycle_state"] = str(form.get("lifecycle_state", "") or "operating")
    values["spv_id"] = _number(form, "spv_id", integer=True)
    raw_date = str(form.get("commissioning_date", "") or "").strip()
    try:
        values["commissioning_date"] = date.fromisoformat(raw_date) if raw_date else None
    except ValueError:
        raise InvalidInput(f"commissioning_date: {raw_date!r} is not a date like 2026-11-30") from None
    return values


def save_site(db: Session, principal: Principal, site_id: int | None, form: dict[str, Any]) -> int:
    """Create (site_id None) or update the site's own fields; returns its id."""
    if site_id is None:
        return int(service.create_site(db, principal, _values(form))["id"])
    service.update_site(db, principal, site_id, _values(form))
    return site_id


def _device_in(d: dict[str, Any]) -> service.DeviceIn:
    return service.DeviceIn(
        asset_id=d["asset_id"],
        kind=d["kind"],
        charge_point_id=d.get("charge_point_id") or None,
        connector_id=int(d["connector_id"]) if d.get("connector_id") not in (None, "") else None,
        pin_to_phase_mapping=d.get("pin_to_phase_mapping"),
        switch_phases=bool(d.get("switch_phases")),
    )


def add_device(db: Session, principal: Principal, site_id: int, form: dict[str, Any]) -> None:
    site = service.get_site(db, principal, site_id)
    new = {
        "asset_id": str(form.get("asset_id", "")).strip(),
        "kind": str(form.get("kind", "")).strip(),
        "charge_point_id": str(form.get("charge_point_id", "")).strip() or None,
        "connector_id": _number(form, "connector_id", integer=True),
        "switch_phases": form.get("switch_phases") in ("on", "true", True),
    }
    devices = [_device_in(d) for d in site["devices"]] + [_device_in(new)]
    service.update_site(db, principal, site_id, {}, devices)


def remove_device(db: Session, principal: Principal, site_id: int, asset_id: str) -> None:
    site = service.get_site(db, principal, site_id)
    devices = [_device_in(d) for d in site["devices"] if d["asset_id"] != asset_id]
    service.update_site(db, principal, site_id, {}, devices)


def link_inverter(db: Session, principal: Principal, site_id: int, form: dict[str, Any]) -> None:
    """The link form: role and tenant first, then the live test against the cloud, then store.

    Runs on a worker thread (`_guarded_off_loop`), so the test call gets its own event loop there."""
    site_inverters.check_site(db, principal, site_id)
    brand = str(form.get("brand", "")).strip()
    fields = site_inverters.credential_fields(brand) if brand in site_inverters.production_brands() else ()
    credentials = {f.name: str(form.get(f.name, "") or "").strip() for f in fields}
    asset_id = str(form.get("asset_id", "") or "").strip() or None
    checked = site_inverters.check_input(brand, credentials, asset_id)
    try:
        stored, systems = asyncio.run(site_inverters.connect_systems_or_error(brand, checked))
    except site_inverters.CloudError as exc:
        raise InvalidInput(f"credentials: {exc.message}") from None
    system_id = str(form.get("system_id", "") or "").strip() or None
    site_inverters.link(db, principal, site_id, brand, stored, systems, system_id, asset_id)


def _mqtt_login(db: Session, principal: Principal, site_id: int, timezone: str) -> dict[str, str]:
    status = site_mqtt.credential_status(db, principal, site_id)
    issued = when(status["issued_at"], timezone) if status["issued_at"] else ""
    return {"username": status["username"], "client_id": status["client_id"], "issued": issued}


def issue_mqtt_credential(db: Session, principal: Principal, site_id: int) -> tuple[str, bool]:
    """(the new password, whether the broker already took it). Runs on a worker thread
    (`_guarded_off_loop`), so the broker push gets its own event loop there; a broker that did not
    confirm is an error naming the field, and nothing changed."""
    try:
        issued = asyncio.run(site_mqtt.issue_credential(db, principal, site_id))
    except site_mqtt.BrokerUnavailable as exc:
        raise InvalidInput(f"mqtt: {exc.message}") from None
    return issued["password"], bool(issued["live"])


def unlink_inverter(db: Session, principal: Principal, site_id: int, link_id: int) -> None:
    site_inverters.unlink(db, principal, site_id, link_id)
