"""`domain.surplus.baseline`: with the loop dead, the connectors' baselines together fit the site cap."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain.surplus import Mode
from pipelet_app.domain.surplus.baseline import baseline_shares


def connectors(n: int, min_a: float = 6.0) -> dict[str, float]:
    return {f"CP-{i:02d}/1": min_a for i in range(n)}


def test_ten_connectors_on_a_32_a_site_give_five_the_minimum_and_pause_the_rest() -> None:
    shares = baseline_shares(connectors(10), Mode.PV_PRIORITY, 32.0)
    assert sorted(shares.values()) == [0.0] * 5 + [6.0] * 5  # 5 x 6 A = 30 A <= 32 A, a sixth is 36 A
    assert [shares[f"CP-{i:02d}/1"] for i in range(5)] == [6.0] * 5  # by connector id: stable


def test_pv_only_starts_every_new_transaction_paused() -> None:
    assert set(baseline_shares(connectors(3), Mode.PV_ONLY, 63.0).values()) == {0.0}


def test_eco_plus_keeps_the_minimum_like_pv_priority() -> None:
    assert baseline_shares(connectors(2), Mode.ECO_PLUS, 16.0) == {"CP-00/1": 6.0, "CP-01/1": 6.0}


def test_a_cap_below_one_minimum_pauses_everyone() -> None:
    assert baseline_shares(connectors(1), Mode.PV_PRIORITY, 5.9) == {"CP-00/1": 0.0}


def test_the_same_connectors_give_the_same_shares_in_any_order() -> None:
    ids = list(connectors(7, 8.0))
    shuffled = ids[:]
    random.Random(3).shuffle(shuffled)
    a = baseline_shares(dict.fromkeys(ids, 8.0), Mode.PV_PRIORITY, 40.0)
    b = baseline_shares(dict.fromkeys(shuffled, 8.0), Mode.PV_PRIORITY, 40.0)
    assert a == b and sum(a.values()) == 40.0


@given(
    minimums=st.lists(st.sampled_from([6.0, 6.0, 8.0, 10.0, 0.0]), max_size=40),
    cap=st.floats(0, 250, allow_nan=False),
    mode=st.sampled_from(list(Mode)),
    site_phases=st.sampled_from([1, 3]),
    car_phases=st.lists(st.sampled_from([None, 1, 2, 3]), min_size=40, max_size=40),
)
def test_any_cars_on_any_phases_fit_the_cap_and_no_share_is_below_a_minimum(
    minimums: list[float], cap: float, mode: Mode, site_phases: int, car_phases: list[int | None]
) -> None:
    """Whatever car arrives at each connector (three-phase: None, or single-phase on L1-L3), the
    baselines drawn on each grid phase sum to at most the cap; every share is 0 or the minimum."""
    min_a = {f"CP-{i:02d}/{1 + i % 2}": m for i, m in enumerate(minimums)}
    shares = baseline_shares(min_a, mode, cap)
    assert set(shares) == set(min_a)
    load = [0.0, 0.0, 0.0]
    for i, charger_id in enumerate(sorted(min_a)):
        share = shares[charger_id]
        assert share == 0.0 or share >= min_a[charger_id]
        phase = car_phases[i]
        if site_phases == 1:
            load[0] += share
        elif phase is None:
            load = [x + share for x in load]
        else:
            load[phase - 1] += share
    assert max(load) <= cap + 1e-9
    if mode is Mode.PV_ONLY:
        assert not any(shares.values())
    else:  # nobody is paused who would still have fitted after the connectors before it
        used = 0.0
        for charger_id in sorted(min_a):
            if shares[charger_id] == 0.0 and min_a[charger_id] > 0:
                assert used + min_a[charger_id] > cap
            used += shares[charger_id]


def test_connectors_go_in_the_order_an_operator_reads_their_ids() -> None:
    """docs/surplus-actuation.md: `CP-1/1`, `CP-1/2`, `CP-2/1`, ...: on a site of chargers CP-1 .. CP-10 the
    first five get the minimum, not CP-1, CP-10, CP-2, CP-3, CP-4 (the ids' string order); likewise a
    charger's connector 10 comes after its connector 2."""
    shares = baseline_shares({f"CP-{n}/1": 6.0 for n in range(1, 11)}, Mode.PV_PRIORITY, 32.0)
    assert [cid for cid, share in shares.items() if share] == [f"CP-{n}/1" for n in range(1, 6)]
    ports = baseline_shares({f"CP-1/{n}": 6.0 for n in (1, 2, 10)}, Mode.PV_PRIORITY, 12.0)
    assert ports == {"CP-1/1": 6.0, "CP-1/2": 6.0, "CP-1/10": 0.0}
    twins = {"CP-01/1": 6.0, "CP-1/1": 6.0}  # equal as numbers: the id decides, whatever came first
    assert baseline_shares(twins, Mode.PV_PRIORITY, 6.0) == baseline_shares(
        dict(reversed(twins.items())), Mode.PV_PRIORITY, 6.0
    )
