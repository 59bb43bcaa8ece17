"""What one site's surplus loop carries from cycle to cycle (`SiteLoop`): the controller's memory, what
each charger last answered per slot, the lease owner, and the timers the loop keeps between cycles. Its
own module so that the loop (`loop`) and the slot planning (`slots`) share it without importing each
other."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pipelet_app.domain.surplus import ControllerMemory
from pipelet_app.domain.surplus.actuation import Sent
from pipelet_app.domain.surplus.saved import LoopMemory


@dataclass
class SiteLoop:
    """What one site's loop carries between cycles; `memory` and `sent` are saved for the next owner
    when `owner` is set (the lease holder's name, which fences the write) and `save_due` says so."""

    memory: ControllerMemory = field(default_factory=ControllerMemory)
    sent: dict[tuple[str, int, str], Sent] = field(default_factory=dict)
    owner: str | None = None
    last_cycle: datetime | None = None
    cycles: int = 0
    last_stored: datetime | None = None
    last_stale: bool | None = None
    #: each charger's last BootNotification as this loop saw it (not saved: a new owner starts afresh)
    boots: dict[str, datetime | None] = field(default_factory=dict)
    #: chargers that let a profile time out, and until when nothing more is sent to them (`_send`)
    silent_until: dict[str, datetime] = field(default_factory=dict)
    #: when the memory this owner took over was saved: a charger booted since lost what it records
    restored_from: datetime | None = None
    #: what this owner last saved and when (None: nothing yet), for `save_due`
    saved: LoopMemory | None = None
    saved_utc: datetime | None = None
    #: the idle connectors are lifted (a newcomer would start), and since when it would not (the hold);
    #: saved with the memory, so a successor keeps a lift the hold still holds instead of dropping it
    lifted: bool = False
    lift_low_since: datetime | None = None
