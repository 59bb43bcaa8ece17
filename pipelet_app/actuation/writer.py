"""One worker's loop-memory writes, collected over a batch of sites and written as one statement.

At 10,000 sites one fenced statement (and commit) per site and cycle does not fit the 10 s period on a
small database host, even with only the writes `save_due` asks for (benchmarks/loop_memory: the busiest
hour of a broken-cloud workplace needs ~1,300 writes/s, per-site statements manage ~370-510/s). The
`Runner` therefore adds the memories of the sites it runs together and flushes them through
`memory.save_many`: one statement per batch, fenced per site exactly like `memory.save`. What the
database refused (the worker no longer holds that site) is logged and not recorded as saved, so
`save_due` asks again, as after a refused single write.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pipelet_app.actuation import memory as saved_memory
from pipelet_app.domain.surplus.saved import LoopMemory

log = logging.getLogger("pipelet.surplus")


@dataclass(frozen=True)
class _Due:
    loop: LoopMemory
    now: datetime
    #: called once the row is written (the loop records what it saved, for `save_due`)
    written: Callable[[], None]


class MemoryWriter:
    """The memories one lease holder (`owner`) has due, until `flush` writes them in one statement."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self._due: dict[int, _Due] = {}

    def __len__(self) -> int:
        return len(self._due)

    def add(self, site_id: int, loop: LoopMemory, now: datetime, written: Callable[[], None]) -> None:
        """Queue a site's memory; a newer one of the same site replaces it (the older is superseded)."""
        self._due[site_id] = _Due(loop, now, written)

    async def flush(self) -> set[int]:
        """Write everything queued as one statement; the sites written. A failure only logs (the loop goes
        on; nothing is recorded as saved, so the next cycle writes again)."""
        due, self._due = self._due, {}
        if not due:
            return set()
        rows = [(site_id, d.loop, d.now) for site_id, d in due.items()]
        try:
            written = await asyncio.to_thread(saved_memory.save_many, self.owner, rows)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database was busy or gone: a successor may start older
            log.exception("saving the surplus loop memory of %d sites failed", len(due))
            return set()
        for site_id, d in due.items():
            if site_id in written:
                d.written()
            else:
                log.info(
                    "surplus loop memory of site %s not saved: %s no longer holds the site",
                    site_id,
                    self.owner,
                )
        return written


__all__ = ["MemoryWriter"]
