"""ISO 15118 offers (domain/ev_schedule.py): never above the car, the EVSE or the site, never below the
car's minimum, enough energy by the departure when that is possible, and the car's schedule judged
against the offer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain.ev_schedule import (
    LEVEL_MARGIN,
    VOLTAGE_V,
    EvNeeds,
    Period,
    limit_at,
    plan_offer,
    within_offer,
)

transfers = st.sampled_from(["AC_single_phase", "AC_two_phase", "AC_three_phase"])
currents = st.floats(min_value=6, max_value=80)


@given(
    transfers,
    st.floats(min_value=1000, max_value=120_000),
    currents,
    st.floats(min_value=600, max_value=48 * 3600),
    st.one_of(st.none(), st.floats(min_value=1000, max_value=50_000)),
    st.one_of(st.none(), st.floats(min_value=0, max_value=100)),
)
def test_ac_offer_bounds_and_energy(
    transfer: str, energy: float, car_max: float, departure: float, evse_w: float | None, site_a: float | None
) -> None:
    needs = EvNeeds(transfer, energy, 6.0, car_max, 230.0, None, departure, 10)
    offer = plan_offer(needs, evse_w, site_a)
    caps = (
        [car_max]
        + ([evse_w / (VOLTAGE_V * needs.phases)] if evse_w else [])
        + ([site_a] if site_a is not None else [])
    )
    cap = min(caps)
    if round(cap, 1) < 6.0:
        assert not offer.possible and "minimum" in offer.reason
        return
    assert offer.possible and offer.unit == "A"
    assert all(6.0 - 1e-9 <= p.limit <= round(cap, 1) + 1e-9 for p in offer.periods)
    assert offer.periods[0].start_s == 0
    deliverable_wh = offer.periods[0].limit * VOLTAGE_V * needs.phases * departure / 3600
    if round(cap, 1) * VOLTAGE_V * needs.phases * departure / 3600 >= energy * LEVEL_MARGIN:
        assert deliverable_wh >= energy * LEVEL_MARGIN - 1e-6  # levelled, and still on time
    else:
        assert offer.periods[0].limit == round(cap, 1)  # cannot be met: the most there is


def test_levelled_offer_is_the_lowest_steady_current() -> None:
    needs = EvNeeds("AC_three_phase", 50_000, 6, 32, 230, None, 8 * 3600, 10)
    offer = plan_offer(needs, evse_max_w=11_040)
    assert [(p.start_s, p.limit) for p in offer.periods] == [(0, 10.0), (28800, 16.0)]
    one_tuple = plan_offer(EvNeeds("AC_three_phase", 50_000, 6, 32, 230, None, 8 * 3600, 1), 11_040)
    assert [(p.start_s, p.limit) for p in one_tuple.periods] == [(0, 16.0)]


def test_dc_offer_in_watts() -> None:
    needs = EvNeeds("DC", None, None, 200, 400, 50_000, None, None)
    offer = plan_offer(needs, evse_max_w=150_000)
    assert offer.unit == "W" and [p.limit for p in offer.periods] == [50_000.0]
    assert plan_offer(EvNeeds("DC", None, None, 100, 400, None), 150_000).periods[0].limit == 40_000


@given(
    st.lists(
        st.tuples(st.integers(0, 86_400), st.floats(0, 100)), min_size=1, max_size=8, unique_by=lambda t: t[0]
    )
)
def test_a_schedule_equal_to_the_offer_is_within_it(raw: list[tuple[int, float]]) -> None:
    periods = [Period(start, round(limit, 1), 3) for start, limit in sorted(raw)]
    assert within_offer("A", periods, "A", periods, 0.0) is None
    assert (
        within_offer("A", periods, "W", [Period(p.start_s, p.limit * 230 * 3, 3) for p in periods], 0) is None
    )
    worst = max(periods, key=lambda p: p.limit)
    over = [Period(p.start_s, p.limit + 1 if p is worst else p.limit, 3) for p in periods]
    assert within_offer("A", periods, "A", over, 0.0) is not None


def test_car_schedule_is_judged_at_its_own_times() -> None:
    offer = [Period(0, 10.0), Period(3600, 16.0)]
    assert limit_at(offer, 3599) == 10.0 and limit_at(offer, 3600) == 16.0
    # The car starts 30 min after the offer and asks 16 A after another 30 min: allowed then.
    assert within_offer("A", offer, "A", [Period(0, 10.0), Period(1800, 16.0)], 1800) is None
    assert within_offer("A", offer, "A", [Period(0, 10.0), Period(1700, 16.0)], 1800) is not None
    assert within_offer("A", offer, "A", [], 0) == "the car's schedule has no periods"
