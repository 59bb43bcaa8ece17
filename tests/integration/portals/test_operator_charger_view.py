"""The operator charger page's data: reservations, missing 2.0.1 messages and monthly uptime, shown to the
charger's own operator only (the state handler runs `charger_view` under `_guarded`)."""

from __future__ import annotations

import pytest

from pipelet_app.auth import Forbidden, NotFound
from pipelet_app.db import session_scope
from pipelet_app.portals.operator.charger_data import charger_view, hours_and_share
from tests.integration.api.charger_facts import CHARGER, GAP_TX, Facts, add_charger_facts, principal


@pytest.fixture
def facts(demo: dict) -> Facts:
    return add_charger_facts()


@pytest.mark.dates
def test_charger_page_shows_reservations_gaps_and_uptime(facts: Facts) -> None:
    with session_scope() as db:
        view = charger_view(db, principal("operator@sonnenstrom.demo"), CHARGER)
    assert [(r["id"], r["connector"], r["status"], r["session"]) for r in view["reservations"]] == [
        ("3", "2", "Active", "—"),
        ("2", "0", "Used", GAP_TX),
        ("1", "1", "Expired", "—"),
    ]
    assert view["reservations"][0]["id_tag"] == "ACME0003"
    assert view["sessions"][0]["missing"] == "3"
    assert {s["missing"] for s in view["sessions"][1:]} == {"0"}
    year, month = facts.now.year, facts.now.month
    last = f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"
    assert [u["month"] for u in view["uptime"]] == [f"{year}-{month:02d}", last]
    # no connection history in these months: all offline
    assert view["uptime"][1]["online"] == "0.0 h (0.0 %)"
    assert view["uptime"][1]["offline"].endswith("(100.0 %)")


@pytest.mark.dates
def test_charger_page_shows_last_month_as_stored(facts: Facts) -> None:
    """Last month is the roll-up's stored row (no history of it remains here), this month is computed."""
    from datetime import UTC, datetime

    from sqlmodel import select

    from pipelet_app.db.models import Charger, HealthMonth

    now = facts.now
    year, month = (now.year - 1, 12) if now.month == 1 else (now.year, now.month - 1)
    start, end = datetime(year, month, 1, tzinfo=UTC), datetime(now.year, now.month, 1, tzinfo=UTC)
    length = (end - start).total_seconds()
    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == CHARGER)).one()
        db.add(
            HealthMonth(
                scope="charger",
                object_id=charger.id,
                month=f"{year:04d}-{month:02d}",
                tenant_id=charger.tenant_id,
                online_s=100 * 3600,
                degraded_s=0,
                offline_s=length - 100 * 3600,
                fault_s=0,
                faults=0,
                availability=100 * 3600 / length,
                computed_at=end,
            )
        )
        db.commit()
        view = charger_view(db, principal("operator@sonnenstrom.demo"), CHARGER)
    assert view["uptime"][1]["online"] == hours_and_share(100 * 3600, 100 * 3600 / length)
    assert view["uptime"][0]["online"].startswith("0.0 h")  # computed: no connection this month


def test_hours_and_share() -> None:
    assert hours_and_share(216 * 3600, 216 / 744) == "216.0 h (29.0 %)"
    assert hours_and_share(90, 0.5) == "0.0 h (50.0 %)"
    assert hours_and_share(1_000 * 3600, None) == "1,000.0 h"


@pytest.mark.parametrize(
    ("email", "error"),
    [("operator@northwind.demo", NotFound), ("fleet@acme.demo", Forbidden), ("driver@acme.demo", Forbidden)],
)
def test_nobody_else_gets_the_charger_page(facts: Facts, email: str, error: type[Exception]) -> None:
    with session_scope() as db, pytest.raises(error):
        charger_view(db, principal(email), CHARGER)


