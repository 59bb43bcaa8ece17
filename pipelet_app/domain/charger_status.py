"""One summary status per charger, so a list row shows what matters instead of the charger's own
connector-0 status (which reads "Available" while connector 1 is Faulted).

The rule (the spec asks for "the worst connector state"): Offline when the charger is not connected,
whatever it last reported; otherwise the most urgent of the charger's and its connectors' OCPP statuses,
in the order of SUMMARY_ORDER. A status this module does not know ranks just above Available, so a new
value is shown rather than hidden behind Available.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

# Most urgent first. OCPP 1.6 ChargePointStatus and 2.0.1 ConnectorStatusEnumType values.
SUMMARY_ORDER: tuple[str, ...] = (
    "Offline",
    "Faulted",
    "Charging",
    "SuspendedEVSE",
    "SuspendedEV",
    "Finishing",
    "Preparing",
    "Occupied",
    "Reserved",
    "Unavailable",
    "Available",
    "Unknown",
)
_RANK = {status: rank for rank, status in enumerate(SUMMARY_ORDER)}
_UNRECOGNISED = _RANK["Available"] - 0.5


def urgency(status: str) -> float:
    """Where a status ranks in SUMMARY_ORDER (lower: more urgent); sorts lists the way `worst` picks."""
    return _RANK.get(status, _UNRECOGNISED)


def summary_status(is_online: bool, statuses: Iterable[str]) -> str:
    """The charger's one status from its connectivity and every status it reported (charger + connectors)."""
    if not is_online:
        return "Offline"
    known = [s for s in statuses if s]
    if not known:
        return "Unknown"
    return min(known, key=urgency)


def worst(summaries: Iterable[str]) -> str:
    """The most urgent of several chargers' summaries (a site's state on the map); "Unknown" for none."""
    known = list(summaries)
    return min(known, key=urgency) if known else "Unknown"


def summary_since(
    summary: str,
    last_seen: datetime | None,
    reported: Iterable[tuple[str, datetime | None]],
) -> datetime | None:
    """Since when the summary holds: for Offline the last time the charger was heard; otherwise the
    earliest change into that status among the connectors now in it (two connectors charging since 10:00
    and 11:00: charging since 10:00). None when no connector carries it (nothing to date it by)."""
    if summary == "Offline":
        return last_seen
    times = [at for status, at in reported if status == summary and at is not None]
    return min(times) if times else None
