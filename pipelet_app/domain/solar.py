"""How much of a charging session counts as solar, and a driver's solar share.

The rule (docs/solar-share.md):
- PV-wallbox sessions count their measured PV part when the brand splits PV and grid; otherwise the
  whole session counts as PV-wallbox energy and the figure is flagged *estimated*.
- OCPP-wallbox sessions count the solar part measured at a site with PV metering (domain.site_energy),
  flagged *estimated* when site data was missing; else nothing.
- Public charging never counts as solar.
The same rule is written once more as SQL in `pipelet_app/fleet/queries.py` so large fleets aggregate in
the database; a test checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

SOURCES = ("ocpp-wallbox", "pv-inverter", "public")


@dataclass(frozen=True)
class SolarPart:
    solar_wh: float
    estimated: bool


def session_solar(
    source: str, energy_wh: float, measured_solar_wh: float | None, measured_estimated: bool = False
) -> SolarPart:
    """`measured_estimated`: an OCPP session's site data had gaps (docs/solar-share.md)."""
    energy_wh = max(energy_wh, 0.0)
    if source == "pv-inverter":
        if measured_solar_wh is None:
            return SolarPart(energy_wh, estimated=True)
        return SolarPart(min(max(measured_solar_wh, 0.0), energy_wh), estimated=False)
    if source == "ocpp-wallbox" and measured_solar_wh is not None:
        return SolarPart(min(max(measured_solar_wh, 0.0), energy_wh), estimated=measured_estimated)
    return SolarPart(0.0, estimated=False)


def solar_share(total_wh: float, solar_wh: float) -> float | None:
    """Share of solar in [0, 1]; None when nothing was charged (a 0 % would be a claim, not a fact)."""
    if total_wh <= 0:
        return None
    return min(max(solar_wh / total_wh, 0.0), 1.0)
