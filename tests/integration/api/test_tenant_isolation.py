"""The outside reviewer's sweep, walked from the published OpenAPI spec: another tenant's keys, other
roles, forged and oversized input, on every route.

* Every route with an object id in its path is called with tenant A's object (seeded realistically:
  the demo, plus a running session, an imported and a voided public session, an id token, a network
  account, an inverter link, a payment, a reimbursement statement) by tenant B's key: it must answer
  404 with the very body B gets for an id that does not exist (so nothing tells B the object exists),
  and change nothing. Every other role's key answers 403 or 404.
* Every JSON write route refuses a 2 MB body, each field of the wrong type, each string with a NUL and
  each integer beyond the database's range with a 4xx whose message names the field (never a 500); so
  do forged path ids and query parameters.

The routes come from `/api/v1/openapi.json`, so a route added later is swept without touching this file;
a path parameter the sweep does not know how to fill fails `test_every_path_id_is_swept` (add it to
PARAMS). One test per backend and concern (the demo is seeded once per test).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app.api import build_api
from pipelet_app.api.ratelimit import limiter_for
from pipelet_app.auth import Principal
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    Payment,
    ReimbursementStatement,
    SessionSource,
    SiteDevice,
    SiteInverter,
    SpvPartner,
    User,
)
from pipelet_app.db.models.sites import DeviceKind
from pipelet_app.fleet.voids import void_session
from pipelet_app.ocpp.chargers import register_charger
from pipelet_app.services.networks import save_account
from tests.integration.api.onboarding_helpers import NORTH, SONNEN, driver_of, fleet_id, key_of, site_of

SPEC = build_api().openapi()
WRITE = ("post", "put", "patch")
TWO_MB = 2 * 1024 * 1024

OPERATOR = (SONNEN, NORTH)  # (owner, intruder of another tenant)
FLEET = ("fleet@acme.demo", "fleet@globex.demo")
DRIVER = ("driver@acme.demo", "driver@globex.demo")
INVESTOR = ("investor@pipelet.demo", "investor2@pipelet.demo")  # two partners of one fund
LOGINS = [*OPERATOR, *FLEET, *DRIVER, *INVESTOR]
ONE_PER_ROLE = [OPERATOR[0], FLEET[0], DRIVER[0], INVESTOR[0]]  # the outsiders (tenant A's own users)

# Whose object a path holds: (path prefix, (owner, intruder), logins that may also use it). A login of
# each other role, of tenant A itself (admin aside), is an outsider and gets 403 or 404.
OWNERS: list[tuple[str, tuple[str, str], set[str]]] = [
    ("/api/v1/fleet/", FLEET, set()),
    ("/api/v1/investors/", INVESTOR, set()),
    ("/api/v1/sessions/{transaction_id}/preferences", DRIVER, {"fleet@acme.demo"}),
    ("/api/v1/", OPERATOR, set()),
]

# Path parameters: tenant A's value and one that exists nowhere. Filled in by `seeded`; a path overrides
# a parameter where one name means different objects.
PARAMS: dict[str, tuple[str, str]] = {}
PATH_PARAMS: dict[str, dict[str, str]] = {
    "/api/v1/fleet/sessions/{transaction_id}/void": {"transaction_id": "ISO-PUB-1"},
    "/api/v1/fleet/sessions/{transaction_id}/restore": {"transaction_id": "ISO-PUB-VOID"},
}
# Values that are not objects of a tenant (the caller's own scope is implied): never replaced.
NOT_IDS = {"name": "reset", "connector_id": "1", "source": "public", "year": "2025"}

# A valid body per write route where the schema's minimal example would not get past validation.
BODIES: dict[tuple[str, str], Any] = {
    ("post", "/api/v1/sites"): {"name": "x", "timezone": "UTC"},
    ("patch", "/api/v1/chargers/{charge_point_id}"): {"name": "x"},
    ("put", "/api/v1/chargers/{charge_point_id}/security-profile"): {"security_profile": 1},
    ("put", "/api/v1/chargers/{charge_point_id}/auth-mode"): {"auth_mode": "basic"},
    ("put", "/api/v1/chargers/{charge_point_id}/pricing"): {"plan_id": None},
    ("put", "/api/v1/chargers/{charge_point_id}/connectors/{connector_id}"): {"max_power_w": 11000},
    ("post", "/api/v1/chargers/{charge_point_id}/commands/{name}"): {},
    ("patch", "/api/v1/id-tokens/{token}"): {"blocked": True},
    ("put", "/api/v1/networks/{account_id}/credentials"): {"credentials": {"api_key": "x"}},
    ("post", "/api/v1/sites/{site_id}/inverters"): {"brand": "solaredge", "credentials": {"api_key": "x"}},
    ("put", "/api/v1/sites/{site_id}/energy-price"): {"per_kwh": "0.10"},
    ("put", "/api/v1/sessions/{transaction_id}/preferences"): {"mode": "pv-only"},
    ("post", "/api/v1/payments/{payment_id}/refund"): {"amount": "1.00"},
    ("post", "/api/v1/payments/terminal"): {
        "charge_point_id": "SON-CP-001",
        "connector_id": 1,
        "psp_ref": "PSP-ISO",
        "amount": "20.00",
    },
    ("post", "/api/v1/fleet/sessions/{transaction_id}/void"): {"reason": "duplicate"},
    ("put", "/api/v1/fleet/reimbursement/rates/{source}"): {"rate_per_kwh": "0.30"},
}


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _branches(schema: dict) -> list[dict]:
    schema = _resolve(schema)
    options = schema.get("anyOf") or schema.get("oneOf")
    return [_resolve(s) for s in options] if options else [schema]


def example(schema: dict) -> Any:
    """The least valid value of a schema: required properties only, the first enum value, the minimum."""
    branch = next((s for s in _branches(schema) if s.get("type") != "null"), {})
    if "enum" in branch:
        return branch["enum"][0]
    kind = branch.get("type")
    if kind == "object":
        props = branch.get("properties", {})
        return {name: example(props[name]) for name in branch.get("required", []) if name in props}
    if kind == "array":
        return []
    if kind == "integer":
        return max(1, int(branch.get("minimum", 1)))
    if kind == "number":
        return max(1, branch.get("minimum", 1))
    if kind == "boolean":
        return False
    if branch.get("format") == "date-time":
        return (utcnow() + timedelta(hours=1)).isoformat()
    return "x"


def json_body(method: str, path: str, operation: dict) -> tuple[bool, Any]:
    """(has a JSON body, a valid one)."""
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return False, None
    if (method, path) in BODIES:
        return True, BODIES[method, path]
    return True, example(content["application/json"]["schema"])


def operations() -> Iterator[tuple[str, str, dict]]:
    for path, methods in SPEC["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def owners_of(path: str) -> tuple[tuple[str, str], set[str]]:
    return next((pair, extra) for prefix, pair, extra in OWNERS if path.startswith(prefix))


def values(path: str, missing: bool = False) -> dict[str, str]:
    """The path's parameters filled with tenant A's objects (or, `missing`, ids that exist nowhere)."""
    overrides = PATH_PARAMS.get(path, {})
    out = {}
    for name in re.findall(r"\{(\w+)\}", path):
        if name in NOT_IDS:
            out[name] = NOT_IDS[name]
        else:
            owned, absent = PARAMS[name]
            out[name] = absent if missing else overrides.get(name, owned)
    return out


def fill(path: str, missing: bool = False) -> str:
    return path.format(**values(path, missing))


def _masked(text: str, path: str, missing: bool = False) -> str:
    """An error text with the path's ids blanked: a message may echo the id asked for."""
    for name, value in sorted(values(path, missing).items(), key=lambda item: -len(item[1])):
        if name not in NOT_IDS:
            text = text.replace(value, "<id>")
    return text


