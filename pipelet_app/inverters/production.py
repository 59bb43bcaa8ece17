"""PV production from a live energy counter (brands whose public API gives no production history).

Why: Huawei's Northbound real-time KPIs and Sungrow's real-time points give an energy counter now (a
lifetime or a since-midnight yield), not a series. The energy between two polls is the counter's rise, and
its mean power over the span between the two readings is exact for that span; the poll job spreads it on the
1-minute grid like any other interval. The previous reading is kept in the adapter's ``state`` (saved by the
poll job after a successful poll, so a failed poll just makes the next span longer).

What this cannot do, and says so: a span is as coarse as the polls (30 min by day), the first poll after
linking only sets the baseline, past values are never revised, and nothing before the link is read.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pipelet_app.inverters.base import ProductionInterval

#: a longer span between two readings is not spread (a counter read after a long outage would smear hours
#: of production evenly over them): the reading becomes the new baseline instead
MAX_SPAN = timedelta(hours=6)


def counter_intervals(
    state: dict[str, Any],
    key: str,
    when: datetime,
    counter_wh: float,
    *,
    period_start: datetime | None = None,
) -> list[ProductionInterval]:
    """The production interval between the previous reading of ``key`` and this one (``when``, aware UTC).

    ``period_start``: for a counter that restarts at 0 (a daily yield), the start of the period it counts
    since; when it differs from the previous reading's, the previous reading is taken as 0 at that start
    (what the old period produced after the previous reading is lost: at a daily restart, night time).
    A counter that went down (inverter replaced, counter reset) or a span over ``MAX_SPAN`` gives nothing
    and rebases; a reading not newer than the previous one gives nothing and changes nothing.
    """
    previous = state.get(key)
    period = period_start.isoformat() if period_start is not None else None
    if previous:
        prev_t, prev_wh = datetime.fromisoformat(previous["t"]), float(previous["wh"])
        if when <= prev_t:
            return []
        if period is not None and previous.get("period") != period:
            prev_t, prev_wh = max(prev_t, period_start), 0.0  # type: ignore[type-var]
    state[key] = {"t": when.isoformat(), "wh": float(counter_wh), "period": period}
    if not previous or counter_wh < prev_wh or when - prev_t > MAX_SPAN or when <= prev_t:
        return []
    seconds = (when - prev_t).total_seconds()
    return [ProductionInterval(prev_t, when, (counter_wh - prev_wh) * 3600.0 / seconds)]
