"""Every portal loader checks role and tenant itself, whatever page the client claims to be on."""

from __future__ import annotations

import pytest
from sqlmodel import select

from pipelet_app.auth import Forbidden, Principal
from pipelet_app.db import session_scope
from pipelet_app.db.models import Role, User
from pipelet_app.portals.admin.data import admin_overview
from pipelet_app.portals.driver.data import driver_overview
from pipelet_app.portals.fleet.data import fleet_overview
from pipelet_app.portals.operator.data import operator_overview
from pipelet_app.services.investors import investor_overview

LOADERS = {
    Role.DRIVER: driver_overview,
    Role.FLEET_MANAGER: fleet_overview,
    Role.OPERATOR: operator_overview,
    Role.INVESTOR: investor_overview,
    Role.ADMIN: admin_overview,
}
LOGIN_OF = {
    Role.DRIVER: "driver@acme.demo",
    Role.FLEET_MANAGER: "fleet@acme.demo",
    Role.OPERATOR: "operator@sonnenstrom.demo",
    Role.INVESTOR: "investor@pipelet.demo",
    Role.ADMIN: "admin@pipelet.demo",
}


def _principal(email: str) -> Principal:
    with session_scope() as db:
        return Principal.of(db.exec(select(User).where(User.email == email)).one())


@pytest.mark.parametrize("caller", list(Role))
@pytest.mark.parametrize("page", list(Role))
def test_only_the_pages_role_may_load_it(demo: dict, caller: Role, page: Role) -> None:
    principal = _principal(LOGIN_OF[caller])
    with session_scope() as db:
        if caller == page:
            assert LOADERS[page](db, principal)
        else:
            with pytest.raises(Forbidden):
                LOADERS[page](db, principal)


@pytest.mark.dates
def test_driver_sees_own_sessions_only(demo: dict) -> None:
    with session_scope() as db:
        acme = driver_overview(db, _principal("driver@acme.demo"))
        globex = driver_overview(db, _principal("driver@globex.demo"))
    assert acme["sessions"] and globex["sessions"]
    acme_stations = {s["station"] for s in acme["sessions"] if s["source"] == "ocpp-wallbox"}
    globex_stations = {s["station"] for s in globex["sessions"] if s["source"] == "ocpp-wallbox"}
    assert acme_stations <= {"SON-CP-001", "SON-CP-002", "SON-CP-003"}
    assert globex_stations <= {"NW-CP-001", "NW-CP-002"}
    assert [t["token"] for t in acme["tokens"]] == ["ACME0001"]


def test_tenants_never_see_each_other(demo: dict) -> None:
    with session_scope() as db:
        acme = fleet_overview(db, _principal("fleet@acme.demo"))
        globex = fleet_overview(db, _principal("fleet@globex.demo"))
        sonnen = operator_overview(db, _principal("operator@sonnenstrom.demo"))
        north = operator_overview(db, _principal("operator@northwind.demo"))
    assert {d["name"] for d in acme["drivers"]} == {"Dana Driver", "Emil Ernst", "Lena Lang", "Tom Weber"}
    assert {d["name"] for d in globex["drivers"]} == {"Dirk Globex", "Maya Moore", "Sam Ortiz"}
    assert {c["id"] for c in sonnen["chargers"]} == {"SON-CP-001", "SON-CP-002", "SON-CP-003"}
    assert {c["id"] for c in north["chargers"]} == {"NW-CP-001", "NW-CP-002"}
    assert all(s["station"].startswith("NW-") for s in north["sessions"])


def test_investor_sees_only_own_partnerships(demo: dict) -> None:
    with session_scope() as db:
        mine = investor_overview(db, _principal("investor@pipelet.demo"))
        other = investor_overview(db, _principal("investor2@pipelet.demo"))
    assert [p["partner"] for p in mine["partnerships"]] == ["Evergreen Tax Equity LLC"]
    assert [p["partner"] for p in other["partnerships"]] == ["Harbor Renewables Fund LP"]


@pytest.mark.dates
def test_fleet_totals_add_up(demo: dict) -> None:
    with session_scope() as db:
        drivers = fleet_overview(db, _principal("fleet@acme.demo"))["drivers"]
    for row in drivers:
        parts = sum(float(row[k].replace(",", "")) for k in ("ocpp_kwh", "pv_kwh", "public_kwh"))
        assert parts == pytest.approx(float(row["total_kwh"].replace(",", "")), abs=0.15)
