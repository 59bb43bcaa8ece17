"""PV-surplus charging, pure: the controller (`decide`), its inputs and outputs, and the simulator.

Public API for the actuation loop, the CLI and the benchmark:

    from pipelet_app.domain.surplus import (
        ChargerInput, SessionPrefs, SiteConfig, SiteSnapshot, Circuit, PriceSeries, PricePoint, Mode,
        ControllerSettings, ControllerMemory, SiteDecision, ChargerDecision, decide,
    )
    decision = decide(snapshot, site, memory)        # every 10-30 s
    for charger in decision.changed(): ...           # send a profile only for these
    memory = decision.memory                         # keep for the next call

Modules: `model` (dataclasses), `controller` (one cycle), `share` (who gets how much), `limits` (site and
circuit caps), `phases` (1p/3p), `tracking` (what a car really draws), `plan` (departure and prices),
`forecast` (clear-sky PV forecast), `simulation` (closed loop with virtual chargers and cars), `saved`
(the loop's memory as versioned JSON, so a new owner of a site continues from it).
"""

from pipelet_app.domain.surplus.controller import DEFAULT_SETTINGS, decide
from pipelet_app.domain.surplus.model import (
    MIN_CURRENT_A,
    VOLTAGE_V,
    ChargerDecision,
    ChargerInput,
    ChargerMemory,
    Circuit,
    ControllerMemory,
    ControllerSettings,
    Mode,
    PricePoint,
    PriceSeries,
    SessionPrefs,
    SiteConfig,
    SiteDecision,
    SiteSnapshot,
)

__all__ = [
    "DEFAULT_SETTINGS",
    "MIN_CURRENT_A",
    "VOLTAGE_V",
    "ChargerDecision",
    "ChargerInput",
    "ChargerMemory",
    "Circuit",
    "ControllerMemory",
    "ControllerSettings",
    "Mode",
    "PricePoint",
    "PriceSeries",
    "SessionPrefs",
    "SiteConfig",
    "SiteDecision",
    "SiteSnapshot",
    "decide",
]
