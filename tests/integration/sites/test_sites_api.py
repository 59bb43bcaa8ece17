"""`/api/v1/sites` and `/sites/{id}/energy` on SQLite and PostgreSQL: operators manage their own sites
and devices, see only their tenant's, and get field-named errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, Site, SiteDevice
from pipelet_app.site_energy.store import SampleIn, write_batch
from tests.integration.api_keys import key_of

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def son() -> dict[str, str]:
    return key_of("operator@sonnenstrom.demo")


@pytest.fixture
def nw() -> dict[str, str]:
    return key_of("operator@northwind.demo")


def _site_of(cp_id: str) -> int:
    with session_scope() as db:
        site_id = db.exec(select(Charger.site_id).where(Charger.charge_point_id == cp_id)).one()
        assert site_id is not None
        return site_id


SITE = {
    "name": "Hof Sonnenberg",
    "timezone": "Europe/Berlin",
    "latitude": 48.1,
    "longitude": 11.5,
    "grid_limit_a": 63,
    "phases": 3,
    "devices": [
        {"asset_id": "pv-roof", "kind": "pv"},
        {"asset_id": "grid-1", "kind": "grid"},
        {"asset_id": "bat-1", "kind": "battery"},
        {"asset_id": "wb-mqtt", "kind": "charger", "pin_to_phase_mapping": {"1": "L2", "2": "L3", "3": "L1"}},
    ],
}


def test_create_read_list_and_patch_a_site(client: TestClient, son: dict[str, str]) -> None:
    created = client.post("/api/v1/sites", json=SITE, headers=son)
    assert created.status_code == 201, created.text
    site = created.json()
    assert site["name"] == "Hof Sonnenberg" and site["grid_limit_a"] == 63 and site["phases"] == 3
    assert [d["asset_id"] for d in site["devices"]] == ["pv-roof", "grid-1", "bat-1", "wb-mqtt"]
    assert site["devices"][3]["pin_to_phase_mapping"] == {"1": "L2", "2": "L3", "3": "L1"}
    assert [d["switch_phases"] for d in site["devices"]] == [False, False, False, False]  # the default
    assert site["mqtt"] == {
        "measurements_topic": f"pipelet/sites/{site['id']}/measurements",
        "transactions_topic": f"pipelet/sites/{site['id']}/transactions",
    }
    assert created.headers["location"] == f"/api/v1/sites/{site['id']}"
    assert client.get(f"/api/v1/sites/{site['id']}", headers=son).json() == site
    listed = client.get("/api/v1/sites", headers=son).json()
    assert site["id"] in [s["id"] for s in listed] and len(listed) == 3  # two demo sites + this one
    with session_scope() as db:
        pv_device = db.exec(select(SiteDevice).where(SiteDevice.asset_id == "pv-roof")).one()
        assert db.get(Site, site["id"]).has_pv_meter

    patched = client.patch(
        f"/api/v1/sites/{site['id']}",
        json={"grid_limit_a": 40, "devices": [{"asset_id": "pv-roof", "kind": "pv"}]},
        headers=son,
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["grid_limit_a"] == 40 and body["name"] == "Hof Sonnenberg"  # untouched fields stay
    assert [d["asset_id"] for d in body["devices"]] == ["pv-roof"]
    with session_scope() as db:  # a kept asset keeps its row (its samples stay attached)
        assert db.exec(select(SiteDevice).where(SiteDevice.asset_id == "pv-roof")).one().id == pv_device.id

    no_pv = client.patch(f"/api/v1/sites/{site['id']}", json={"devices": []}, headers=son)
    assert no_pv.json()["devices"] == []
    with session_scope() as db:
        assert not db.get(Site, site["id"]).has_pv_meter


def test_an_ocpp_charger_device_needs_its_charger_at_the_site(
    client: TestClient, son: dict[str, str]
) -> None:
    site_id = _site_of("SON-CP-001")
    ok = client.patch(
        f"/api/v1/sites/{site_id}",
        json={
            "devices": [
                {
                    "asset_id": "cp1-1",
                    "kind": "charger",
                    "charge_point_id": "SON-CP-001",
                    "connector_id": 1,
                    "switch_phases": True,
                }
            ]
        },
        headers=son,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["devices"][0]["charge_point_id"] == "SON-CP-001"
    assert ok.json()["devices"][0]["switch_phases"] is True
    with session_scope() as db:
        assert db.exec(select(SiteDevice).where(SiteDevice.asset_id == "cp1-1")).one().switch_phases
    elsewhere = client.patch(
        f"/api/v1/sites/{site_id}",
        json={
            "devices": [
                {"asset_id": "c", "kind": "charger", "charge_point_id": "SON-CP-003", "connector_id": 1}
            ]
        },
        headers=son,
    )
    assert elsewhere.status_code == 422
    assert elsewhere.json()["error"]["message"].startswith("devices[0].charge_point_id: ")
    foreign = client.patch(
        f"/api/v1/sites/{site_id}",
        json={
            "devices": [
                {"asset_id": "c", "kind": "charger", "charge_point_id": "NW-CP-001", "connector_id": 1}
            ]
        },
        headers=son,
    )
    assert foreign.status_code == 422 and "no charger 'NW-CP-001' in your tenant" in foreign.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"latitude": 91}, "latitude"),
        ({"grid_limit_a": 0}, "grid_limit_a"),
        ({"phases": 2}, "phases"),
        ({"devices": [{"asset_id": "a", "kind": "wind"}]}, "devices[0].kind:"),
        (
            {"devices": [{"asset_id": "a", "kind": "pv"}, {"asset_id": "a", "kind": "grid"}]},
            "devices[1].asset_id",
        ),
        ({"devices": [{"asset_id": "bad id!", "kind": "pv"}]}, "devices[0].asset_id"),
        (
            {"devices": [{"asset_id": "a", "kind": "pv", "charge_point_id": "SON-CP-001"}]},
            "devices[0].charge_point_id",
        ),
        (
            {"devices": [{"asset_id": "a", "kind": "charger", "charge_point_id": "SON-CP-001"}]},
            "devices[0].connector_id",
        ),
        (
            {"devices": [{"asset_id": "a", "kind": "charger", "pin_to_phase_mapping": {"1": "L4"}}]},
            "devices[0].pin_to_phase_mapping.1:",
        ),
        ({"devices": [{"asset_id": "a", "kind": "pv", "switch_phases": True}]}, "devices[0].switch_phases:"),
    ],
)
def test_bad_input_names_the_field(client: TestClient, son: dict[str, str], change: dict, field: str) -> None:
    response = client.post("/api/v1/sites", json={**SITE, **change}, headers=son)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"].startswith(field), response.text


@pytest.mark.parametrize("body", [[1], "a site", 3])
def test_a_body_of_the_wrong_shape_is_named_as_the_body(
    client: TestClient, son: dict[str, str], body: object
) -> None:
    """JSON that is not an object has no field path; the message names the body, not an empty field."""
    response = client.post("/api/v1/sites", json=body, headers=son)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["message"].startswith("body: ") and error["fields"][0]["field"] == "body", response.text


@pytest.mark.parametrize("body", [b"{nope", b'{"name": "x",', b"\xff\xfe{}"])
def test_a_body_that_is_not_json_is_400_naming_the_body(
    client: TestClient, son: dict[str, str], body: bytes
) -> None:
    """As the OpenAPI documents (400), not a 422 whose `field` is the byte offset of the JSON error."""
    headers = {**son, "content-type": "application/json"}
    for answer in (
        client.post("/api/v1/sites", content=body, headers=headers),
        client.patch("/api/v1/sites/1", content=body, headers=headers),
    ):
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["message"].startswith("body: not JSON"), answer.text


def test_other_tenants_and_roles_see_nothing(
    client: TestClient, son: dict[str, str], nw: dict[str, str]
) -> None:
    site_id = _site_of("SON-CP-001")
    for method, path, body in (
        ("GET", f"/api/v1/sites/{site_id}", None),
        ("PATCH", f"/api/v1/sites/{site_id}", {"name": "mine now"}),
        ("GET", f"/api/v1/sites/{site_id}/energy", None),
    ):
        response = client.request(method, path, json=body, headers=nw)
        assert response.status_code == 404, (method, path, response.text)
    assert site_id not in [s["id"] for s in client.get("/api/v1/sites", headers=nw).json()]
    assert client.get("/api/v1/sites/999999", headers=son).status_code == 404
    fleet = key_of("fleet@acme.demo")
    assert client.get("/api/v1/sites", headers=fleet).status_code == 403
    assert client.post("/api/v1/sites", json=SITE, headers=fleet).status_code == 403
    assert client.get("/api/v1/sites").status_code == 401
    with session_scope() as db:
        assert db.get(Site, site_id).name != "mine now"


def test_energy_series_and_totals(client: TestClient, son: dict[str, str]) -> None:
    site = client.post("/api/v1/sites", json=SITE, headers=son).json()
    with session_scope() as db:
        ids = {d.asset_id: d.id for d in db.exec(select(SiteDevice).where(SiteDevice.site_id == site["id"]))}
        samples = []
        for minute in range(4):
            at = T0 + timedelta(minutes=minute, seconds=10)
            samples += [
                SampleIn(site["id"], ids["pv-roof"], "pv", at, 6000.0),
                SampleIn(site["id"], ids["grid-1"], "grid", at, -1200.0 if minute < 2 else 600.0),
                SampleIn(site["id"], ids["bat-1"], "battery", at, 0.0, soc=50.0 + minute),
                SampleIn(site["id"], ids["wb-mqtt"], "charger", at, 3000.0),
            ]
        write_batch(db, samples, now=T0 + timedelta(minutes=5))
    params = {"from": "2026-06-01T10:00:00Z", "to": "2026-06-01T10:04:00Z", "step": "2m"}
    response = client.get(f"/api/v1/sites/{site['id']}/energy", params=params, headers=son)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [p["time_utc"][:16] for p in body["series"]] == ["2026-06-01T10:00", "2026-06-01T10:02"]
    first, second = body["series"]
    assert (first["pv_w"], first["grid_w"], first["ev_w"], first["battery_soc"]) == (6000, -1200, 3000, 50.5)
    assert first["load_w"] == 6000 - 1200 - 3000  # house = pv + grid + battery - cars
    assert second["grid_w"] == 600 and second["load_w"] == 3600
    totals = body["totals"]
    assert totals["pv_wh"] == 400  # 6 kW for 4 minutes
    assert totals["grid_export_wh"] == 40 and totals["grid_import_wh"] == 20
    assert totals["ev_wh"] == 200
    # minutes 0-1: 6 kW PV - 1.8 kW house -> 3 kW to the car; minutes 2-3: 6 - 3.6 = 2.4 kW
    assert totals["ev_solar_wh"] == pytest.approx((3000 * 2 + 2400 * 2) / 60)
    for bad, field in (
        ({"step": "7s"}, "step"),
        ({"from": "2026-06-02T00:00:00Z"}, "from"),
        ({"from": "2026-01-01T00:00:00Z"}, "to"),
        ({"from": "2026-06-01T10:00:00"}, "from"),
    ):
        answer = client.get(f"/api/v1/sites/{site['id']}/energy", params={**params, **bad}, headers=son)
        assert answer.status_code == 422 and answer.json()["error"]["message"].startswith(field), answer.text
