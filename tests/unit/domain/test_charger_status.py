"""The per-charger summary status: offline wins, then the most urgent reported status."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain.charger_status import SUMMARY_ORDER, summary_status


def test_faulted_connector_beats_an_available_charger() -> None:
    assert summary_status(True, ["Available", "Faulted", "Available"]) == "Faulted"


def test_charging_connector_beats_available() -> None:
    assert summary_status(True, ["Available", "Charging"]) == "Charging"


def test_offline_wins_over_anything_reported() -> None:
    assert summary_status(False, ["Available", "Charging"]) == "Offline"
    assert summary_status(False, []) == "Offline"


def test_nothing_reported_is_unknown_and_a_new_status_is_not_hidden() -> None:
    assert summary_status(True, []) == "Unknown"
    assert summary_status(True, ["", "Unknown"]) == "Unknown"
    assert summary_status(True, ["Available", "SomethingNew"]) == "SomethingNew"
    assert summary_status(True, ["Charging", "SomethingNew"]) == "Charging"


@given(st.lists(st.sampled_from(SUMMARY_ORDER[1:]), min_size=1))
def test_the_summary_is_the_most_urgent_status_and_order_does_not_matter(statuses: list[str]) -> None:
    result = summary_status(True, statuses)
    assert result in statuses
    assert all(SUMMARY_ORDER.index(result) <= SUMMARY_ORDER.index(s) for s in statuses)
    assert summary_status(True, list(reversed(statuses))) == result


def test_since_is_the_earliest_change_into_the_summary_or_the_last_contact() -> None:
    from datetime import UTC, datetime

    from pipelet_app.domain.charger_status import summary_since

    ten, eleven, noon = (datetime(2026, 5, 1, h, tzinfo=UTC) for h in (10, 11, 12))
    reported = [("Charging", eleven), ("Charging", ten), ("Available", noon)]
    assert summary_since("Charging", noon, reported) == ten
    assert summary_since("Offline", noon, reported) == noon
    assert summary_since("Faulted", noon, reported) is None
    assert summary_since("Available", None, [("Available", None)]) is None
