"""The network poll job on SQLite and PostgreSQL: sessions land in op_charging_sessions once, with the
network's marker; a re-poll and a crashed poll neither duplicate nor lose; a failing network never stops the
others and shows its cause; throttling waits for Retry-After and stores nothing; a changed field skips the
row with its reason; chargers are identified as the tenant's own by vendor and serial."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from pipelet_app.auth import Principal
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, ChargingSession, NetworkAccount, SessionSource, User
from pipelet_app.services import networks as service
from pipelet_app.settings import get_settings
from pollers import networks as poller
from tests.fakes.networks import FAKES, FakeHelios, FakeLoop
from tests.fakes.networks._server import FakeNetwork

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def no_sleep(_seconds: float) -> None:
    return None


def principal(email: str) -> Principal:
    with session_scope() as db:
        return Principal.of(db.exec(select(User).where(User.email == email)).one())


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, FakeNetwork]]:
    started = {name: cls().start() for name, cls in FAKES.items()}
    for name, fake in started.items():
        monkeypatch.setenv(f"{name.upper()}_API_BASE", fake.url)
    get_settings.cache_clear()
    yield started
    for fake in started.values():
        fake.stop()
    get_settings.cache_clear()


def connect(email: str, network: str, fake: FakeNetwork, label: str = "") -> int:
    who = principal(email)
    with session_scope() as db:
        out = service.save_account(db, who, network, label, fake.credentials())  # type: ignore[attr-defined]
        db.get(NetworkAccount, out["id"]).next_poll_utc = NOW  # type: ignore[union-attr]
    return int(out["id"])


def sessions(prefix: str = "net-") -> list[ChargingSession]:
    with session_scope() as db:
        return list(
            db.exec(
                select(ChargingSession)
                .where(col(ChargingSession.transaction_id).startswith(prefix))
                .order_by(col(ChargingSession.transaction_id))
            ).all()
        )


def account(account_id: int) -> NetworkAccount:
    with session_scope() as db:
        row = db.get(NetworkAccount, account_id)
        assert row is not None
        return row


def snapshot(rows: list[ChargingSession]) -> list[tuple[Any, ...]]:
    return [(s.transaction_id, s.start_utc, s.end_utc, s.energy_wh, s.cost, s.charger_id) for s in rows]


SON = "operator@sonnenstrom.demo"
NORTH = "operator@northwind.demo"


async def test_every_network_lands_once_and_a_repoll_changes_nothing(demo: dict, fakes: dict) -> None:
    clock = Clock(NOW)
    ids = {name: connect(SON, name, fake) for name, fake in fakes.items()}
    reports = await poller.poll_due(clock=clock, sleep=no_sleep)
    assert sorted((r.network, r.status) for r in reports) == sorted((n, "connected") for n in fakes)
    first = sessions()
    tenant = account(ids["loop"]).tenant_id
    assert {s.transaction_id for s in first} == {
        f"net-loop-t{tenant}-ses_0001",
        f"net-evrange-t{tenant}-S-100001",
        f"net-chargepoint-t{tenant}-60451234",
        f"net-helios-t{tenant}-50001",
    }
    assert {(s.source, s.reason.split("-")[0]) for s in first} == {(SessionSource.NETWORK, "network")}
    loop = next(s for s in first if s.reason == "network-loop")
    assert (loop.energy_wh, str(loop.cost), loop.currency, loop.connector_id) == (18420.0, "6.450", "EUR", 1)
    for account_id in ids.values():
        row = account(account_id)
        assert (row.status, row.last_success_utc, row.sessions_synced, row.skipped) == (
            "connected",
            NOW,
            1,
            [],
        )
        assert row.next_poll_utc == NOW + timedelta(seconds=get_settings().network_poll_interval_s)

    clock.now = NOW + timedelta(hours=1)
    for account_id in ids.values():  # due again at once
        with session_scope() as db:
            db.get(NetworkAccount, account_id).next_poll_utc = clock.now  # type: ignore[union-attr]
    await poller.poll_due(clock=clock, sleep=no_sleep)
    assert snapshot(sessions()) == snapshot(first)


async def test_a_session_that_was_running_is_updated_not_duplicated(demo: dict, fakes: dict) -> None:
    loop: FakeLoop = fakes["loop"]
    running = loop.add_session("ses_run", "2026-12-02T10:00:00Z", None, 4.0)
    account_id = connect(SON, "loop", loop)
    clock = Clock(NOW)
    await poller.poll_network_account(account_id, clock=clock)
    assert [s.end_utc for s in sessions() if s.transaction_id.endswith("ses_run")] == [None]
    running.update(ended_at="2026-12-02T11:00:00Z", energy_kwh=7.5)
    clock.now = NOW + timedelta(hours=1)
    with session_scope() as db:
        db.get(NetworkAccount, account_id).next_poll_utc = clock.now  # type: ignore[union-attr]
    await poller.poll_network_account(account_id, clock=clock)
    done = [s for s in sessions() if s.transaction_id.endswith("ses_run")]
    assert [(s.end_utc, s.energy_wh) for s in done] == [(datetime(2026, 12, 2, 11, tzinfo=UTC), 7500.0)]


async def test_a_crash_while_storing_loses_nothing_and_duplicates_nothing(
    demo: dict, fakes: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id = connect(SON, "helios", fakes["helios"])
    real = poller.encrypt_credentials

    def crash(*_args: Any, **_kw: Any) -> str:
        raise RuntimeError("worker killed mid-transaction")

    monkeypatch.setattr(poller, "encrypt_credentials", crash)
    clock = Clock(NOW)
    with pytest.raises(RuntimeError):
        await poller.poll_network_account(account_id, clock=clock)
    assert sessions() == [], "the sessions were rolled back with the rest of the poll"
    assert account(account_id).state == {}, "and so was the cursor"
    assert await poller.poll_network_account(account_id, clock=clock) is None, "the lease holds"
    monkeypatch.setattr(poller, "encrypt_credentials", real)
    clock.now = NOW + timedelta(seconds=poller.LEASE_S + 1)  # the crashed worker's lease ran out
    report = await poller.poll_network_account(account_id, clock=clock)
    assert report is not None and report.sessions_written == 1
    assert len(sessions()) == 1


async def test_a_failing_network_never_stops_the_others(demo: dict, fakes: dict) -> None:
    from pipelet_app.metrics import NETWORK_POLLS

    before = NETWORK_POLLS.labels("loop", "error")._value.get()
    fakes["loop"].inject("/v1/sessions", "500", times=10)
    fakes["chargepoint"].inject("getChargingSessionData", "changed")
    ids = {name: connect(SON, name, fake) for name, fake in fakes.items()}
    reports = {r.network: r for r in await poller.poll_due(clock=Clock(NOW), sleep=no_sleep)}
    assert (reports["helios"].status, reports["evrange"].status) == ("connected", "connected")
    assert {s.reason for s in sessions()} == {"network-helios", "network-evrange"}
    loop, cp = account(ids["loop"]), account(ids["chargepoint"])
    assert loop.status == "error" and "server error (500)" in (loop.last_error or "")
    assert loop.last_success_utc is None and loop.next_poll_utc is not None and loop.next_poll_utc > NOW
    assert cp.status == "integration-error" and "getChargingSessionDataResponse" in (cp.last_error or "")
    assert NETWORK_POLLS.labels("loop", "error")._value.get() == before + 1
    with session_scope() as db:
        listed = {a["network"]: a for a in service.list_accounts(db, principal(SON))}
    assert listed["loop"]["last_error"] == loop.last_error and listed["helios"]["last_success_utc"] == NOW


async def test_throttling_waits_for_retry_after_and_stores_nothing(demo: dict, fakes: dict) -> None:
    fakes["helios"].retry_after = "600"
    fakes["helios"].inject("/api/v1/transactions", "429")
    account_id = connect(SON, "helios", fakes["helios"])
    report = await poller.poll_network_account(account_id, clock=Clock(NOW))
    assert report is not None and report.status == "throttled"
    row = account(account_id)
    assert row.next_poll_utc == NOW + timedelta(seconds=600) and "600 s" in (row.last_error or "")
    assert sessions() == [] and row.state == {}


async def test_a_changed_field_skips_the_row_with_its_reason(demo: dict, fakes: dict) -> None:
    helios: FakeHelios = fakes["helios"]
    helios.add_transaction(50002, "2026-12-01T08:00:00Z", "2026-12-01T09:00:00Z", 100, 2100)
    del helios.transactions[0]["meterStart"]
    account_id = connect(SON, "helios", helios)
    await poller.poll_network_account(account_id, clock=Clock(NOW))
    assert [s.transaction_id.rsplit("-", 1)[1] for s in sessions()] == ["50002"]
    row = account(account_id)
    assert row.status == "connected"
    assert row.skipped == [{"kind": "session", "ref": "50001", "reason": "no 'meterStart'"}]


async def test_refused_credentials_stop_polling_until_reconnected(demo: dict, fakes: dict) -> None:
    account_id = connect(SON, "evrange", fakes["evrange"])
    fakes["evrange"].inject("/ocpi/2.2.1/locations", "401")
    await poller.poll_network_account(account_id, clock=Clock(NOW))
    row = account(account_id)
    assert (row.status, row.next_poll_utc) == ("reauth-needed", None)
    assert fakes["evrange"].credentials()["token"] not in (row.last_error or "")


async def test_chargers_are_identified_in_their_own_tenant_only(demo: dict, fakes: dict) -> None:
    son, north = principal(SON), principal(NORTH)
    with session_scope() as db:
        db.add(
            Charger(
                charge_point_id="NW-ALFEN",
                tenant_id=north.tenant_id,
                vendor="Alfen BV",
                serial_number="ACE0001234",
            )
        )
        db.add(
            Charger(
                charge_point_id="SON-ALFEN",
                tenant_id=son.tenant_id,
                vendor="alfen bv",
                serial_number="ace0001234",
            )
        )
    son_account = connect(SON, "helios", fakes["helios"])
    await poller.poll_network_account(son_account, clock=Clock(NOW))
    with session_scope() as db:
        mine = db.exec(select(Charger).where(Charger.charge_point_id == "SON-ALFEN")).one()
        rows = service.account_chargers(db, son, son_account)
    assert [(r["external_id"], r["charger_id"]) for r in rows] == [("HEL-CP-0001", mine.id)]
    assert [(s.charger_id, s.connector_id) for s in sessions()] == [(mine.id, None)]
    with session_scope() as db:  # the CSMS's own "open session on connector 1" never finds it
        from pipelet_app.ocpp.transactions import open_session_on

        assert mine.id is not None
        db.exec(
            select(ChargingSession).where(ChargingSession.reason == "network-helios")
        ).one().end_utc = None
        db.flush()
        assert open_session_on(db, mine.id, 1) is None
