"""Brand name → adapter class. Adding a brand adds one line here (and its module and fixtures).

Imports are lazy (``"module:Class"`` strings) so the web app does not load nine HTTP clients' worth of code
to render a tile, and a brand module with a bug cannot break the others.
"""

from __future__ import annotations

from pipelet_app.integrations import registered_class
from pipelet_app.inverters.base import InverterAdapter

ADAPTERS: dict[str, str] = {
    "enphase": "pipelet_app.inverters.enphase:EnphaseAdapter",
    "solaredge": "pipelet_app.inverters.solaredge:SolarEdgeAdapter",
    "fronius": "pipelet_app.inverters.fronius:FroniusAdapter",
    "huawei": "pipelet_app.inverters.huawei:HuaweiAdapter",
    "sma": "pipelet_app.inverters.sma:SmaAdapter",
    "victron": "pipelet_app.inverters.victron:VictronAdapter",
    "sungrow": "pipelet_app.inverters.sungrow:SungrowAdapter",
    "ecoflow": "pipelet_app.inverters.ecoflow:EcoFlowAdapter",
    "solarwatt": "pipelet_app.inverters.solarwatt:SolarwattAdapter",
}


def brands() -> list[str]:
    """Every brand with an adapter, in registry order (the order the connect UI lists them)."""
    return list(ADAPTERS)


def adapter_class(brand: str) -> type[InverterAdapter]:
    """The adapter class for ``brand``; KeyError naming the known brands when there is none."""
    return registered_class(ADAPTERS, brand, "inverter brand")


def create_adapter(brand: str, credentials: dict, **kwargs: object) -> InverterAdapter:
    """``adapter_class(brand)(credentials, **kwargs)``: kwargs as in ``InverterAdapter.__init__``."""
    return adapter_class(brand)(credentials, **kwargs)  # type: ignore[arg-type]
