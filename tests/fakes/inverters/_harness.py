"""What the brand-agnostic contract tests need to know about one brand's fake."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.inverters._server import FakeCloud, SimWallbox


@dataclass(frozen=True)
class BrandHarness:
    brand: str
    make_fake: Callable[[], FakeCloud]
    #: credentials that work against a started fake / credentials the fake refuses
    good_credentials: Callable[[FakeCloud], dict[str, Any]]
    bad_credentials: Callable[[FakeCloud], dict[str, Any]]
    #: path substring of the request that reads the counter (faults are aimed at it)
    snapshot_match: str
    #: counters reported in kWh with a few decimals lose a little; Wh counters must be exact
    energy_tolerance_wh: float = 1.0
    #: make the fake forget every session token; the adapter must recover without the driver (None: n/a)
    expire_session: Callable[[FakeCloud], None] | None = None
    #: the adapter adds an interval only once it is complete: tests let one more interval pass
    interval_based: bool = False
    #: how many systems the fake account has (one charger among them; a local manager has just one)
    min_systems: int = 2
    #: constructor extras (e.g. a second base URL)
    adapter_kwargs: Callable[[FakeCloud], dict[str, Any]] = field(default=lambda fake: {})

    def wallbox(self, fake: FakeCloud) -> SimWallbox:
        return fake.wallbox  # type: ignore[attr-defined]
