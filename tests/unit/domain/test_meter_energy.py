"""Start-reading decisions and plausibility flags of OCPP sessions (domain.meter_energy)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import assume, given
from hypothesis import strategies as st

from pipelet_app.domain import meter_energy as me
from pipelet_app.domain.meter_energy import Reading

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
AC_22KW = 22_000.0


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


# ---------------------------------------------------------------------- examples from the issue
def test_meter_replaced_reports_0_and_keeps_its_energy() -> None:
    """12.5 kWh after a meter swap: the previous session ended at 50 kWh on the old meter."""
    decision = me.decide_start(
        0,
        late=True,
        started_at=T0,
        previous_wh=50_000,
        readings=[Reading(at(60), 12_500)],
        max_power_w=AC_22KW,
    )
    assert decision.start_wh == 0 and me.START_ZERO_METER_RESET in decision.flags
    assert not me.needs_review(decision.flags)


def test_unread_meter_continues_from_the_previous_register() -> None:
    decision = me.decide_start(
        0,
        late=True,
        started_at=T0,
        previous_wh=50_000,
        readings=[Reading(at(60), 62_500)],
        max_power_w=AC_22KW,
    )
    assert decision.start_wh == 50_000 and decision.flags == {me.START_FROM_PREVIOUS}


def test_both_possible_keeps_the_chargers_zero_and_asks_for_review() -> None:
    decision = me.decide_start(
        0,
        late=True,
        started_at=T0,
        previous_wh=5_000,
        readings=[Reading(at(60), 17_500)],
        max_power_w=AC_22KW,
    )
    assert decision.start_wh == 0 and me.needs_review(decision.flags)


def test_first_sample_when_neither_zero_nor_history_fits() -> None:
    readings = [Reading(at(1), 20_000), Reading(at(30), 25_000)]
    decision = me.decide_start(0, late=True, started_at=T0, previous_wh=None, readings=readings)
    assert decision.start_wh == 20_000 and decision.flags == {me.START_FROM_FIRST_SAMPLE}


def test_on_time_zero_and_nonzero_starts_are_the_chargers() -> None:
    readings = [Reading(at(1), 20_000)]
    assert me.decide_start(0, late=False, started_at=T0, previous_wh=9, readings=readings).start_wh == 0
    assert me.decide_start(7, late=True, started_at=T0, previous_wh=9, readings=readings).start_wh == 7


def test_no_start_reading_takes_the_first_register() -> None:
    readings = [Reading(at(5), 1_500), Reading(at(1), 1_000)]
    assert (
        me.decide_start(None, late=False, started_at=T0, previous_wh=None, readings=readings).start_wh
        == 1_000
    )
    assert me.decide_start(None, late=False, started_at=T0, previous_wh=None, readings=[]).start_wh is None


def test_forty_seconds_of_300_kwh_is_flagged() -> None:
    flags = me.check(
        started_at=T0,
        ended_at=T0 + timedelta(seconds=40),
        start_wh=1_000,
        energy_wh=299_763,
        readings=[Reading(T0 + timedelta(seconds=40), 300_763)],
    )
    assert me.EXCEEDS_MAX_POWER in flags and me.needs_review(flags)


def test_negative_backwards_and_jumping_registers() -> None:
    def flags_of(*values: float) -> frozenset[str]:
        readings = [Reading(at(i + 1), v) for i, v in enumerate(values)]
        energy = values[-1] - 1_000
        return me.check(
            started_at=T0,
            ended_at=at(len(values)),
            start_wh=1_000,
            energy_wh=energy,
            readings=readings,
            max_power_w=AC_22KW,
        )

    assert flags_of(1_100, 1_300) == frozenset()
    assert me.REGISTER_BACKWARDS in flags_of(1_300, 1_200, 1_400)
    assert me.NEGATIVE_REGISTER in flags_of(1_100, -5, 1_300)
    assert me.REGISTER_JUMP in flags_of(1_100, 90_000, 90_100)


def test_flags_round_trip_sorted() -> None:
    assert me.format_flags({"b", "a"}) == "a,b"
    assert me.parse_flags("a,b") == {"a", "b"} and me.parse_flags("") == frozenset()


# ---------------------------------------------------------------------- properties
powers = st.sampled_from([3_700.0, 11_000.0, 22_000.0, 50_000.0, 150_000.0, 350_000.0])


@st.composite
def charging(draw: st.DrawFn, start_wh: float) -> tuple[float, list[Reading]]:
    """(max power, readings) of a session that really charged from `start_wh` at up to the max power."""
    power = draw(powers)
    readings, value, minute = [], start_wh, 0.0
    for _ in range(draw(st.integers(1, 12))):
        step = draw(st.floats(1, 60))
        minute += step
        value += draw(st.floats(0, 1)) * power * step / 60
        readings.append(Reading(at(minute), value))
    return power, readings


@given(st.floats(1, 1e8), st.booleans(), st.floats(0, 1e8) | st.none(), st.data())
def test_a_nonzero_or_on_time_start_is_never_replaced(
    reported: float, late: bool, previous: float | None, data: st.DataObject
) -> None:
    power, readings = data.draw(charging(reported))
    decision = me.decide_start(
        reported, late=late, started_at=T0, previous_wh=previous, readings=readings, max_power_w=power
    )
    assert decision.start_wh == reported and decision.flags == frozenset()


@given(st.floats(1_000, 1e8), st.data())
def test_a_real_reset_below_the_history_is_believed(previous: float, data: st.DataObject) -> None:
    power, readings = data.draw(charging(0.0))
    assume(readings[-1].wh > 0 and max(r.wh for r in readings) < previous)
    decision = me.decide_start(
        0, late=True, started_at=T0, previous_wh=previous, readings=readings, max_power_w=power
    )
    assert decision.start_wh == 0 and not me.needs_review(decision.flags)


@given(st.floats(1, 1e8), st.data())
def test_an_unread_meter_is_never_billed_its_lifetime(previous: float, data: st.DataObject) -> None:
    power, readings = data.draw(charging(previous))
    decision = me.decide_start(
        0, late=True, started_at=T0, previous_wh=previous, readings=readings, max_power_w=power
    )
    # Either the history is used, or (both possible) the 0 is kept but held for an operator's review.
    assert decision.start_wh == previous or (decision.start_wh == 0 and me.needs_review(decision.flags))
    if previous > me.allowance_wh((readings[-1].at - T0).total_seconds(), power):
        assert decision.start_wh == previous


@given(st.floats(0, 1e8), st.data())
def test_real_charging_raises_no_review_flag(start: float, data: st.DataObject) -> None:
    power, readings = data.draw(charging(start))
    flags = me.check(
        started_at=T0,
        ended_at=readings[-1].at,
        start_wh=start,
        energy_wh=readings[-1].wh - start,
        readings=readings,
        max_power_w=power,
    )
    assert not me.needs_review(flags)


@given(st.floats(0, 1e8), st.floats(1.2, 1_000), st.data())
def test_more_than_the_connector_can_deliver_is_always_flagged(
    start: float, factor: float, data: st.DataObject
) -> None:
    power, readings = data.draw(charging(start))
    seconds = (readings[-1].at - T0).total_seconds()
    energy = me.allowance_wh(seconds, power) * factor
    flags = me.check(
        started_at=T0,
        ended_at=readings[-1].at,
        start_wh=start,
        energy_wh=energy,
        readings=[*readings, Reading(readings[-1].at, start + energy)],
        max_power_w=power,
    )
    assert me.EXCEEDS_MAX_POWER in flags and me.needs_review(flags)


@given(st.lists(st.floats(-1e6, 1e8), min_size=2, max_size=20))
def test_any_register_going_down_is_flagged(values: list[float]) -> None:
    assume(any(b < a for a, b in pairwise(values)))
    readings = [Reading(at(i), v) for i, v in enumerate(values)]
    flags = me.check(started_at=T0, ended_at=at(len(values)), start_wh=None, energy_wh=0, readings=readings)
    assert flags & {me.REGISTER_BACKWARDS, me.NEGATIVE_REGISTER}
