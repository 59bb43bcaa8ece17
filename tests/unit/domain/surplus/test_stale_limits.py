"""`actuation.loop._stale_decisions`: the safe limit per mode stays within the site cap."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

from pipelet_app.actuation.loop import _stale_decisions
from pipelet_app.domain.surplus import ChargerInput, Mode, SessionPrefs, SiteConfig, SiteSnapshot

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def view(mode: Mode, grid_limit_a: float, *chargers: ChargerInput) -> SimpleNamespace:
    return SimpleNamespace(
        config=SiteConfig(grid_limit_a=grid_limit_a, mode=mode),
        newest_utc=None,
        snapshot=SiteSnapshot(time_utc=T0, grid_w=0.0, chargers=chargers),
    )


def cars(n: int, phases: int = 3, **kw) -> list[ChargerInput]:
    return [ChargerInput(f"CP-{i:02d}/1", connected=True, phases=phases, **kw) for i in range(n)]


def test_ten_pv_priority_cars_on_a_32_a_site_keep_the_minimum_only_within_the_cap() -> None:
    decisions = _stale_decisions(view(Mode.PV_PRIORITY, 32, *cars(10)))  # type: ignore[arg-type]
    on = [d for d in decisions if d.limit_a > 0]
    assert len(on) == 5 and all(d.limit_a == 6 for d in on)  # 5 x 6 A = 30 A <= 32 A per phase
    assert sum(d.limit_a for d in decisions) <= 32
    off = [d for d in decisions if d.limit_a == 0]
    assert all("paused: site limit on L1 reached" in d.reason and not d.charging for d in off)


def test_higher_priority_keeps_its_minimum_first() -> None:
    low, high = cars(2)
    high = ChargerInput("CP-99/1", connected=True, prefs=SessionPrefs(priority=0))
    decisions = {d.charger_id: d for d in _stale_decisions(view(Mode.PV_PRIORITY, 8, low, high))}  # type: ignore[arg-type]
    assert decisions["CP-99/1"].limit_a == 6 and decisions[low.charger_id].limit_a == 0


def test_single_phase_cars_on_different_phases_each_fit() -> None:
    one = [ChargerInput(f"CP-{p}/1", connected=True, phases=1, phase=p) for p in (1, 2, 3)]
    decisions = _stale_decisions(view(Mode.PV_PRIORITY, 6, *one))  # type: ignore[arg-type]
    assert [d.limit_a for d in decisions] == [6, 6, 6]


def test_pv_only_pauses_everyone_and_idle_chargers_keep_the_default() -> None:
    idle = ChargerInput("CP-idle/1", connected=False)
    decisions = _stale_decisions(view(Mode.PV_ONLY, 32, *cars(3), idle))  # type: ignore[arg-type]
    assert [d.limit_a for d in decisions] == [0, 0, 0, 6]
    assert not any("site limit" in d.reason for d in decisions)
