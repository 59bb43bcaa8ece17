"""Local authorization lists built from the database (TC_043_3/4/5): Full, then Differential against
the snapshot of what the charger last accepted, for 1.6 and 2.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from csms_helpers import add_charger, add_tenant, add_token, charger_row, url_of
from rawcp import RawChargePoint
from sqlmodel import col, delete, select

from pipelet_app.db import session_scope
from pipelet_app.db.models import IdToken, IdTokenStatus, LocalListEntry
from pipelet_app.ocpp.commands import send_command
from pipelet_app.ocpp.server import CsmsServer

SUBPROTOCOL = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}
EXPIRY = datetime(2031, 5, 1, 8, 30, tzinfo=UTC)


def item(version: str, token: str, status: str | None = None, **info: str) -> dict[str, Any]:
    """One localAuthorizationList item; no status = a removal. info: expiry=..., parent=..."""
    if version == "1.6":
        out: dict[str, Any] = {"idTag": token}
        if status is not None:
            out["idTagInfo"] = {"status": status}
            if "expiry" in info:
                out["idTagInfo"]["expiryDate"] = info["expiry"]
            if "parent" in info:
                out["idTagInfo"]["parentIdTag"] = info["parent"]
        return out
    out = {"idToken": {"idToken": token, "type": "Central"}}
    if status is not None:
        out["idTokenInfo"] = {"status": status}
        if "expiry" in info:
            out["idTokenInfo"]["cacheExpiryDateTime"] = info["expiry"]
        if "parent" in info:
            out["idTokenInfo"]["groupIdToken"] = {"idToken": info["parent"], "type": "Central"}
    return out


def request(version: str, number: int, update_type: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "listVersion" if version == "1.6" else "versionNumber": number,
        "updateType": update_type,
    }
    if items:
        out["localAuthorizationList"] = items
    return out


def held(charge_point_id: str) -> dict[str, tuple[str, datetime | None, str | None]]:
    charger_id = charger_row(charge_point_id).id
    with session_scope() as s:
        rows = s.exec(select(LocalListEntry).where(LocalListEntry.charger_id == charger_id)).all()
    return {r.id_token: (r.status, r.expires_at, r.parent_id_tag) for r in rows}


def answering(cp: RawChargePoint, status: str) -> list[dict[str, Any]]:
    received: list[dict[str, Any]] = []

    def respond(payload: dict[str, Any]) -> dict[str, Any]:
        received.append(payload)
        return {"status": status}

    cp.responders["SendLocalList"] = respond
    return received


def update_token(tenant: int, token: str, **values: object) -> None:
    with session_scope() as s:
        row = s.exec(select(IdToken).where(IdToken.tenant_id == tenant, IdToken.token == token)).one()
        for name, value in values.items():
            setattr(row, name, value)
        s.add(row)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_full_then_differential_from_the_database(csms_any: CsmsServer, version: str) -> None:
    tenant = add_tenant("op")
    other = add_tenant("other-op")
    add_charger("CP-L", tenant_id=tenant)
    add_token(tenant, "TAG-A")
    add_token(tenant, "TAG-B")
    add_token(tenant, "TAG-C", parent_id_tag="GROUP")
    add_token(other, "TAG-FOREIGN")  # another operator's token never reaches this charger
    async with RawChargePoint(url_of(csms_any), "CP-L", subprotocols=(SUBPROTOCOL[version],)) as cp:
        await (cp.boot16() if version == "1.6" else cp.boot201())
        received = answering(cp, "Accepted")
        assert await send_command("CP-L", "send-local-list", {"fromDatabase": True}) == {"status": "Accepted"}
        assert received[-1] == request(
            version,
            1,
            "Full",
            [
                item(version, "TAG-A", "Accepted"),
                item(version, "TAG-B", "Accepted"),
                item(version, "TAG-C", "Accepted", parent="GROUP"),
            ],
        )
        assert held("CP-L") == {
            "TAG-A": ("Accepted", None, None),
            "TAG-B": ("Accepted", None, None),
            "TAG-C": ("Accepted", None, "GROUP"),
        }
        assert charger_row("CP-L").local_list_version == 1

        # The operator adds a token, blocks one, deletes one, gives one an expiry; TAG-A is untouched.
        add_token(tenant, "TAG-D")
        update_token(tenant, "TAG-B", status=IdTokenStatus.BLOCKED)
        update_token(tenant, "TAG-C", expires_at=EXPIRY)
        with session_scope() as s:
            s.exec(delete(IdToken).where(col(IdToken.token) == "TAG-C"))  # type: ignore[call-overload]
        add_token(tenant, "TAG-E", expires_at=EXPIRY)
        differential = {"fromDatabase": True, "updateType": "Differential"}
        expected = request(
            version,
            2,
            "Differential",
            [
                item(version, "TAG-B", "Blocked"),
                item(version, "TAG-C"),  # removed: sent without info
                item(version, "TAG-D", "Accepted"),
                item(version, "TAG-E", "Accepted", expiry="2031-05-01T08:30:00.000Z"),
            ],
        )

        # TC_043_5: a charger that refuses the update keeps its list, and so does the snapshot.
        for refusal in ("VersionMismatch", "Failed"):
            received = answering(cp, refusal)
            assert await send_command("CP-L", "send-local-list", differential) == {"status": refusal}
            assert received == [expected]
            assert charger_row("CP-L").local_list_version == 1
            assert set(held("CP-L")) == {"TAG-A", "TAG-B", "TAG-C"}

        received = answering(cp, "Accepted")
        await send_command("CP-L", "send-local-list", differential)
        assert received == [expected]
        assert charger_row("CP-L").local_list_version == 2
        assert held("CP-L") == {
            "TAG-A": ("Accepted", None, None),
            "TAG-B": ("Blocked", None, None),
            "TAG-D": ("Accepted", None, None),
            "TAG-E": ("Accepted", EXPIRY, None),
        }

        # Nothing changed since: the differential only moves the version on.
        await send_command("CP-L", "send-local-list", differential)
        assert received[-1] == request(version, 3, "Differential", [])
        assert len(held("CP-L")) == 4 and charger_row("CP-L").local_list_version == 3

        # An expired token is sent as Expired (its status as the charger must apply it now).
        update_token(tenant, "TAG-A", expires_at=datetime(2020, 1, 1, tzinfo=UTC))
        await send_command("CP-L", "send-local-list", differential)
        assert received[-1] == request(
            version, 4, "Differential", [item(version, "TAG-A", "Expired", expiry="2020-01-01T00:00:00.000Z")]
        )

        # Full is still the whole list, and replaces the snapshot.
        await send_command("CP-L", "send-local-list", {"fromDatabase": True, "updateType": "Full"})
        assert [
            i.get("idTag") or i["idToken"]["idToken"] for i in received[-1]["localAuthorizationList"]
        ] == [
            "TAG-A",
            "TAG-B",
            "TAG-D",
            "TAG-E",
        ]
        assert received[-1]["updateType"] == "Full" and charger_row("CP-L").local_list_version == 5


async def test_hand_written_differential_patches_the_snapshot(csms_any: CsmsServer) -> None:
    """TC_043_4 with a payload given by the caller: an item without idTagInfo deletes the token."""
    tenant = add_tenant("op")
    add_charger("CP-H", tenant_id=tenant)
    async with RawChargePoint(url_of(csms_any), "CP-H") as cp:
        await cp.boot16()
        answering(cp, "Accepted")
        await send_command(
            "CP-H",
            "send-local-list",
            request("1.6", 3, "Full", [item("1.6", "X", "Accepted"), item("1.6", "Y", "Blocked")]),
        )
        await send_command(
            "CP-H",
            "send-local-list",
            request(
                "1.6",
                4,
                "Differential",
                [item("1.6", "X"), item("1.6", "Z", "Accepted", expiry="2031-05-01T10:30:00+02:00")],
            ),
        )
        assert held("CP-H") == {"Y": ("Blocked", None, None), "Z": ("Accepted", EXPIRY, None)}
        assert charger_row("CP-H").local_list_version == 4
        # The charger reports an empty list (version 0): it holds nothing any more.
        cp.responders["GetLocalListVersion"] = lambda p: {"listVersion": 0}
        await send_command("CP-H", "get-local-list-version")
        assert held("CP-H") == {} and charger_row("CP-H").local_list_version == 0


async def test_unknown_update_type_is_refused(csms_any: CsmsServer) -> None:
    add_charger("CP-U", tenant_id=add_tenant("op"))
    async with RawChargePoint(url_of(csms_any), "CP-U") as cp:
        await cp.boot16()
        from pipelet_app.ocpp.errors import InvalidCommandPayload

        with pytest.raises(InvalidCommandPayload):
            await send_command("CP-U", "send-local-list", {"fromDatabase": True, "updateType": "Partial"})
