"""Which (site, assetId) is which device: an in-memory map the consumer refreshes, so a message costs no
database read. A new device is known within `REFRESH_S`; an unknown asset forces a reload at most every
`MISS_RELOAD_S`, so a flood of bogus asset ids cannot turn into a flood of queries.

A device committed in this process (the embedded deployment: the API and the consumer share it) is known
at once: a commit that wrote a `SiteDevice` bumps `_generation`, and a miss reloads when it moved. Without
it a meter that starts sending right after its device is added lost what it sent within `MISS_RELOAD_S`
of a reload that came just before the commit (seen as a flaky browser test). A consumer in another
process still has that window."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import object_session
from sqlmodel import Session, select

from pipelet_app.db.models import SiteDevice

REFRESH_S = 30.0
MISS_RELOAD_S = 5.0
_CHANGED = "pipelet_site_devices_changed"
_generation = 0


@event.listens_for(SiteDevice, "after_insert")
@event.listens_for(SiteDevice, "after_update")
@event.listens_for(SiteDevice, "after_delete")
def _device_written(_mapper: object, connection: object, target: SiteDevice) -> None:
    session = object_session(target)
    if session is not None:
        session.info[_CHANGED] = True


@event.listens_for(OrmSession, "after_commit")
def _committed(session: OrmSession) -> None:
    global _generation
    if session.info.pop(_CHANGED, False):
        _generation += 1


@event.listens_for(OrmSession, "after_rollback")
def _rolled_back(session: OrmSession) -> None:
    session.info.pop(_CHANGED, None)


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
        self._generation = -1

    def _stale_miss(self) -> bool:
        return self._generation != _generation or self._clock() - self._loaded_at > MISS_RELOAD_S

    def reload(self) -> None:
        generation = _generation  # read before the query: a commit during it triggers the next miss reload
        with self._session_factory() as db:
            rows = db.exec(
                select(SiteDevice.site_id, SiteDevice.asset_id, SiteDevice.id, SiteDevice.kind)
            ).all()
        self._assets = {(site, asset): Asset(int(dev), str(kind)) for site, asset, dev, kind in rows}
        self._sites = {site for site, _ in self._assets}
        self._loaded_at = self._clock()
        self._generation = generation

    def _fresh(self) -> None:
        if self._clock() - self._loaded_at > REFRESH_S:
            self.reload()

    def lookup(self, site_id: int, asset_id: str) -> Asset | None:
        self._fresh()
        found = self._assets.get((site_id, asset_id))
        if found is None and self._stale_miss():
            self.reload()
            found = self._assets.get((site_id, asset_id))
        return found

    def has_site(self, site_id: int) -> bool:
        self._fresh()
        if site_id not in self._sites and self._stale_miss():
            self.reload()
        return site_id in self._sites
