"""A register-only charger's draw is the average of its last interval, the grid meter is live: the
controller must not count the earlier draw of an interval within which it lowered the car's limit."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pipelet_app.domain.surplus import ChargerInput, SiteConfig, SiteSnapshot
from pipelet_app.domain.surplus.controller import decide, draws_now
from pipelet_app.domain.surplus.model import ChargerMemory, ControllerMemory

T0 = datetime(2026, 6, 1, 11, tzinfo=UTC)
SITE = SiteConfig(grid_limit_a=32, phases=3)
PV_W, HOUSE_W = 9000.0, 3000.0


def walk(cycles: int) -> list[tuple[float, float]]:
    """The outside walk in the domain: a 3-phase car of at most 16 A that follows its limit at once, a
    register read every 10 s (at :x0), the controller every 10 s 6 s later (at :x6) with the live grid.
    Returns (limit A, grid W) of each cycle."""
    memory = ControllerMemory()
    limit_a = 6.0  # the lifted TxDefaultProfile: the car starts at its minimum
    history: list[tuple[float, float]] = []  # (second, draw W) from each change on
    out = []

    def draw(a: float) -> float:
        return 0.0 if a < 6 else min(a, 16) * 3 * 230

    history.append((0.0, draw(limit_a)))

    def energy_until(s: float) -> float:
        wh = 0.0
        for (t, w), (t_next, _) in zip(history, [*history[1:], (s, 0.0)], strict=True):
            wh += w * (min(t_next, s) - t) / 3600 if t < s else 0.0
        return wh

    for k in range(cycles):
        now_s = 10.0 * k + 16
        newest, before = 10.0 * (k + 1), 10.0 * k
        average = (energy_until(newest) - energy_until(before)) * 3600 / 10
        grid = HOUSE_W + draw(limit_a) - PV_W
        car = ChargerInput(
            "CP/1",
            True,
            measured_w=average,
            measured_since=T0 + timedelta(seconds=before),
            measured_at=T0 + timedelta(seconds=newest),
            offered_a=limit_a,  # what the charger holds: the lift, then the controller's limits
        )
        snap = SiteSnapshot(T0 + timedelta(seconds=now_s), grid_w=grid, chargers=(car,), pv_w=PV_W)
        result = decide(snap, SITE, memory)
        memory = result.memory
        limit_a = result.chargers[0].limit_a
        history.append((now_s, draw(limit_a)))
        out.append((limit_a, grid))
    return out


def test_a_register_average_does_not_make_the_loop_oscillate() -> None:
    """6 kW of surplus: the car settles at 8.6 A and the grid does not import.
    Before: 8.6, 7.1, 9.5, 7.2, 10.0, 6.9 ... A, swinging wider, up to 900 W of import every other cycle."""
    cycles = walk(30)
    settled = cycles[10:]
    assert all(7.5 <= a <= 8.7 for a, _ in settled), cycles
    assert max(grid for _, grid in settled) < 100, cycles


def test_an_averaged_draw_is_bounded_by_the_limit_in_force_since_its_interval_began() -> None:
    before = T0 - timedelta(seconds=10)
    memory = ControllerMemory(T0, {"CP/1": ChargerMemory(charging=True, limit_a=6.0, phases=3)})
    car = ChargerInput("CP/1", True, measured_w=8000.0, measured_since=before)
    snap = SiteSnapshot(T0 + timedelta(seconds=10), grid_w=0.0, chargers=(car,))
    assert draws_now(snap, memory, 230.0).chargers[0].measured_w == 6 * 3 * 230
    paused = replace(memory, chargers={"CP/1": ChargerMemory(charging=False)})
    assert draws_now(snap, paused, 230.0).chargers[0].measured_w == 0.0
    # a draw that began after the limit was set, or one of now (None), stays as it is
    later = replace(car, measured_since=T0 + timedelta(seconds=1))
    instant = replace(car, measured_since=None)
    for c in (later, instant):
        assert draws_now(replace(snap, chargers=(c,)), memory, 230.0).chargers[0].measured_w == 8000.0


def test_a_raise_within_the_interval_leaves_no_swing() -> None:
    """The walk's first raise (6 -> 8.6 A, 6 s into a 10 s interval): the next average mixes 6 A and
    8.6 A (4.9 kW for the car's 5.9 kW now). It is read as the draw since the raise, so the car stays at
    8.6 A from its first cycle on. Before: 8.6, 7.1, 8.6 ... (a cut of 1.5 A and a raise back)."""
    cycles = walk(8)
    assert [a for a, _ in cycles] == [8.6] * 8, cycles


def test_an_average_across_a_raise_counts_the_draw_since_it_within_the_old_and_new_limit() -> None:
    raised = T0 - timedelta(seconds=4)
    memory = ControllerMemory(
        raised,
        {
            "CP/1": ChargerMemory(
                charging=True, limit_a=10.0, previous_limit_a=6.0, limit_since=raised, phases=3
            )
        },
    )
    since, until = T0 - timedelta(seconds=10), T0

    def counted(average: float, **changes) -> float:
        car = ChargerInput("CP/1", True, measured_w=average, measured_since=since, measured_at=until)
        snap = SiteSnapshot(T0 + timedelta(seconds=6), grid_w=0.0, chargers=(replace(car, **changes),))
        return draws_now(snap, memory, 230.0).chargers[0].measured_w

    at_6, at_10 = 6 * 3 * 230, 10 * 3 * 230
    followed = (at_6 * 6 + at_10 * 4) / 10  # 6 s at 6 A, 4 s at 10 A
    assert counted(followed) == pytest.approx(at_10)
    # a car that did not follow the raise (it draws 4 kW, below both limits): its average, not less
    assert counted(4000.0) == 4000.0
    # never above the raised limit (a register's resolution can make the rise since look larger)
    assert counted(at_10) == at_10
    # without the interval's end, or an interval after the raise: the average as it is
    assert counted(followed, measured_at=None) == followed
    assert counted(followed, measured_since=raised + timedelta(seconds=1)) == followed
    # a cut is not a raise: only the bound of the limit in force applies
    cut = replace(memory.chargers["CP/1"], limit_a=6.0, previous_limit_a=10.0)
    memory = replace(memory, chargers={"CP/1": cut})
    assert counted(followed) == pytest.approx(at_6)
