"""One fake cloud per inverter brand, and the harness line the contract tests iterate over.

Adding a brand adds its fake module and one line to ``HARNESSES``.
"""

from __future__ import annotations

from tests.fakes.inverters import (
    ecoflow,
    enphase,
    fronius,
    huawei,
    sma,
    solaredge,
    solarwatt,
    sungrow,
    victron,
)
from tests.fakes.inverters._harness import BrandHarness

HARNESSES: dict[str, BrandHarness] = {
    "enphase": enphase.HARNESS,
    "solaredge": solaredge.HARNESS,
    "fronius": fronius.HARNESS,
    "huawei": huawei.HARNESS,
    "sma": sma.HARNESS,
    "victron": victron.HARNESS,
    "sungrow": sungrow.HARNESS,
    "ecoflow": ecoflow.HARNESS,
    "solarwatt": solarwatt.HARNESS,
}
