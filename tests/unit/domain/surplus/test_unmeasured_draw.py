"""A car whose session started moments ago and has no reading yet (a 1.6 wallbox that sends only its
register: just `meterStart`) counts as drawing what its charger holds for it, and is offered no more
until measured (`controller.unmeasured_draws`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pipelet_app.domain.surplus import ChargerInput, Mode, SiteConfig, SiteSnapshot
from pipelet_app.domain.surplus.controller import decide
from pipelet_app.domain.surplus.model import ChargerMemory, ControllerMemory

T0 = datetime(2026, 6, 1, 11, tzinfo=UTC)
SITE = SiteConfig(grid_limit_a=32, phases=3, mode=Mode.PV_ONLY)
PV_W, HOUSE_W = 9000.0, 3000.0  # 6 kW of surplus before any car
AT_6_A = 6 * 3 * 230


def fresh(offered_a: float | None, **more) -> ChargerInput:
    return ChargerInput("CP/1", True, unmeasured=True, offered_a=offered_a, **more)


def limit(car_draw_w: float, *chargers: ChargerInput, memory: ControllerMemory | None = None) -> list[float]:
    """The limits decided with the live grid showing the house and `car_draw_w` of cars."""
    grid = HOUSE_W + car_draw_w - PV_W
    snap = SiteSnapshot(T0, grid_w=grid, chargers=chargers, pv_w=PV_W)
    return [c.limit_a for c in decide(snap, SITE, memory).chargers]


def test_a_car_started_on_its_lift_is_not_paused_before_its_first_reading() -> None:
    """It draws 6 A (4.1 kW, in the grid's reading), nothing measured yet: 1.9 kW of export looked short
    of its minimum and it was paused (0 A), to start again a cycle later."""
    assert limit(AT_6_A, fresh(6.0)) == [6.0]
    assert limit(AT_6_A, ChargerInput("CP/1", True)) == [0.0]  # a measured 0 W: paused, as before
    # a car the controller already charges at 6 A, still without a reading: kept, not paused
    memory = ControllerMemory(
        T0 - timedelta(seconds=10),
        {"CP/1": ChargerMemory(charging=True, limit_a=6.0, limit_since=T0 - timedelta(seconds=10))},
    )
    assert limit(AT_6_A, fresh(6.0), memory=memory) == [6.0]


def test_an_unmeasured_car_is_offered_no_surplus_that_is_not_there() -> None:
    """Not drawing yet (the grid still shows 6 kW of export): counted at its 6 A it would look like
    10.1 kW of surplus; it keeps its 6 A and is raised once measured. Counted at 0 W it got 8.6 A."""
    assert limit(0.0, fresh(6.0)) == [6.0]
    # the other car shares what is left after the fresh car's offer, as if it drew it
    other = ChargerInput("CP/2", True, measured_w=0.0)
    assert limit(AT_6_A, fresh(6.0), other) == [6.0, 0.0]  # 1.9 kW left: short of a second minimum


def test_an_offer_below_the_minimum_or_unknown_is_no_draw() -> None:
    """A 0 A baseline (PV-only, no lift): the car cannot draw, it counts 0 W and may start higher at
    once; no offer known (the charger accepted none): 0 W as before."""
    assert limit(0.0, fresh(0.0)) == [8.6]
    assert limit(0.0, fresh(None)) == [8.6]
    assert limit(0.0, ChargerInput("CP/1", True, offered_a=6.0)) == [8.6]  # measured: the offer is not used


def test_an_unmeasured_car_is_not_marked_idle_and_its_share_kept() -> None:
    """A register-only car drawing its 6 A lift, no reading for 3 minutes, beside a car reporting what
    it draws; 11 kW of surplus before the cars. No reading is no evidence that it does not draw: it was
    marked not drawing after the grace minute (80 s), its share went to the other car (9.9 -> 15.9 A)
    while it still drew its 6 A, and the site imported 4.1 kW."""
    pv_w, memory, other_a = 14_000.0, None, 0.0
    for step in range(19):
        at = T0 + timedelta(seconds=10 * step)
        other = ChargerInput("CP/2", True, measured_w=other_a * 3 * 230, measured_since=at, measured_at=at)
        grid = HOUSE_W + AT_6_A + other.measured_w - pv_w
        snap = SiteSnapshot(at, grid_w=grid, chargers=(fresh(6.0), other), pv_w=pv_w)
        result = decide(snap, SITE, memory)
        memory, (fresh_car, other_car) = result.memory, result.chargers
        assert fresh_car.limit_a == 6.0 and "not drawing" not in fresh_car.reason, (step, fresh_car)
        assert other_car.limit_a <= 10.0, (step, other_car)  # 11 kW less the fresh car's 4.1 kW
        other_a = other_car.limit_a
    assert memory.chargers["CP/1"].not_drawing_since is None


def test_the_reason_says_why_an_unmeasured_car_is_not_raised() -> None:
    """The operator sees why a car sits at its offer on a sunny site (a charger that sends no reading
    keeps its car there for the whole session); a measured car's reason does not say it."""
    snap = SiteSnapshot(T0, grid_w=HOUSE_W + AT_6_A - PV_W, chargers=(fresh(6.0),), pv_w=PV_W)
    held = decide(snap, SITE).chargers[0]
    assert held.limit_a == 6.0 and "no reading from the charger yet" in held.reason, held
    measured = ChargerInput("CP/1", True, measured_w=AT_6_A, measured_since=T0, measured_at=T0)
    raised = decide(replace(snap, chargers=(measured,)), SITE).chargers[0]
    assert "no reading" not in raised.reason, raised
