"""`domain.surplus.baseline`'s lift: while the controller would start a new car, idle connectors' default
is raised to the minimum (stack level 1, bounded), so a car that locks its current at session start does
not lock the PV-only baseline's 0 A; within the cap with the loop away and now; with a hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain.surplus import Mode
from pipelet_app.domain.surplus.baseline import baseline_shares, hold_lift, lift_shares, newcomer_starts

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
THREE_PHASE_6A = 6.0 * 3 * 230.0  # 4140 W


def test_a_newcomer_starts_when_the_surplus_carries_its_minimum_and_nobody_takes_it_all() -> None:
    assert newcomer_starts(8000.0, [], THREE_PHASE_6A)  # full sun, no car: a new one would start
    assert not newcomer_starts(4000.0, [], THREE_PHASE_6A)  # less than a three-phase minimum
    # a car at 16 A (11 kW) can take all of 8 kW: the controller would not add a second one
    assert not newcomer_starts(8000.0, [(THREE_PHASE_6A, 11040.0, True)], THREE_PHASE_6A)
    # 12 kW: the running car cannot take it all, and both minimums fit (the newcomer gets its minimum)
    assert newcomer_starts(12000.0, [(THREE_PHASE_6A, 11040.0, True)], THREE_PHASE_6A)
    # a car that takes only ~7 A (its draw cap) leaves room for a newcomer at 9 kW
    assert newcomer_starts(9000.0, [(THREE_PHASE_6A, 7.0 * 690.0, True)], THREE_PHASE_6A)
    # a car waiting for sun comes first: the surplus must carry its minimum too
    assert not newcomer_starts(6000.0, [(THREE_PHASE_6A, 11040.0, False)], THREE_PHASE_6A)
    assert newcomer_starts(8300.0, [(THREE_PHASE_6A, 11040.0, False)], THREE_PHASE_6A)


def test_the_lift_holds_through_a_passing_cloud_and_drops_after_the_hold() -> None:
    lifted, since = hold_lift(False, True, None, T0, 180.0)
    assert (lifted, since) == (True, None)
    lifted, since = hold_lift(lifted, False, since, T0 + timedelta(seconds=10), 180.0)
    assert (lifted, since) == (True, T0 + timedelta(seconds=10))  # a cloud: held
    lifted, since = hold_lift(lifted, True, since, T0 + timedelta(seconds=60), 180.0)
    assert (lifted, since) == (True, None)  # the sun is back: the hold starts over next time
    lifted, since = hold_lift(lifted, False, since, T0 + timedelta(seconds=70), 180.0)
    assert hold_lift(lifted, False, since, T0 + timedelta(seconds=249), 180.0)[0]
    assert hold_lift(lifted, False, since, T0 + timedelta(seconds=250), 180.0) == (False, None)
    assert hold_lift(False, False, None, T0, 180.0) == (False, None)  # never lifted: nothing to hold
    assert hold_lift(True, False, None, T0, 0.0) == (False, None)  # no hold: drops at once


def test_pv_only_idle_connectors_are_lifted_to_the_minimum_in_id_order_within_the_cap() -> None:
    ids = ["CP-1/1", "CP-2/1", "CP-10/1", "CP-3/1"]
    minimum = dict.fromkeys(ids, 6.0)
    base = baseline_shares(minimum, Mode.PV_ONLY, 16.0)
    assert set(base.values()) == {0.0}
    lifts = lift_shares(base, ids, minimum, {}, 0.0, 16.0)
    assert lifts == {"CP-1/1": 6.0, "CP-2/1": 6.0}  # 2 x 6 A fit 16 A, a third would be 18 A
    # the house draws 5 A: only one fits now
    assert lift_shares(base, ids, minimum, {}, 5.0, 16.0) == {"CP-1/1": 6.0}
    # a car running at 10 A on a fifth connector: one lift fits beside it (10 + 6 = 16)
    base5 = {**base, "CP-0/1": 0.0}
    assert lift_shares(base5, ids, {**minimum, "CP-0/1": 6.0}, {"CP-0/1": 10.0}, 0.0, 16.0) == {"CP-1/1": 6.0}
    # a connector whose baseline went on stack level 1 is not lifted (the lift would replace it)
    assert lift_shares(base, ids, minimum, {}, 0.0, 16.0, barred=["CP-1/1"]) == {"CP-2/1": 6.0, "CP-3/1": 6.0}


def test_pv_priority_connectors_already_at_the_minimum_are_not_lifted() -> None:
    minimum = {f"CP-{i}/1": 6.0 for i in range(4)}
    base = baseline_shares(minimum, Mode.PV_PRIORITY, 20.0)  # three at 6 A, the fourth 0 A
    assert lift_shares(base, list(minimum), minimum, {}, 0.0, 20.0) == {}  # a fourth 6 A would be 24 A
    assert lift_shares(base, list(minimum), minimum, {}, 0.0, 24.0) == {"CP-3/1": 6.0}


@given(
    st.integers(1, 12),
    st.integers(0, 6),
    st.floats(6.0, 100.0),
    st.floats(0.0, 30.0),
    st.lists(st.floats(0.0, 32.0), max_size=6),
    st.sampled_from(list(Mode)),
)
def test_with_the_loop_away_and_now_the_defaults_fit_the_cap(
    idle_n: int, busy_n: int, cap: float, house: float, running: list[float], mode: Mode
) -> None:
    """Every connector counting on every phase: with the loop away every default (baseline or lift) and
    now the house, the running limits and the idle defaults stay within the cap, a lift is the minimum,
    never less, and no connector is left unlifted that would have fitted."""
    idle = [f"CP-{i}/1" for i in range(idle_n)]
    busy = [f"CP-{i}/2" for i in range(busy_n)]
    minimum = dict.fromkeys(idle + busy, 6.0)
    base = baseline_shares(minimum, mode, cap)
    limits = {key: running[i] if i < len(running) else 0.0 for i, key in enumerate(busy)}
    lifts = lift_shares(base, idle, minimum, limits, house, cap)
    assert all(value == 6.0 and base[key] < 6.0 for key, value in lifts.items())
    defaults = {key: max(base[key], lifts.get(key, 0.0)) for key in base}
    away = sum(defaults.values())
    now = house + sum(limits.values()) + sum(defaults[k] for k in idle)
    assert away <= cap + 1e-6
    assert now <= cap + 1e-6 or not lifts  # a lift never takes the instant sum over the cap
    for key in idle:  # and every connector left unlifted would have broken one of the sums
        if key not in lifts and base[key] < 6.0:
            extra = 6.0 - base[key]
            assert away + extra > cap - 1e-9 or now + extra > cap - 1e-9
