"""Token statuses, expiry, parent id tags and per-tenant ownership."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, IdToken, IdTokenStatus, Tenant, TenantKind
from pipelet_app.ocpp.authorization import authorize


def tenant(s, slug: str, kind: TenantKind = TenantKind.OPERATOR) -> int:
    row = Tenant(name=slug, slug=slug, kind=kind)
    s.add(row)
    s.flush()
    return row.id


def test_statuses_and_ownership(db: str) -> None:
    with session_scope() as s:
        op_a, op_b = tenant(s, "a"), tenant(s, "b")
        fleet = tenant(s, "f", TenantKind.FLEET)
        mine = Charger(charge_point_id="A-1", tenant_id=op_a)
        unclaimed = Charger(charge_point_id="U-1")
        s.add_all([mine, unclaimed])
        s.add_all(
            [
                IdToken(tenant_id=op_a, token="OK", parent_id_tag="P", driver_id=None),
                IdToken(tenant_id=op_a, token="OLD", expires_at=datetime.now(UTC) - timedelta(seconds=1)),
                IdToken(tenant_id=op_a, token="BLK", status=IdTokenStatus.BLOCKED),
                IdToken(tenant_id=op_b, token="B-ONLY"),
                IdToken(tenant_id=op_b, token="SHARED"),
                IdToken(tenant_id=op_a, token="SHARED", status=IdTokenStatus.BLOCKED),
                IdToken(tenant_id=fleet, token="FLEET"),
            ]
        )
        s.flush()
        ok = authorize(s, mine.id, "OK")
        assert ok.status == "Accepted" and ok.parent_id_tag == "P" and ok.accepted
        assert authorize(s, mine.id, "OLD").status == "Expired"
        assert authorize(s, mine.id, "BLK").status == "Blocked"
        assert authorize(s, mine.id, "NOPE").status == "Invalid"
        assert authorize(s, mine.id, "B-ONLY").status == "Invalid"  # another operator's card
        assert authorize(s, mine.id, "SHARED").status == "Blocked"  # own tenant's entry wins
        assert authorize(s, mine.id, "FLEET").status == "Accepted"  # fleet cards roam
        # an unclaimed charger accepts no token at all until an operator claims it (authorization.py)
        assert authorize(s, unclaimed.id, "B-ONLY").status == "Invalid"
        assert authorize(s, unclaimed.id, "FLEET").status == "Invalid"
