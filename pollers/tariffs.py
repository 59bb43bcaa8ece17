"""Tariff prices for the surplus loop, fetched and cached by the worker (never inside a control cycle).

A site's tariff source is set with its surplus settings (`services.surplus`): `none`, `csv` (the operator's
upload, parsed and cached when it is saved: nothing to fetch) or `awattar` (the day-ahead market prices of
`de` or `at`, `tariffs.awattar`). This job refreshes the aWATTar caches: every `REFRESH` (aWATTar publishes
the next day's prices in the early afternoon), from an hour ago to two days ahead. The loop reads only
`site_surplus.tariff_prices`.

A failed fetch keeps the cached prices (they stay valid until their last slot ends), writes why into
`tariff_error` (the operator's settings page and API show it) and tries again after `RETRY`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlmodel import col, select

from pipelet_app.clock import utcnow
from pipelet_app.db import session_scope
from pipelet_app.db.models import SiteSurplus
from pipelet_app.domain.surplus.inputs import prices_to_rows
from pipelet_app.settings import get_settings
from pipelet_app.tariffs.awattar import TariffError, fetch_prices

log = logging.getLogger("pipelet.pollers.tariffs")

REFRESH = timedelta(hours=1)
RETRY = timedelta(minutes=10)
LOOK_BACK = timedelta(hours=1)
LOOK_AHEAD = timedelta(hours=48)


def awattar_base(region: str | None) -> str:
    settings = get_settings()
    return settings.awattar_at_api_base if region == "at" else settings.awattar_api_base


def _due(now: datetime, limit: int) -> list[tuple[int, str | None]]:
    with session_scope() as db:
        rows = db.exec(
            select(SiteSurplus.site_id, SiteSurplus.tariff_region)
            .where(
                SiteSurplus.tariff_source == "awattar",
                or_(
                    col(SiteSurplus.tariff_next_fetch_utc).is_(None),
                    col(SiteSurplus.tariff_next_fetch_utc) <= now,
                ),
            )
            .limit(limit)
        ).all()
        return [(int(s), r) for s, r in rows]


def refresh_tariffs(now: datetime | None = None, limit: int = 50) -> int:
    """Fetch the due aWATTar caches (one request per region and tick, shared by its sites); returns the
    sites refreshed. Blocking HTTP: the embedded loop runs it in a thread."""
    now = now or utcnow()
    due = _due(now, limit)
    fetched: dict[str | None, tuple[list | None, float | None, str | None]] = {}
    for _site_id, region in due:
        if region in fetched:
            continue
        start = now.replace(minute=0, second=0, microsecond=0) - LOOK_BACK
        try:
            series = fetch_prices(start, now + LOOK_AHEAD, awattar_base(region))
            fetched[region] = (prices_to_rows(series), series.slot_s, None)
        except TariffError as exc:
            log.warning("tariff fetch (aWATTar %s) failed: %s", region or "de", exc)
            fetched[region] = (None, None, str(exc))
    done = 0
    with session_scope() as db:
        for site_id, region in due:
            row = db.get(SiteSurplus, site_id)
            if row is None or row.tariff_source != "awattar" or row.tariff_region != region:
                continue  # changed while we fetched: the next tick fetches for the new setting
            rows, slot_s, error = fetched[region]
            if rows is not None:
                row.tariff_prices, row.tariff_slot_s = rows, slot_s
                row.tariff_fetched_utc, row.tariff_error = now, None
                row.tariff_next_fetch_utc = now + REFRESH
                done += 1
            else:  # keep the last prices; say why they are not fresh
                row.tariff_error = error
                row.tariff_next_fetch_utc = now + RETRY
            db.add(row)
    return done
