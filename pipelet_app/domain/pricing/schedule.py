"""Which tier of a plan applies when: a plan's windows laid out on the UTC time line of one site.

Windows are wall-clock times in the site's zone, and the rule is the one a driver can check against
the clock on the wall: a window applies whenever the site's wall clock shows a time inside it. So on a
spring-forward night the skipped hour simply never happens (a window 02:00-03:00 is empty; one from
02:30 is in force from the jump at 03:00), and on a fall-back night a window covering 02:00-03:00
applies to both passes of that hour. A local day is therefore 23, 24 or 25 hours of UTC. The resolved
segments of each local day are computed once per (plan, zone, day) and cached, which is what makes
pricing a million sessions cheap: sessions share days.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from pipelet_app.domain.pricing.plan import Plan

Segment = tuple[float, float, int]  # [start, end) in epoch seconds, tier index into plan.tiers


class Schedule:
    """A plan's tiers over time in one zone; segments() answers for any UTC span."""

    def __init__(self, plan: Plan, zone: ZoneInfo) -> None:
        self.plan = plan
        self.zone = zone
        labels = [label for label, _ in plan.tiers]
        # (priority, -position) orders windows: higher priority wins, then the one listed first.
        self._windows = [(w, labels.index(w.label), (w.priority, -i)) for i, w in enumerate(plan.windows)]
        self._days: dict[int, list[Segment]] = {}
        self._utc_days: dict[int, tuple[float, int, int]] = {}

    def _at(self, day: date, clock: time) -> float:
        return datetime.combine(day, clock, tzinfo=self.zone).timestamp()

    def _offset(self, ts: float) -> int:
        return int(datetime.fromtimestamp(ts, self.zone).utcoffset().total_seconds())  # type: ignore[union-attr]

    def _pieces(self, start: float, end: float) -> list[tuple[float, float, int]]:
        """[start, end) cut where the zone's UTC offset changes: (from, to, offset) per piece."""
        probes = [start + 3600 * i for i in range(int((end - start - 1) // 3600) + 1)] + [end - 1]
        pieces: list[tuple[float, float, int]] = []
        lo, offset = start, self._offset(start)
        for a, b in pairwise(probes):
            if self._offset(b) == offset:
                continue
            while b - a > 1:  # the change happens at a whole second
                mid = (a + b) // 2
                a, b = (mid, b) if self._offset(mid) == offset else (a, mid)
            pieces.append((lo, b, offset))
            lo, offset = b, self._offset(b)
        pieces.append((lo, end, offset))
        return pieces

    def local_day(self, ts: float) -> int:
        """The ordinal of the site-local date at an instant.

        The local date changes at most once per UTC day (offsets are under 24 h), so each UTC day's
        answer is one cut: before it one date, from it the next (cached).
        """
        utc_day = int(ts // 86400)
        known = self._utc_days.get(utc_day)
        if known is None:
            first = datetime.fromtimestamp(utc_day * 86400, self.zone).toordinal()
            last = datetime.fromtimestamp(utc_day * 86400 + 86399, self.zone).toordinal()
            cut = self.day(last)[0][0] if last != first else float("inf")
            known = self._utc_days[utc_day] = (cut, first, last)
        return known[1] if ts < known[0] else known[2]

    def day(self, ordinal: int) -> list[Segment]:
        """The resolved, gap-free segments of one local day (cached)."""
        cached = self._days.get(ordinal)
        if cached is None:
            cached = self._days[ordinal] = self._resolve(ordinal)
        return cached

    def segments(self, start: float, end: float) -> list[Segment]:
        """The segments covering [start, end] (whole local days, in order)."""
        first, last = self.local_day(start), self.local_day(end)
        if first == last:
            return self.day(first)
        out: list[Segment] = []
        for ordinal in range(first, last + 1):
            out.extend(self.day(ordinal))
        return out

    def _wall_windows(self, first: int, last: int) -> list[tuple[int, int, int, tuple[int, int]]]:
        """Window instances on local dates first-1..last as wall-clock seconds (naive, zone-free)."""
        found = []
        for ordinal in range(first - 1, last + 1):
            weekday, base = date.fromordinal(ordinal).weekday(), ordinal * 86400
            for window, tier, rank in self._windows:
                if weekday in window.weekdays:
                    start = base + _seconds(window.start)
                    end = base + _seconds(window.end) + (86400 if window.end <= window.start else 0)
                    found.append((start, end, tier, rank))
        return found

    def _resolve(self, ordinal: int) -> list[Segment]:
        today = date.fromordinal(ordinal)
        day_start = self._at(today, time(0))
        day_end = self._at(today + timedelta(days=1), time(0))
        instances = []
        for lo, hi, offset in self._pieces(day_start, day_end):
            shift = offset - _EPOCH  # wall seconds = utc + shift
            wall = self._wall_windows(int((lo + shift) // 86400), int((hi + shift) // 86400))
            for s, e, tier, rank in wall:
                a, b = max(s - shift, lo), min(e - shift, hi)
                if b > a:
                    instances.append((a, b, tier, rank))
        cuts = sorted({day_start, day_end, *(s for s, *_ in instances), *(e for _, e, *_ in instances)})
        out: list[Segment] = []
        for a, b in pairwise(cuts):
            covering = [(rank, tier) for s, e, tier, rank in instances if s <= a and b <= e]
            tier = max(covering)[1] if covering else 0
            if out and out[-1][2] == tier and out[-1][1] == a:
                out[-1] = (out[-1][0], b, tier)
            else:
                out.append((a, b, tier))
        return out


_EPOCH = -date(1970, 1, 1).toordinal() * 86400  # wall seconds count from date ordinal 0


def _seconds(clock: time) -> int:
    return clock.hour * 3600 + clock.minute * 60 + clock.second
