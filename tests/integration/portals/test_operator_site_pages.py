"""The site editor's data layer on both databases: operators create and edit their own sites and devices;
another tenant's site is not found, other roles are refused, bad form text names the field."""

from __future__ import annotations

import pytest
from sqlmodel import select

from pipelet_app.auth import Forbidden, InvalidInput, NotFound, Principal
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, SiteMqttCredential, User
from pipelet_app.portals.operator import site_data
from pipelet_app.settings import get_settings
from tests.pipelet_process import free_port


def _principal(email: str) -> Principal:
    with session_scope() as db:
        return Principal.of(db.exec(select(User).where(User.email == email)).one())


def test_create_edit_and_devices(demo: dict) -> None:
    son = _principal("operator@sonnenstrom.demo")
    form = {
        "name": "Hof",
        "timezone": "Europe/Berlin",
        "latitude": "48,1",
        "grid_limit_a": "35",
        "phases": "1",
        "address": "Am Hof 1",
        "commissioning_date": "2026-10-01",
        "lifecycle_state": "commissioning",
        "spv_id": "",
    }
    with session_scope() as db:
        site_id = site_data.save_site(db, son, None, form)
        site_data.add_device(db, son, site_id, {"asset_id": "pv-1", "kind": "pv"})
        site_data.add_device(db, son, site_id, {"asset_id": "meter", "kind": "grid", "connector_id": ""})
        view = site_data.site_view(db, son, site_id)
    assert view["form"] == {
        "name": "Hof",
        "timezone": "Europe/Berlin",
        "latitude": "48.1",
        "longitude": "",
        "grid_limit_a": "35",
        "phases": "1",
        "address": "Am Hof 1",
        "commissioning_date": "2026-10-01",
        "lifecycle_state": "commissioning",
        "spv_id": "",
    }
    assert [(d["asset_id"], d["kind"]) for d in view["devices"]] == [("pv-1", "pv"), ("meter", "grid")]
    assert view["topics"]["measurements_topic"] == f"pipelet/sites/{site_id}/measurements"
    assert view["totals"]["pv_wh"] == "0.00"
    with session_scope() as db:
        site_data.remove_device(db, son, site_id, "pv-1")
        site_data.save_site(db, son, site_id, {**form, "name": "Hof Süd"})
        view = site_data.site_view(db, son, site_id)
    assert [d["asset_id"] for d in view["devices"]] == ["meter"] and view["form"]["name"] == "Hof Süd"
    # every save and device change is in the site's trail, shown on its page
    assert [h["action"] for h in view["history"]] == ["site.updated"] * 4 + ["site.created"]
    assert "name: Hof → Hof Süd" in view["history"][0]["changes"]
    with session_scope() as db, pytest.raises(InvalidInput, match=r"^commissioning_date"):
        site_data.save_site(db, son, site_id, {**form, "commissioning_date": "1.10.2026"})


def test_ocpp_charger_device_from_the_form(demo: dict) -> None:
    son = _principal("operator@sonnenstrom.demo")
    with session_scope() as db:
        site_id = db.exec(select(Charger.site_id).where(Charger.charge_point_id == "SON-CP-001")).one()
        form = {"asset_id": "cp1", "kind": "charger", "charge_point_id": "SON-CP-001", "connector_id": "2"}
        site_data.add_device(db, son, site_id, form)
        [device] = site_data.site_view(db, son, site_id)["devices"]
    assert device == {
        "asset_id": "cp1",
        "kind": "charger",
        "charge_point_id": "SON-CP-001",
        "connector_id": "2",
        "switch_phases": "",
    }
    with session_scope() as db:  # the 1p/3p box ticked: the device keeps it
        site_data.add_device(
            db, son, site_id, {**form, "asset_id": "cp2", "connector_id": "1", "switch_phases": "on"}
        )
        devices = {d["asset_id"]: d for d in site_data.site_view(db, son, site_id)["devices"]}
    assert devices["cp2"]["switch_phases"] == "yes" and devices["cp1"]["switch_phases"] == ""


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"name": "x", "latitude": "north"}, "latitude"),
        ({"name": "x", "phases": "three"}, "phases"),
        ({"name": "", "timezone": "UTC"}, "name"),
        ({"name": "x", "timezone": "Nowhere/Land"}, "timezone"),
    ],
)
def test_bad_form_text_names_the_field(demo: dict, form: dict, field: str) -> None:
    son = _principal("operator@sonnenstrom.demo")
    with session_scope() as db, pytest.raises(InvalidInput, match=f"^{field}:"):
        site_data.save_site(db, son, None, form)


def test_other_tenants_and_roles(demo: dict) -> None:
    son, nw = _principal("operator@sonnenstrom.demo"), _principal("operator@northwind.demo")
    with session_scope() as db:
        site_id = db.exec(select(Charger.site_id).where(Charger.charge_point_id == "SON-CP-001")).one()
    calls = [
        lambda db, p: site_data.site_view(db, p, site_id),
        lambda db, p: site_data.save_site(db, p, site_id, {"name": "taken"}),
        lambda db, p: site_data.add_device(db, p, site_id, {"asset_id": "x", "kind": "pv"}),
        lambda db, p: site_data.remove_device(db, p, site_id, "x"),
        lambda db, p: site_data.issue_mqtt_credential(db, p, site_id),
    ]
    for call in calls:
        with session_scope() as db, pytest.raises(NotFound):
            call(db, nw)
        with session_scope() as db, pytest.raises(Forbidden):
            call(db, _principal("driver@acme.demo"))
    with session_scope() as db:
        assert site_data.site_view(db, son, site_id)["form"]["name"] != "taken"


def test_the_gateway_password_is_issued_once_and_a_silent_broker_names_the_field(
    demo: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's button: the view says whether a password exists (never which), issuing returns it once;
    a broker behind MQTT_ADMIN_URL that does not answer is an `mqtt:` error and nothing is stored."""
    son = _principal("operator@sonnenstrom.demo")
    with session_scope() as db:
        site_id = db.exec(select(Charger.site_id).where(Charger.charge_point_id == "SON-CP-001")).one()
        assert site_data.site_view(db, son, site_id)["mqtt_login"] == {
            "username": f"site-{site_id}",
            "client_id": f"site-{site_id}",
            "issued": "",
        }
    with session_scope() as db:
        password, live = site_data.issue_mqtt_credential(db, son, site_id)
    assert len(password) == 32 and live is False  # no MQTT_ADMIN_URL: stored for `pipelet mqtt-acl`
    with session_scope() as db:
        view = site_data.site_view(db, son, site_id)
        assert view["mqtt_login"]["issued"] != "" and password not in str(view)
        before = db.get(SiteMqttCredential, site_id).password_hash  # type: ignore[union-attr]

    monkeypatch.setenv("MQTT_ADMIN_URL", f"mqtt://pipelet-admin:x@127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    try:
        with session_scope() as db, pytest.raises(InvalidInput, match=r"^mqtt: .*nothing changed"):
            site_data.issue_mqtt_credential(db, son, site_id)
    finally:
        get_settings.cache_clear()
    with session_scope() as db:
        assert db.get(SiteMqttCredential, site_id).password_hash == before  # type: ignore[union-attr]
