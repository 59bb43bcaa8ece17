"""Local fakes of the charging networks' APIs (see _server.py); one module per network."""

from __future__ import annotations

from tests.fakes.networks._server import FakeNetwork
from tests.fakes.networks.chargepoint import FakeChargePoint
from tests.fakes.networks.evrange import FakeEvRange
from tests.fakes.networks.helios import FakeHelios
from tests.fakes.networks.loop import FakeLoop

FAKES: dict[str, type[FakeNetwork]] = {
    "loop": FakeLoop,
    "evrange": FakeEvRange,
    "chargepoint": FakeChargePoint,
    "helios": FakeHelios,
}
