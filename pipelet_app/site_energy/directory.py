"""Which (site, assetId) is which device: an in-memory map the consumer refreshes, so a message costs no
database read. A new device is known within `REFRESH_S`; an unknown asset forces a reload at most every
`MISS_RELOAD_S`, so a flood of bogus asset ids cannot turn into a flood of queries."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, select

from pipelet_app.db.models import SiteDevice

REFRESH_S = 30.0
MISS_RELOAD_S = 5.0


@dataclass(frozen=True, slots=True)
class Asset:
    device_id: int
    kind: str


class SiteDirectory:
    def __init__(self, session_factory: Callable[[], Session], clock: Callable[[], float] = time.monotonic):
        self._session_factory = session_factory
        self._clock = clock
        self._assets: dict[tuple[int, str], Asset] = {}
        self._sites: set[int] = set()
        self._loaded_at = float("-inf")

    def reload(self) -> None:
        with self._session_factory() as db:
            rows = db.exec(
                select(SiteDevice.site_id, SiteDevice.asset_id, SiteDevice.id, SiteDevice.kind)
            ).all()
        self._assets = {(site, asset): Asset(int(dev), str(kind)) for site, asset, dev, kind in rows}
        self._sites = {site for site, _ in self._assets}
        self._loaded_at = self._clock()

    def _fresh(self) -> None:
        if self._clock() - self._loaded_at > REFRESH_S:
            self.reload()

    def lookup(self, site_id: int, asset_id: str) -> Asset | None:
        self._fresh()
        found = self._assets.get((site_id, asset_id))
        if found is None and self._clock() - self._loaded_at > MISS_RELOAD_S:
            self.reload()
            found = self._assets.get((site_id, asset_id))
        return found

    def has_site(self, site_id: int) -> bool:
        self._fresh()
        if site_id not in self._sites and self._clock() - self._loaded_at > MISS_RELOAD_S:
            self.reload()
        return site_id in self._sites
