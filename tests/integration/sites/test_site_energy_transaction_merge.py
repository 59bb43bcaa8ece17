"""Pleevi transaction messages merge into the stored row (SQLite and PostgreSQL): a message's absent
optional fields keep what earlier messages gave, and a late message never overwrites newer values."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import Site, SiteEvTransaction, Tenant, TenantKind
from pipelet_app.site_energy.payloads import Transaction
from pipelet_app.site_energy.store import write_transactions

START = datetime(2026, 6, 3, 9, 0, tzinfo=UTC)
DEPARTURE = START + timedelta(hours=3)


@pytest.fixture
def site_id(database: str) -> int:
    with session_scope() as db:
        tenant = Tenant(name="Sun", slug="sun-merge", kind=TenantKind.OPERATOR)
        db.add(tenant)
        db.flush()
        site = Site(tenant_id=tenant.id, name="Roof")
        db.add(site)
        db.flush()
        assert site.id is not None
        return site.id


def message(state: str, minutes: int, **given: object) -> Transaction:
    blank = Transaction(
        asset_id="wb-1",
        transaction_id="tx-1",
        ts=START + timedelta(minutes=minutes),
        state=state,
        start=START,
        stop=None,
        current_type=None,
        phases=None,
        used_pins=None,
        max_power_w=None,
        requested_min_wh=None,
        requested_max_wh=None,
        departure=None,
        priority=None,
        profile_id=None,
    )
    return replace(blank, **given)  # type: ignore[arg-type]


STARTED = message(
    "Started",
    0,
    current_type="ac",
    phases=1,
    priority=1,
    departure=DEPARTURE,
    requested_min_wh=2000.0,
    requested_max_wh=9000.0,
    max_power_w=7400.0,
)


def stored(site_id: int) -> SiteEvTransaction:
    with session_scope() as db:
        [row] = db.exec(select(SiteEvTransaction).where(SiteEvTransaction.site_id == site_id)).all()
        db.expunge(row)
        return row


def write(site_id: int, *messages: Transaction) -> None:
    with session_scope() as db:
        write_transactions(db, [(site_id, 7, m) for m in messages])


def assert_started_values(row: SiteEvTransaction) -> None:
    assert (row.priority, row.phases, row.current_type, row.max_power_w) == (1, 1, "ac", 7400.0)
    assert row.departure_utc == DEPARTURE and not row.departure_defaulted
    assert (row.requested_min_wh, row.requested_max_wh, row.energy_defaulted) == (2000.0, 9000.0, False)


@pytest.mark.parametrize("later", ["Updated", "SuspendedEV"])
def test_a_later_message_without_the_optional_fields_keeps_them(site_id: int, later: str) -> None:
    write(site_id, STARTED)
    write(site_id, message(later, 5))
    row = stored(site_id)
    assert row.state == later and row.message_ts == START + timedelta(minutes=5)
    assert_started_values(row)


def test_messages_of_one_batch_merge_in_timestamp_order(site_id: int) -> None:
    write(site_id, message("Updated", 10, priority=3), STARTED, message("Updated", 5))
    row = stored(site_id)
    assert row.state == "Updated" and row.priority == 3 and row.message_ts == START + timedelta(minutes=10)
    assert row.departure_utc == DEPARTURE and row.requested_max_wh == 9000.0


def test_fields_a_message_carries_replace_the_stored_ones(site_id: int) -> None:
    write(site_id, STARTED)
    later = DEPARTURE + timedelta(hours=1)
    write(site_id, message("Updated", 5, priority=0, departure=later, requested_max_wh=4000.0))
    row = stored(site_id)
    assert (row.priority, row.departure_utc, row.requested_max_wh) == (0, later, 4000.0)
    assert row.requested_min_wh == 2000.0 and row.phases == 1


def test_a_late_message_does_not_overwrite_newer_values(site_id: int) -> None:
    write(site_id, STARTED)
    write(site_id, message("Updated", 10, priority=2))
    write(site_id, message("Updated", 5, priority=9, departure=START, requested_max_wh=1.0))
    row = stored(site_id)
    assert row.priority == 2 and row.message_ts == START + timedelta(minutes=10)
    assert row.departure_utc == DEPARTURE and row.requested_max_wh == 9000.0


def test_defaults_fill_only_what_no_message_gave(site_id: int) -> None:
    write(site_id, message("Started", 0))
    row = stored(site_id)
    assert row.priority == 5 and row.departure_defaulted and row.energy_defaulted
    assert row.departure_utc == START + timedelta(hours=8)
    write(site_id, message("Updated", 5, departure=DEPARTURE, requested_min_wh=3000.0))
    write(site_id, message("Updated", 6))
    row = stored(site_id)
    assert row.departure_utc == DEPARTURE and not row.departure_defaulted
    assert row.requested_max_wh == 3000.0 and not row.energy_defaulted
    # A newer minimum moves an energy that came from the minimum; a sender's maximum stays.
    write(site_id, message("Updated", 7, requested_min_wh=5000.0))
    assert stored(site_id).requested_max_wh == 5000.0
    write(site_id, message("Updated", 8, requested_max_wh=8000.0))
    write(site_id, message("Updated", 9, requested_min_wh=1000.0))
    assert stored(site_id).requested_max_wh == 8000.0


def test_a_late_message_fills_only_what_no_message_gave(site_id: int) -> None:
    """A delayed Started after an Updated without the driver's values: departure, energy and phases come
    from it; the state, time and the newer priority stay."""
    write(site_id, message("Updated", 10, priority=2))
    assert stored(site_id).departure_defaulted
    write(site_id, replace(STARTED, priority=7))
    row = stored(site_id)
    assert row.state == "Updated" and row.message_ts == START + timedelta(minutes=10) and row.priority == 2
    assert row.departure_utc == DEPARTURE and not row.departure_defaulted
    assert (row.requested_max_wh, row.energy_defaulted, row.phases, row.max_power_w) == (
        9000.0,
        False,
        1,
        7400.0,
    )
