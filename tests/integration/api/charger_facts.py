"""CSMS facts on a demo charger for the API and portal tests: reservations, a 2.0.1 transaction with
seqNo gaps, and a month of connection and fault history with round numbers.

The CSMS writes these rows over a socket (tests/integration/ocpp covers that); here they are inserted
directly, because what is under test is how operators read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from pipelet_app.auth import Principal
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    Charger,
    ChargerConnectionPeriod,
    ChargingSession,
    ConnectorStatusPeriod,
    Reservation,
    SessionSource,
    TransactionSeqNos,
    User,
)

CHARGER = "SON-CP-001"  # operator@sonnenstrom.demo's; operator@northwind.demo must not see it
GAP_TX = "tx201-with-gap"
# March 2025 (744 h): connected for the first 10 days (240 h), Faulted for 24 h of them.
MONTH = "2025-03"
ONLINE_H, DEGRADED_H, OFFLINE_H = 216.0, 24.0, 504.0


@dataclass(frozen=True)
class Facts:
    now: datetime
    used_by: str  # transaction id of the session that used reservation 2


def principal(email: str) -> Principal:
    with session_scope() as db:
        return Principal.of(db.exec(select(User).where(User.email == email)).one())


def add_charger_facts() -> Facts:
    now = utcnow().replace(microsecond=0)
    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == CHARGER)).one()
        assert charger.id is not None
        gap = ChargingSession(
            transaction_id=GAP_TX,
            station_id=CHARGER,
            id_tag="ACME0001",
            reason="",
            source=SessionSource.OCPP_WALLBOX,
            charger_id=charger.id,
            connector_id=1,
            start_utc=now - timedelta(minutes=1),  # the newest session of the charger
            energy_wh=1_500,
        )
        db.add(gap)
        db.flush()
        db.add(TransactionSeqNos(session_id=gap.id, last_seq_no=5, seen="0-2", missing=3))  # type: ignore[arg-type]
        reservations = [
            # (reservation id, connector, tag, expires, stored status, session, created)
            (1, 1, "ACME0001", now - timedelta(hours=2), "Active", None, now - timedelta(hours=3)),
            (2, 0, "ACME0002", now + timedelta(hours=1), "Used", gap.id, now - timedelta(hours=2)),
            (3, 2, "ACME0003", now + timedelta(hours=1), "Active", None, now - timedelta(hours=1)),
        ]
        for rid, connector, tag, expires, status, session_id, created in reservations:
            db.add(
                Reservation(
                    charger_id=charger.id,
                    reservation_id=rid,
                    connector_id=connector,
                    id_tag=tag,
                    expires_at=expires,
                    status=status,
                    session_id=session_id,
                    created_at=created,
                    updated_at=created,
                )
            )
        march = datetime(2025, 3, 1, tzinfo=UTC)
        db.add(
            ChargerConnectionPeriod(
                charger_id=charger.id, connected_at=march, disconnected_at=march + timedelta(days=10)
            )
        )
        db.add(
            ConnectorStatusPeriod(
                charger_id=charger.id,
                connector_id=1,
                status="Faulted",
                error_code="GroundFailure",
                started_at=march + timedelta(days=4),
                ended_at=march + timedelta(days=5),
            )
        )
    return Facts(now=now, used_by=GAP_TX)
