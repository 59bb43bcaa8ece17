"""Builders for controller tests: a snapshot in one line, and a loop that feeds decisions back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pipelet_app.domain.surplus import (
    ChargerInput,
    ControllerMemory,
    ControllerSettings,
    SiteConfig,
    SiteDecision,
    SiteSnapshot,
    decide,
)

T0 = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def snapshot(seconds: float, grid_w: float, *chargers: ChargerInput, **extra) -> SiteSnapshot:
    return SiteSnapshot(time_utc=at(seconds), grid_w=grid_w, chargers=chargers, **extra)


def follow(
    chargers: tuple[ChargerInput, ...], decision: SiteDecision, voltage: float = 230.0
) -> tuple[ChargerInput, ...]:
    """Chargers whose cars drew exactly what the decision allowed (up to `measured_a` caps left as given)."""
    by_id = {d.charger_id: d for d in decision.chargers}
    followed = []
    for charger in chargers:
        d = by_id[charger.charger_id]
        amps = d.limit_a if d.charging else 0.0
        followed.append(
            replace(charger, phases=d.phases, measured_a=amps, measured_w=amps * voltage * d.phases)
        )
    return tuple(followed)


def run(
    site: SiteConfig,
    surplus_w: list[float],
    chargers: tuple[ChargerInput, ...],
    step_s: float = 30.0,
    settings: ControllerSettings | None = None,
):
    """Feed a sequence of house surplus values (PV minus house) through the controller in closed loop."""
    memory = ControllerMemory()
    decisions = []
    for index, surplus in enumerate(surplus_w):
        ev_w = sum(c.measured_w for c in chargers if c.connected)
        result = decide(
            snapshot(index * step_s, ev_w - surplus, *chargers),
            site,
            memory,
            settings or ControllerSettings(),
        )
        decisions.append(result)
        memory = result.memory
        chargers = follow(chargers, result, site.voltage_v)
    return decisions
