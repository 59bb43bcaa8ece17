"""Network name → adapter class. Adding a network adds one line here (and its module and fixtures).

Lazy ``"module:Class"`` strings, as for the inverter brands: a network module with a bug cannot break the
others, and the web app loads none until one is used.
"""

from __future__ import annotations

from pipelet_app.integrations import registered_class
from pipelet_app.networks.base import NetworkAdapter

ADAPTERS: dict[str, str] = {
    "loop": "pipelet_app.networks.loop:LoopAdapter",
    "evrange": "pipelet_app.networks.evrange:EvRangeAdapter",
    "chargepoint": "pipelet_app.networks.chargepoint:ChargePointAdapter",
    "helios": "pipelet_app.networks.helios:HeliosAdapter",
}


def networks() -> list[str]:
    return list(ADAPTERS)


def adapter_class(network: str) -> type[NetworkAdapter]:
    """The adapter class; KeyError naming the known networks when there is none."""
    return registered_class(ADAPTERS, network, "network")


def create_adapter(network: str, credentials: dict, **kwargs: object) -> NetworkAdapter:
    return adapter_class(network)(credentials, **kwargs)  # type: ignore[arg-type]
