"""The actuation rules: unit, safe limits, profile values, when to send, fallback outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain.surplus import Mode
from pipelet_app.domain.surplus.actuation import (
    Sent,
    attempts_for,
    base_level,
    needs_sending,
    number_phases,
    outcome,
    profile_value,
    rate_unit,
    renew_before_s,
    renewal_due,
    renewals_per_hour,
    safe_limit_a,
)


def test_rate_unit_prefers_amperes_and_reads_both_versions() -> None:
    assert rate_unit("Current,Power") == "A"
    assert rate_unit("Power") == "W"
    assert rate_unit("W") == "W"
    assert rate_unit("A,W") == "A"
    assert rate_unit(" power ; ") == "W"
    assert rate_unit(None) == "A"
    assert rate_unit("") == "A"
    assert rate_unit("Volts") == "A"


def test_safe_limit_pauses_pv_only_and_keeps_the_minimum_otherwise() -> None:
    assert safe_limit_a(Mode.PV_ONLY) == 0.0
    assert safe_limit_a(Mode.PV_PRIORITY) == 6.0
    assert safe_limit_a(Mode.ECO_PLUS, 8.0) == 8.0


@given(st.floats(0, 80), st.sampled_from([1, 3]))
def test_safe_limit_is_never_above_the_minimum(min_a: float, phases: int) -> None:
    for mode in Mode:
        assert safe_limit_a(mode, min_a) <= min_a


def test_profile_values() -> None:
    assert profile_value(10.04, 3, "A", 230) == 10.0
    assert profile_value(10, 3, "W", 230) == 6900
    assert profile_value(16, 1, "W", 230) == 3680


def test_sending_only_when_something_changed() -> None:
    last = Sent(10.0, "A", "tx-1", "Accepted")
    assert needs_sending(None, 10.0, "A", "tx-1")
    assert not needs_sending(last, 10.0, "A", "tx-1")
    assert not needs_sending(last, 10.04, "A", "tx-1")
    assert needs_sending(last, 10.1, "A", "tx-1")
    assert needs_sending(last, 10.0, "W", "tx-1")
    assert needs_sending(last, 10.0, "A", "tx-2")
    assert not needs_sending(Sent(10.0, "A", "tx-1", "Rejected"), 10.0, "A", "tx-1")


def test_a_switch_of_phases_at_the_same_current_is_a_change() -> None:
    three = Sent(6.0, "A", "tx-1", "Accepted", 3)
    assert needs_sending(three, 6.0, "A", "tx-1", 1)
    assert not needs_sending(three, 6.0, "A", "tx-1", 3)
    assert needs_sending(Sent(6.0, "A", "tx-1", "Accepted"), 6.0, "A", "tx-1", 3)  # none sent before
    assert not needs_sending(Sent(6.0, "A", "tx-1", "Accepted"), 6.0, "A", "tx-1")


def test_only_a_switchable_charger_gets_number_phases() -> None:
    assert number_phases(True, 1) == 1
    assert number_phases(True, 3) == 3
    assert number_phases(False, 1) is None
    assert number_phases(False, 3) is None


@given(st.floats(0, 100, allow_nan=False), st.floats(0, 100, allow_nan=False))
def test_the_same_value_is_never_sent_twice(first: float, second: float) -> None:
    value = round(first, 1)
    last = Sent(value, "A", None, "Accepted")
    assert needs_sending(last, round(second, 1), "A", None) == (round(second, 1) != value)


def test_fallback_order_and_outcomes() -> None:
    """A rejected TxProfile falls back to a TxDefaultProfile one stack level above the connector's
    baseline, never on the baseline's own level (it would replace the baseline, and once it lapsed the
    connector would have no default at all): level 1 over a level-0 baseline, level 2 over a baseline the
    charger took only on level 1."""
    assert attempts_for("tx") == (("TxProfile", 0), ("TxDefaultProfile", 1))
    assert base_level("Accepted") == 0 and base_level(None) == 0 and base_level("Rejected") == 0
    assert base_level("fallback:TxDefaultProfile@1") == 1
    assert attempts_for("tx", base_level("fallback:TxDefaultProfile@1")) == (
        ("TxProfile", 0),
        ("TxDefaultProfile", 2),
    )
    assert attempts_for("max") == (("ChargePointMaxProfile", 0),)
    assert attempts_for("base") == (("TxDefaultProfile", 0), ("TxDefaultProfile", 1))
    assert outcome("base", 1, "Accepted") == "fallback:TxDefaultProfile@1"
    assert outcome("tx", 0, "Accepted") == "Accepted"
    assert outcome("tx", 1, "Accepted") == "fallback:TxDefaultProfile@1"
    assert outcome("tx", 1, "Accepted", base=1) == "fallback:TxDefaultProfile@2"
    assert outcome("tx", 1, "Rejected") == "Rejected"


T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_an_accepted_tx_profile_is_renewed_when_less_than_a_lease_is_left() -> None:
    """300 s of validity, a 30 s lease (10 s cycles): the same limit goes out again 270 s after it was
    sent, not before, and so does a fallback above the baseline (bounded too); a rejected one never (no
    hammering), nor a fallback on the baseline's own level (saved before fallbacks went above it: no
    duration); no validity, no renewal; a record without a send time (saved before durations) at once."""
    last = Sent(10.0, "A", "tx-1", "Accepted", None, T0)
    assert not renewal_due(last, T0 + timedelta(seconds=260), 300, 30)
    assert renewal_due(last, T0 + timedelta(seconds=270), 300, 30)
    assert renewal_due(last, T0 + timedelta(seconds=400), 300, 30)  # a late cycle still renews
    assert not renewal_due(Sent(10.0, "A", "tx-1", "Rejected", None, T0), T0 + timedelta(hours=1), 300, 30)
    fallback = Sent(10.0, "A", "tx-1", "fallback:TxDefaultProfile@0", None, T0)
    assert not renewal_due(fallback, T0 + timedelta(hours=1), 300, 30)
    for level in (1, 2):
        above = Sent(10.0, "A", "tx-1", f"fallback:TxDefaultProfile@{level}", None, T0)
        assert not renewal_due(above, T0 + timedelta(seconds=260), 300, 30)
        assert renewal_due(above, T0 + timedelta(seconds=270), 300, 30)
    assert not renewal_due(last, T0 + timedelta(hours=1), 0, 30)
    assert renewal_due(Sent(10.0, "A", "tx-1", "Accepted"), T0, 300, 30)
    assert not renewal_due(None, T0, 300, 30)


def test_a_tx_profile_at_the_baseline_s_value_lapses_to_the_same_limit_and_is_not_renewed() -> None:
    """PV-only pauses at 0 A over a 0 A baseline: lapsing changes nothing, so no renewal; at another
    value (or once the baseline changed) it is renewed as before, a lapsed one at once."""
    paused = Sent(0.0, "A", "tx-1", "Accepted", None, T0)
    assert not renewal_due(paused, T0 + timedelta(seconds=270), 300, 30, fallback=0.0)
    assert not renewal_due(paused, T0 + timedelta(hours=2), 300, 30, fallback=0.0)
    assert renewal_due(paused, T0 + timedelta(seconds=270), 300, 30, fallback=6.0)
    assert renewal_due(paused, T0 + timedelta(hours=2), 300, 30, fallback=6.0)  # lapsed: at once
    held = Sent(6.0, "A", "tx-1", "Accepted", None, T0)
    assert not renewal_due(held, T0 + timedelta(seconds=270), 300, 30, fallback=6.0)  # PV-priority's 6 A
    assert renewal_due(held, T0 + timedelta(seconds=270), 300, 30, fallback=0.0)


def test_a_short_validity_is_renewed_at_its_half_not_every_cycle() -> None:
    assert renew_before_s(300, 90) == 90
    assert renew_before_s(120, 90) == 60
    last = Sent(10.0, "A", "tx-1", "Accepted", None, T0)
    assert not renewal_due(last, T0 + timedelta(seconds=50), 120, 90)
    assert renewal_due(last, T0 + timedelta(seconds=60), 120, 90)


def test_what_renewal_costs_per_car_and_hour() -> None:
    """The extra TxProfiles a car whose limit never changes gets (docs/surplus-actuation.md quotes these):
    300 s validity at 10 s cycles (30 s lease) 13.3 an hour, at 30 s cycles (90 s lease) 17.1."""
    assert renewals_per_hour(300, 30) == pytest.approx(13.33, abs=0.01)
    assert renewals_per_hour(300, 90) == pytest.approx(17.14, abs=0.01)
    assert renewals_per_hour(600, 30) == pytest.approx(6.32, abs=0.01)
    assert renewals_per_hour(0, 30) == 0.0
    # counted cycle by cycle: an hour of 10 s cycles with one unchanged limit
    last, sends = Sent(10.0, "A", "tx-1", "Accepted", None, T0), 0
    for k in range(1, 361):
        now = T0 + timedelta(seconds=10 * k)
        if renewal_due(last, now, 300, 30):
            last, sends = Sent(10.0, "A", "tx-1", "Accepted", None, now), sends + 1
    assert sends == 13