def _user(db, email: str) -> User:
    return db.exec(select(User).where(User.email == email)).one()


@pytest.fixture
def seeded(demo: dict) -> Iterator[dict[str, dict[str, str]]]:
    """Tenant A's objects, made through the services where one exists, and a key per login."""
    now = utcnow()
    site, dana, acme = site_of(SONNEN), driver_of("acme"), fleet_id("acme")
    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == "SON-CP-001")).one()
        for tx, source, charger_id in [
            ("ISO-TX-1", SessionSource.OCPP_WALLBOX, charger.id),
            ("ISO-PUB-1", SessionSource.PUBLIC, None),
            ("ISO-PUB-VOID", SessionSource.PUBLIC, None),
        ]:
            db.add(
                ChargingSession(
                    transaction_id=tx,
                    station_id="SON-CP-001" if charger_id else "public",
                    source=source,
                    driver_id=dana,
                    charger_id=charger_id,
                    connector_id=1 if charger_id else None,
                    start_utc=now - timedelta(hours=1),
                    end_utc=None if charger_id else now - timedelta(minutes=10),
                    energy_wh=5000.0,
                )
            )
        db.flush()
        void_session(db, Principal.of(_user(db, FLEET[0])), "ISO-PUB-VOID", "seeded")
        account = save_account(db, Principal.of(_user(db, SONNEN)), "helios", "iso", {"api_key": "k"})
        device = SiteDevice(site_id=site, asset_id="solaredge-pv", kind=DeviceKind.PV)
        db.add(device)
        db.flush()
        link = SiteInverter(
            site_id=site, device_id=device.id or 0, brand="solaredge", system_id="1", credentials_enc=""
        )
        payment = Payment(
            tenant_id=charger.tenant_id,
            charger_id=charger.id or 0,
            connector_id=1,
            id_tag="PAY-ISO",
            request_key="iso-request",
            public_token="iso-public",
            authorized_amount=30,
        )
        statement = ReimbursementStatement(fleet_id=acme, driver_id=dana, month=now.strftime("%Y-%m"))
        db.add_all([link, payment, statement])
        db.flush()
        partner = db.exec(select(SpvPartner).where(SpvPartner.user_id == _user(db, INVESTOR[0]).id)).one()
        ids = {"link": link.id, "payment": payment.id, "statement": statement.id, "partner": partner.id}
    limiter_for.cache_clear()
    keys = {email: key_of(email) for email in LOGINS}
    PARAMS.update(
        {
            "site_id": (str(site), "999999"),
            "charge_point_id": ("SON-CP-001", "NO-SUCH-CP"),
            "transaction_id": ("ISO-TX-1", "NO-SUCH-TX"),
            "link_id": (str(ids["link"]), "999999"),
            "payment_id": (str(ids["payment"]), "999999"),
            "fleet_id": (str(acme), "999999"),
            "token": ("ISO-1", "NO-SUCH-TOKEN"),
            "account_id": (str(account["id"]), "999999"),
            "statement_id": (str(ids["statement"]), "999999"),
            "partner_id": (str(ids["partner"]), "999999"),
        }
    )
    yield keys
    PARAMS.clear()


