"""Operator e-mails by subscription, through a real SMTP server on loopback, on SQLite and PostgreSQL:
faults only to those who follow the site, recoveries once the connector stayed calm, the daily digest
once per local day at the chosen hour (a 25-hour day included), and the API that sets all this."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from pipelet_app.api import build_api
from pipelet_app.auth.secrets import hash_password
from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    ConnectorStatusPeriod,
    NotificationPreference,
    Role,
    SessionSource,
    Site,
    User,
)
from pipelet_app.operations.digest import send_digests
from pipelet_app.operations.fault_mail import send_fault_mails
from tests.integration.api.onboarding_helpers import NORTH, SONNEN, key_of

ONCALL = "oncall@sonnenstrom.demo"


@pytest.fixture
def client(demo: dict) -> Iterator[TestClient]:
    with TestClient(build_api(), raise_server_exceptions=False) as test_client:
        yield test_client


def _mails(inbox) -> list[tuple[list[str], str, str]]:
    out = []
    for recipients, raw in inbox.messages:
        message = email.message_from_string(raw, policy=email.policy.default)
        out.append((recipients, str(message["Subject"]), message.get_content()))
    return out


def _setup(db) -> tuple[Site, Site, Charger, Charger]:
    """Two Sonnenstrom sites with a charger each, and a second operator who follows only the first."""
    tenant = db.exec(select(User).where(User.email == SONNEN)).one().tenant_id
    north, south = (
        Site(tenant_id=tenant, name="Nord", timezone="Europe/Berlin"),
        Site(tenant_id=tenant, name="Süd", timezone="Europe/Berlin"),
    )
    db.add(north)
    db.add(south)
    db.flush()
    a = Charger(charge_point_id="NOTE-A", tenant_id=tenant, site_id=north.id, is_online=True)
    b = Charger(charge_point_id="NOTE-B", tenant_id=tenant, site_id=south.id, is_online=False)
    db.add(a)
    db.add(b)
    oncall = User(email=ONCALL, role=Role.OPERATOR, tenant_id=tenant, password_hash=hash_password("x" * 12))
    db.add(oncall)
    db.flush()
    db.add(NotificationPreference(user_id=oncall.id, site_ids=[north.id], daily_digest=True, digest_hour=7))
    db.commit()
    return north, south, a, b


def _fault(db, charger: Charger, start: datetime, end: datetime | None = None, connector: int = 1) -> None:
    db.add(
        ConnectorStatusPeriod(
            charger_id=charger.id,
            connector_id=connector,
            status="Faulted",
            error_code="GroundFailure",
            started_at=start,
            ended_at=end,
        )
    )


@pytest.mark.dates
def test_faults_and_recoveries_go_to_who_follows_the_site(demo: dict, smtp_inbox) -> None:
    now = utcnow()
    with session_scope() as db:
        _north, _south, a, b = _setup(db)
        _fault(db, a, now - timedelta(minutes=10))
        _fault(db, b, now - timedelta(minutes=10))
        db.commit()
        assert send_fault_mails(db, now) == 2
    mails = {tuple(to): text for to, _, text in _mails(smtp_inbox)}
    assert "NOTE-A connector 1" in mails[(ONCALL,)] and "NOTE-B" not in mails[(ONCALL,)]
    assert "NOTE-A" in mails[(SONNEN,)] and "NOTE-B" in mails[(SONNEN,)]  # the default: every site

    later = now + timedelta(minutes=20)
    with session_scope() as db:
        for period in db.exec(
            select(ConnectorStatusPeriod).where(col(ConnectorStatusPeriod.charger_id).in_([a.id, b.id]))
        ).all():
            period.ended_at = now + timedelta(minutes=(12 if period.charger_id == a.id else 17))
            db.add(period)
        # b fell back into fault after its first one ended: not recovered, so no recovery mail for it
        _fault(db, b, now + timedelta(minutes=18), connector=1)
        db.commit()
        assert send_fault_mails(db, now + timedelta(minutes=14)) == 0  # a calm for only 2 minutes
        assert send_fault_mails(db, later) == 2  # a's recovery, to both
        assert send_fault_mails(db, later + timedelta(minutes=1)) == 0  # once
    recoveries = [(to, text) for to, subject, text in _mails(smtp_inbox) if "recovered" in subject]
    assert sorted(to[0] for to, _ in recoveries) == sorted([ONCALL, SONNEN])
    assert all("NOTE-A connector 1" in text and "after 22 min" in text for _, text in recoveries)
    assert not any("NOTE-B" in text for _, text in recoveries)


def test_who_turned_faults_off_gets_none(demo: dict, smtp_inbox) -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    with session_scope() as db:
        _north, _south, a, _b = _setup(db)
        pref = db.get(NotificationPreference, db.exec(select(User.id).where(User.email == ONCALL)).one())
        pref.faults = False
        db.add(pref)
        _fault(db, a, now - timedelta(minutes=6))
        db.commit()
        send_fault_mails(db, now)
    assert [to for to, _, _ in _mails(smtp_inbox)] == [[SONNEN]]


def test_the_digest_covers_the_local_day_before_once(demo: dict, smtp_inbox) -> None:
    # 2026-10-25 is the day Berlin leaves summer time: 25 hours, 22:00 UTC on the 24th to 23:00 UTC.
    first_hour = datetime(2026, 10, 24, 22, 30, tzinfo=UTC)  # 00:30 local on the 25th
    last_hour = datetime(2026, 10, 25, 22, 50, tzinfo=UTC)  # 23:50 local on the 25th
    next_day = datetime(2026, 10, 25, 23, 10, tzinfo=UTC)  # 00:10 local on the 26th
    with session_scope() as db:
        _north, _south, a, b = _setup(db)
        _fault(db, a, first_hour, first_hour + timedelta(minutes=42))
        _fault(db, a, last_hour, connector=2)
        _fault(db, a, next_day, connector=3)
        _fault(db, b, first_hour)  # another site: not in the on-call operator's digest
        for i, end in enumerate((first_hour, last_hour, next_day)):
            db.add(
                ChargingSession(
                    transaction_id=f"DIGEST-{i}",
                    station_id="NOTE-A",
                    source=SessionSource.OCPP_WALLBOX,
                    charger_id=a.id,
                    start_utc=end - timedelta(hours=1),
                    end_utc=end,
                    energy_wh=5000,
                )
            )
        db.commit()
        before_hour = datetime(2026, 10, 26, 5, 59, tzinfo=UTC)  # 06:59 local
        assert send_digests(db, before_hour) == 0
        at_hour = datetime(2026, 10, 26, 6, 0, tzinfo=UTC)  # 07:00 local
        assert send_digests(db, at_hour) == 1
        assert send_digests(db, at_hour + timedelta(hours=3)) == 0  # once per local day
    [(to, subject, text)] = _mails(smtp_inbox)
    assert to == [ONCALL] and "2026-10-25" in subject
    assert "Finished sessions: 2, 10.0 kWh" in text
    assert "NOTE-A connector 1: Faulted GroundFailure, 00:30, lasted 42 min" in text
    assert "NOTE-A connector 2" in text and "still open" in text
    assert "connector 3" not in text and "NOTE-B" not in text
    assert "Chargers offline now: 0" in text


def test_the_api_sets_a_subscription_and_names_bad_fields(client: TestClient) -> None:
    headers = key_of(SONNEN)
    got = client.get("/api/v1/me/notifications", headers=headers)
    assert got.status_code == 200
    body = got.json()
    assert body["faults"] and body["recoveries"] and not body["daily_digest"] and body["site_ids"] == []
    own = body["sites"][0]["id"]
    put = client.put(
        "/api/v1/me/notifications",
        headers=headers,
        json={"daily_digest": True, "digest_hour": 6, "timezone": "Europe/Berlin", "site_ids": [own]},
    )
    assert put.status_code == 200, put.text
    assert put.json()["site_ids"] == [own] and put.json()["effective_timezone"] == "Europe/Berlin"
    foreign_site = client.get("/api/v1/me/notifications", headers=key_of(NORTH)).json()["sites"][0]["id"]
    for bad, field in (
        ({"digest_hour": 24}, "digest_hour"),
        ({"digest_hour": "7"}, "digest_hour"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"site_ids": [foreign_site]}, "site_ids"),
        ({"faults": "yes"}, "faults"),
    ):
        answer = client.put("/api/v1/me/notifications", headers=headers, json=bad)
        assert answer.status_code == 422 and field in answer.text, (bad, answer.text)
    assert client.put("/api/v1/me/notifications", headers=headers, json={"nope": 1}).status_code == 422
    assert client.get("/api/v1/me/notifications", headers=headers).json()["digest_hour"] == 6  # kept
    assert client.get("/api/v1/me/notifications", headers=key_of("fleet@acme.demo")).status_code == 403
    with session_scope() as db:
        from pipelet_app.db.models import AuditEvent

        assert db.exec(select(AuditEvent).where(AuditEvent.action == "NotificationsChanged")).first()
