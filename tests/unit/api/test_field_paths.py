"""One way to name a field inside a body, whoever finds it wrong: the request schema (FastAPI/pydantic),
the NUL guard in front of every route and the services all answer `devices[1].asset_id` (keys by dots,
list positions in brackets), never `devices.1.asset_id`. Walked through the real sites router, with the
caller and the database replaced: every refusal here happens before the database is read."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pipelet_app.api.deps import caller, db_session
from pipelet_app.api.errors import RequestGuard, field_path, install_error_handlers
from pipelet_app.api.sites import router
from pipelet_app.auth import Principal
from pipelet_app.db.models import Role
from pipelet_app.ocpp.errors import CallRejected
from pipelet_app.ocpp.validation import validate as validate_request


@pytest.fixture
def client() -> TestClient:
    api = FastAPI()
    install_error_handlers(api)
    api.include_router(router)
    operator = Principal(user_id=1, email="op@example.test", name="Op", role=Role.OPERATOR, tenant_id=1)
    api.dependency_overrides[caller] = lambda: operator
    api.dependency_overrides[db_session] = lambda: None  # touched only by a valid body
    return TestClient(RequestGuard(api))


SITE = {"name": "Hof", "timezone": "Europe/Berlin"}


@pytest.mark.parametrize(
    ("devices", "field"),
    [
        # the request schema: a wrong kind on the second device, a bad phase deep in a mapping
        ([{"asset_id": "a", "kind": "pv"}, {"asset_id": "b", "kind": "wind"}], "devices[1].kind"),
        (
            [{"asset_id": "a", "kind": "charger", "pin_to_phase_mapping": {"2": "L4"}}],
            "devices[0].pin_to_phase_mapping.2",
        ),
        ([{"asset_id": "a", "kind": "pv"}, {"kind": "pv"}], "devices[1].asset_id"),
        # the sites service: the same asset twice, a pv device naming a charge point
        ([{"asset_id": "a", "kind": "pv"}, {"asset_id": "a", "kind": "grid"}], "devices[1].asset_id"),
        ([{"asset_id": "a", "kind": "pv", "charge_point_id": "CP-1"}], "devices[0].charge_point_id"),
        # the NUL guard, before any route reads the body
        ([{"asset_id": "a", "kind": "pv"}, {"asset_id": "b\x00", "kind": "pv"}], "devices[1].asset_id"),
    ],
)
def test_a_nested_bad_field_is_named_with_brackets(client: TestClient, devices: list, field: str) -> None:
    answer = client.post("/sites", json={**SITE, "devices": devices})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["message"].startswith(f"{field}: "), error
    for named in error.get("fields") or []:
        assert named["field"] == field, error


def test_field_path_joins_keys_by_dots_and_positions_in_brackets() -> None:
    assert field_path(["devices", 1, "asset_id"]) == "devices[1].asset_id"
    assert field_path(["windows", 0, "rate", "per_kwh"]) == "windows[0].rate.per_kwh"
    assert field_path(["pin_to_phase_mapping", "1"]) == "pin_to_phase_mapping.1"  # a key, not a position
    assert field_path([0, "name"]) == "[0].name"  # a top-level list
    assert field_path(["name"]) == "name"
    assert field_path([]) == ""


@pytest.mark.parametrize(
    ("version", "payload", "field"),
    [
        (  # OCPP 1.6 SetChargingProfile is checked by jsonschema (multipleOf 0.1 needs Decimal)
            "1.6",
            {
                "connectorId": 1,
                "csChargingProfiles": {
                    "chargingProfileId": 1,
                    "stackLevel": 0,
                    "chargingProfilePurpose": "TxProfile",
                    "chargingProfileKind": "Absolute",
                    "chargingSchedule": {
                        "chargingRateUnit": "A",
                        "chargingSchedulePeriod": [
                            {"startPeriod": 0, "limit": 6},
                            {"startPeriod": 60, "limit": "x"},
                        ],
                    },
                },
            },
            "csChargingProfiles.chargingSchedule.chargingSchedulePeriod[1].limit",
        ),
        (  # 2.0.1 by fastjsonschema
            "2.0.1",
            {
                "evseId": 1,
                "chargingProfile": {
                    "id": 1,
                    "stackLevel": 0,
                    "chargingProfilePurpose": "TxProfile",
                    "chargingProfileKind": "Absolute",
                    "chargingSchedule": [
                        {
                            "id": 1,
                            "chargingRateUnit": "A",
                            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": "x"}],
                        }
                    ],
                },
            },
            "chargingProfile.chargingSchedule[0].chargingSchedulePeriod[0].limit",
        ),
    ],
)
def test_a_command_payload_names_its_field_the_same_way(version: str, payload: dict, field: str) -> None:
    """A command's OCPP payload (POST /chargers/{id}/commands/...) is refused before it is sent, naming the
    field in the same form (it was `chargingSchedule/0/limit`)."""
    with pytest.raises(CallRejected) as refused:
        validate_request(version, "SetChargingProfile", payload)
    assert refused.value.description.startswith(f"{field}: "), refused.value.description
