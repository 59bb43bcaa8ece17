"""The onboarding pages' data layer on both databases: claim (password returned for the one-off script),
id tokens (issue, block, expire, delete, CSV import with row errors), fleet customers and drivers, the
charger setup card (name, network, profile, retire, firmware, trail); other tenants and roles refused."""

from __future__ import annotations

import pytest
from sqlmodel import select

from pipelet_app.auth import Forbidden, InvalidInput, NotFound, Principal
from pipelet_app.db import session_scope
from pipelet_app.db.models import User
from pipelet_app.ocpp.chargers import register_charger
from pipelet_app.portals.operator import onboarding_data as data


def _principal(email: str) -> Principal:
    with session_scope() as db:
        return Principal.of(db.exec(select(User).where(User.email == email)).one())


def test_claim_setup_and_retire(demo: dict) -> None:
    son = _principal("operator@sonnenstrom.demo")
    north = _principal("operator@northwind.demo")
    with session_scope() as db:
        register_charger(db, "PAGE-CP-1")
        db.commit()
        site = data.site_choices(db, son)[0]["id"]
        with pytest.raises(InvalidInput, match=r"^site_id"):
            data.claim(db, son, {"charge_point_id": "PAGE-CP-1", "site_id": ""})
        claimed = data.claim(db, son, {"charge_point_id": "PAGE-CP-1", "site_id": site})
        assert claimed["id"] == "PAGE-CP-1" and len(claimed["password"]) >= 16
        with pytest.raises(NotFound):
            data.claim(
                db, north, {"charge_point_id": "PAGE-CP-1", "site_id": data.site_choices(db, north)[0]["id"]}
            )
        data.save_charger(db, son, "PAGE-CP-1", {"display_name": "Tor 2", "network": "tesla"})
        data.set_profile(db, son, "PAGE-CP-1", "1")
        with pytest.raises(NotFound):
            data.charger_setup(db, north, "PAGE-CP-1")
        data.charger_admin.retire_charger(db, son, "PAGE-CP-1")
        view = data.charger_setup(db, son, "PAGE-CP-1")
    assert view["form"] == {"display_name": "Tor 2", "network": "tesla", "security_profile": "1"}
    assert view["retired"] is True
    actions = [h["action"] for h in view["history"]]
    assert actions[0] == "ChargerRetired" and actions[-1] == "ChargerClaimed"
    assert {"SecurityProfileChanged", "ChargerUpdated"} <= set(actions)
    assert claimed["password"] not in str(view)


def test_tokens_and_customers(demo: dict) -> None:
    son = _principal("operator@sonnenstrom.demo")
    with session_scope() as db:
        data.fleet_customers.create_customer(db, son, "Stadtwerke")
        fleet = next(c for c in data.customers_view(db, son)["customers"] if c["name"] == "Stadtwerke")
        data.add_driver(db, son, {"fleet_id": fleet["id"], "name": "Uli", "email": ""})
        view = data.tokens_view(db, son)
        uli = next(d for d in view["drivers"] if d["label"] == "Uli (Stadtwerke)")
        data.issue_token(
            db,
            son,
            {"token": "PG-1", "type": "ISO14443", "driver_id": uli["id"], "expires_utc": "2099-01-01"},
        )
        data.token_action(db, son, "PG-1", "block")
        row = next(t for t in data.tokens_view(db, son)["tokens"] if t["token"] == "PG-1")
        assert (row["driver"], row["status"], row["expires"]) == ("Uli", "Blocked", "2099-01-01 00:00 UTC")
        data.token_action(db, son, "PG-1", "unblock")
        data.token_action(db, son, "PG-1", "expire")
        assert (
            next(t for t in data.tokens_view(db, son)["tokens"] if t["token"] == "PG-1")["status"]
            == "Expired"
        )
        assert [h["action"] for h in data.token_history(db, son, "PG-1")][-1] == "IdTokenIssued"
        result = data.import_tokens(db, son, "token,blocked\nPG-2,\nPG-2,\n+SUM(1),\n")
        assert result["summary"] == {"created": "1", "updated": "0", "unchanged": "0"}
        assert [(e["row"], e["field"]) for e in result["errors"]] == [("3", "token"), ("4", "token")]
        assert result["errors"][1]["value"] == "'+SUM(1)"
        data.token_action(db, son, "PG-2", "delete")
        customers = data.customers_view(db, son)["customers"]
    assert next(c for c in customers if c["name"] == "Stadtwerke")["drivers"] == "Uli"


def test_other_roles_are_refused(demo: dict) -> None:
    fleet = _principal("fleet@acme.demo")
    with session_scope() as db:
        for call in (data.tokens_view, data.customers_view, data.site_choices):
            with pytest.raises(Forbidden):
                call(db, fleet)
        with pytest.raises(Forbidden):
            data.charger_setup(db, fleet, "SON-CP-001")