def test_times_on_the_operator_pages_are_the_sites_local_times(demo: dict) -> None:
    """SON-CP-001 stands at a Europe/Berlin site: 12:00 UTC in July is 14:00 there, in January 13:00."""
    from datetime import UTC, datetime

    from sqlmodel import select

    from pipelet_app.db.models import Charger, ChargingSession, SessionSource, Site
    from pipelet_app.portals.operator.charger_data import faults_view
    from pipelet_app.portals.operator.data import operator_overview

    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == CHARGER)).one()
        assert db.get(Site, charger.site_id).timezone == "Europe/Berlin"
        for month in (7, 1):
            db.add(
                ChargingSession(
                    transaction_id=f"tz-{month}",
                    station_id=CHARGER,
                    source=SessionSource.OCPP_WALLBOX,
                    charger_id=charger.id,
                    start_utc=datetime(2031, month, 15, 12, 0, tzinfo=UTC),
                )
            )
    with session_scope() as db:
        operator = principal("operator@sonnenstrom.demo")
        view = charger_view(db, operator, CHARGER)
        overview = operator_overview(db, operator)
        faults_view(db, operator)  # renders with each fault's own site zone
    assert view["summary"]["timezone"] == "Europe/Berlin"
    # The demo charger has a password and authenticates with it: no warning on its page.
    assert (view["summary"]["auth_mode"], view["summary"]["password"]) == ("basic", "set")
    starts = [s["start"] for s in view["sessions"]]
    assert "2031-07-15 14:00 CEST" in starts and "2031-01-15 13:00 CET" in starts
    assert overview["sessions"][0]["start"] == "2031-07-15 14:00 CEST"


def test_fault_list_leaves_planned_unavailability_out_and_words_durations(demo: dict) -> None:
    """A reset's reboot (Unavailable, NoError) is planned, not a fault; a 90-second fault reads "1 min"."""
    from datetime import timedelta

    from sqlmodel import select

    from pipelet_app.clock import utcnow
    from pipelet_app.db.models import Charger, ConnectorStatusPeriod
    from pipelet_app.portals.operator.charger_data import faults_view

    start = utcnow() - timedelta(hours=1)
    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == "SON-CP-001")).one()
        for connector, status, error, seconds in [
            (1, "Unavailable", "NoError", 40),  # the reboot after a Soft reset
            (2, "Faulted", "GroundFailure", 90),
            (1, "Unavailable", "PowerSwitchFailure", 7_500),  # an error code is a fault whatever the status
        ]:
            db.add(
                ConnectorStatusPeriod(
                    charger_id=charger.id,
                    connector_id=connector,
                    status=status,
                    error_code=error,
                    started_at=start,
                    ended_at=start + timedelta(seconds=seconds),
                    duration_s=seconds,
                )
            )
    with session_scope() as db:
        rows = faults_view(db, principal("operator@sonnenstrom.demo"))
        assert faults_view(db, principal("operator@northwind.demo")) == []
    assert sorted((r["error"], r["duration"]) for r in rows) == [
        ("GroundFailure", "1 min"),
        ("PowerSwitchFailure", "2 h 05 min"),
    ]


def test_an_open_fault_reads_open_in_the_page_language(demo: dict) -> None:
    """A fault still going on has no end time: its "until" is a word of the page's language."""
    from sqlmodel import select

    from pipelet_app.clock import utcnow
    from pipelet_app.db.models import Charger, ConnectorStatusPeriod
    from pipelet_app.i18n.formatting import in_locale
    from pipelet_app.portals.operator.charger_data import faults_view

    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == "SON-CP-001")).one()
        db.add(
            ConnectorStatusPeriod(
                charger_id=charger.id,
                connector_id=2,
                status="Faulted",
                error_code="OverCurrentFailure",
                started_at=utcnow(),
            )
        )
    operator = principal("operator@sonnenstrom.demo")
    for locale, word in (("en", "still open"), ("de", "noch offen")):
        with in_locale(locale), session_scope() as db:
            (row,) = [r for r in faults_view(db, operator) if r["error"] == "OverCurrentFailure"]
        assert row["until"] == word
