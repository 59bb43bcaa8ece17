"""Online / degraded / offline seconds per charger and month, read from the CSMS's own histories.

Online = a socket was held (`charger_connection_history`); degraded = online while the charger
(connector 0) or any connector was Faulted / Unavailable or reported an error code
(`connector_status_history`); offline = the rest of the month (up to now for the running month).

The arithmetic is `domain.availability.month_health`; this module only loads the histories
(`histories`) for the stored monthly health (`operations.health`), which the charger page and
`GET /chargers/{id}/uptime` read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, col, or_, select

from pipelet_app.clock import utcnow
from pipelet_app.db.models import ChargerConnectionPeriod, ConnectorStatusPeriod
from pipelet_app.domain.availability import Interval, StatusPeriod

Connection = tuple[datetime, datetime | None]  # (connected, disconnected or None while open)


@dataclass(frozen=True, slots=True)
class Uptime:
    online_s: float
    degraded_s: float
    offline_s: float


def month_window(year: int, month: int, now: datetime | None = None) -> Interval:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    now = now or utcnow()
    return start, max(start, min(end, now))


def status_period(p: ConnectorStatusPeriod) -> StatusPeriod:
    """A stored status period as the domain reads it (a 2.0.1 EVSE counts as the connector)."""
    connector = p.evse_id if p.evse_id is not None else p.connector_id
    return StatusPeriod(connector, p.status, p.error_code or "NoError", p.started_at, p.ended_at)


def histories(
    db: Session, charger_ids: list[int], window: Interval
) -> tuple[dict[int, list[Connection]], dict[int, list[StatusPeriod]]]:
    """Every connection and status period of these chargers that overlaps `window` (two queries)."""
    connections: dict[int, list[Connection]] = defaultdict(list)
    statuses: dict[int, list[StatusPeriod]] = defaultdict(list)
    if not charger_ids:
        return connections, statuses
    for p in db.exec(
        select(ChargerConnectionPeriod).where(
            col(ChargerConnectionPeriod.charger_id).in_(charger_ids),
            col(ChargerConnectionPeriod.connected_at) < window[1],
            or_(
                col(ChargerConnectionPeriod.disconnected_at).is_(None),
                col(ChargerConnectionPeriod.disconnected_at) > window[0],
            ),
        )
    ).all():
        connections[p.charger_id].append((p.connected_at, p.disconnected_at))
    for p in db.exec(
        select(ConnectorStatusPeriod).where(
            col(ConnectorStatusPeriod.charger_id).in_(charger_ids),
            col(ConnectorStatusPeriod.started_at) < window[1],
            or_(
                col(ConnectorStatusPeriod.ended_at).is_(None),
                col(ConnectorStatusPeriod.ended_at) > window[0],
            ),
        )
    ).all():
        statuses[p.charger_id].append(status_period(p))
    return connections, statuses