@pytest.fixture
def client(seeded: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("API_RATE_LIMIT_PER_MINUTE", "1000000")  # a sweep, not a flood
    from pipelet_app.settings import get_settings

    get_settings.cache_clear()
    limiter_for.cache_clear()
    with TestClient(build_api(), raise_server_exceptions=False) as test_client:
        assert (
            test_client.post("/api/v1/id-tokens", json={"token": "ISO-1"}, headers=seeded[SONNEN]).status_code
            == 201
        )
        yield test_client


def _id_routes() -> list[tuple[str, str, dict]]:
    return [(m, p, op) for m, p, op in operations() if set(re.findall(r"\{(\w+)\}", p)) - set(NOT_IDS)]


def test_every_path_id_is_swept() -> None:
    names = {n for _, p, _ in _id_routes() for n in re.findall(r"\{(\w+)\}", p)} - set(NOT_IDS)
    known = {"site_id", "charge_point_id", "transaction_id", "link_id", "payment_id", "fleet_id", "token"}
    known |= {"account_id", "statement_id", "partner_id"}
    assert names <= known, f"fill these path parameters in `seeded`: {names - known}"


def test_another_tenants_objects_read_as_missing(client: TestClient, seeded: dict) -> None:
    leaks, refused = [], []
    for method, path, operation in _id_routes():
        (owner, intruder), allowed = owners_of(path)
        has_body, body = json_body(method, path, operation)
        kwargs = {"json": body} if has_body else {}
        foreign = client.request(method, fill(path), headers=seeded[intruder], **kwargs)
        missing = client.request(method, fill(path, missing=True), headers=seeded[intruder], **kwargs)
        if foreign.status_code != 404 or _masked(foreign.text, path) != _masked(missing.text, path, True):
            leaks.append((method, path, foreign.status_code, foreign.text[:160], missing.text[:160]))
        for outsider in set(ONE_PER_ROLE) - {owner, intruder} - allowed:
            answer = client.request(method, fill(path), headers=seeded[outsider], **kwargs)
            if answer.status_code not in (403, 404):
                refused.append((outsider, method, path, answer.status_code, answer.text[:160]))
    assert (leaks, refused) == ([], [])
    # ... and nothing changed: tenant A still has its objects as they were
    owner = seeded[SONNEN]
    assert client.get("/api/v1/id-tokens/ISO-1", headers=owner).json()["blocked"] is False
    assert client.get("/api/v1/chargers/SON-CP-001", headers=owner).json()["retired_utc"] is None
    assert client.get(fill("/api/v1/networks/{account_id}"), headers=owner).status_code == 200
    assert len(client.get(fill("/api/v1/sites/{site_id}/inverters"), headers=owner).json()) == 1
    # The control: the owner's same request finds the object (so the 404s above were the ownership check,
    # not a seed the route does not know; a 422 past the look-up, such as "only a captured payment can be
    # refunded", counts as found). Deletes last; the inverter link would call SolarEdge's cloud.
    misses = []
    for method, path, operation in sorted(_id_routes(), key=lambda route: route[0] == "delete"):
        if (method, path) == ("post", "/api/v1/sites/{site_id}/inverters"):
            continue
        has_body, body = json_body(method, path, operation)
        answer = client.request(
            method, fill(path), headers=seeded[owners_of(path)[0][0]], **({"json": body} if has_body else {})
        )
        if answer.status_code in (401, 403, 404) or (method == "get" and answer.status_code != 200):
            misses.append((method, path, answer.status_code, answer.text[:160]))
    assert misses == []


def _owner_of(path: str) -> str:
    return owners_of(path)[0][0]


def _json_writes() -> list[tuple[str, str, dict, Any]]:
    out = []
    for method, path, operation in operations():
        has_body, body = json_body(method, path, operation)
        if method in WRITE and has_body and not path.endswith("/webhook"):
            out.append((method, path, operation, body))
    return out


def _wrong(schema: dict) -> Any:
    """A value of another JSON type than the field takes."""
    kinds = {s.get("type") for s in _branches(schema)}
    if not kinds or None in kinds:  # any JSON (a command's payload)
        return None
    return "not-a-list-or-object" if kinds & {"object", "array"} else {"wrong": "type"}


def test_forged_and_oversized_bodies_are_4xx_naming_the_field(client: TestClient, seeded: dict) -> None:
    bad = []
    for method, path, operation, body in _json_writes():
        key = seeded[_owner_of(path)]
        url = fill(path)
        big = client.request(method, url, headers=key, json={"padding": "x" * TWO_MB, **(body or {})})
        if not 400 <= big.status_code < 500 or "body" not in big.json()["error"]["message"]:
            bad.append((method, path, "2 MB", big.status_code, big.text[:160]))
        schema = _resolve(operation["requestBody"]["content"]["application/json"]["schema"])
        for field, field_schema in _resolve(next(iter(_branches(schema)))).get("properties", {}).items():
            forgeries = [_wrong(field_schema)]
            kinds = {s.get("type") for s in _branches(field_schema)} - {"null"}
            if "string" in kinds:
                forgeries.append("a\x00b")  # PostgreSQL refuses NUL in text
            if kinds == {"integer"}:
                forgeries += [2**31, 2**63]  # beyond PostgreSQL's int4 and SQLite's int64
            if "number" in kinds:
                forgeries.append(1e308)  # finite, and inf once summed
            for wrong in (f for f in forgeries if f is not None):
                answer = client.request(method, url, headers=key, json={**(body or {}), field: wrong})
                message = answer.json().get("error", {}).get("message", "") if answer.content else ""
                if not 400 <= answer.status_code < 500 or field not in message:
                    bad.append((method, path, field, repr(wrong), answer.status_code, answer.text[:160]))
        not_an_object = client.request(method, url, headers=key, json=["not", "an", "object"])
        if not 400 <= not_an_object.status_code < 500:
            bad.append((method, path, "[]", not_an_object.status_code, not_an_object.text[:160]))
    assert bad == []


FORGED_IDS = [str(2**31), str(2**63), "abc", "a%00b", "x" * 300]


def test_forged_path_ids_are_4xx(client: TestClient, seeded: dict) -> None:
    """Ids out of the database's range, of the wrong type or with a NUL, by the owner: a 4xx, never a 500;
    a NUL in a query parameter: a 422 naming it
    (on PostgreSQL an int4 overflow answered 500 on the site, inverter link, payment and fleet customer
    routes, and a NUL in a charge point, transaction or token id on every route taking one)."""
    bad = []
    for method, path, operation in _id_routes():
        has_body, body = json_body(method, path, operation)
        for name in set(re.findall(r"\{(\w+)\}", path)) - set(NOT_IDS):
            for forged in FORGED_IDS:
                url = path.format(**{**values(path), name: forged})
                answer = client.request(
                    method, url, headers=seeded[_owner_of(path)], **({"json": body} if has_body else {})
                )
                if not 400 <= answer.status_code < 500:
                    bad.append((method, path, name, forged, answer.status_code))
    for method, path, operation in operations():
        for parameter in (p["name"] for p in operation.get("parameters", []) if p["in"] == "query"):
            answer = client.request(
                method, fill(path), params={parameter: "a\x00b"}, headers=seeded[_owner_of(path)]
            )
            if answer.status_code != 422 or not answer.json()["error"]["message"].startswith(parameter):
                bad.append((method, path, parameter, "NUL", answer.status_code))
    assert bad == []


def test_object_references_in_bodies_stay_in_the_tenant(client: TestClient, seeded: dict) -> None:
    intruder = seeded[NORTH]
    with session_scope() as db:
        register_charger(db, "ISO-UNCLAIMED")
    checks = [
        ("POST", "/api/v1/chargers/ISO-UNCLAIMED/claim", {"site_id": site_of(SONNEN)}, 404),
        ("POST", "/api/v1/id-tokens", {"token": "ISO-2", "driver_id": driver_of("acme")}, 422),
        ("PATCH", "/api/v1/chargers/NW-CP-001", {"site_id": site_of(SONNEN)}, 422),
    ]
    for method, path, body, status in checks:
        answer = client.request(method, path, json=body, headers=intruder)
        assert answer.status_code == status, (path, answer.text)


ROLE_ONLY_PREFIXES = ("/api/v1/id-tokens", "/api/v1/fleet-customers", "/api/v1/reports", "/api/v1/networks")


def test_other_roles_are_refused_on_operator_routes_without_ids(client: TestClient, seeded: dict) -> None:
    """The list and create routes of operator objects: no other role reaches them."""
    allowed = []
    for method, path, operation in operations():
        if "{" in path or not path.startswith(ROLE_ONLY_PREFIXES):
            continue
        has_body, body = json_body(method, path, operation)
        for email in ("fleet@acme.demo", "driver@acme.demo", "investor@pipelet.demo"):
            answer = client.request(
                method, path, headers=seeded[email], **({"json": body} if has_body else {})
            )
            if answer.status_code != 403:
                allowed.append((email, method, path, answer.status_code))
    assert allowed == []
