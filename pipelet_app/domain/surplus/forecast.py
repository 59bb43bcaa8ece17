"""Short-term PV forecast: clear-sky irradiance (pvlib) scaled by what the site measured lately.

Why this shape: a site's PV rating, tilt and shading are rarely known well, but its ratio of measured
power to clear-sky irradiance (W per W/m^2) is: it is learned from the last half hour of measurements.
The forecast for a moment `h` seconds ahead blends the latest ratio (persistence, right for the next
minute) into the half-hour mean (right for broken clouds further ahead) and multiplies by the clear-sky
irradiance at that moment, so it also knows that the sun sets. Without a location it degrades to the
same blend of measured power (no clear-sky shape). House load is forecast as its recent mean.

pvlib is asked for one day of clear-sky irradiance at one-minute steps per site and day (cached), so a
control loop every 10-30 s costs an interpolation, not a solar-position computation.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

DAY_S = 86400.0
MIN_CLEAR_SKY_W_M2 = 30.0  # below this the ratio is noise (dawn, dusk)
PERSISTENCE_S = 300.0  # e-folding time of the latest ratio's weight
RECENT_S = 600.0  # house load: mean over this window


@lru_cache(maxsize=64)
def _clear_sky_day(latitude: float, longitude: float, day: int) -> tuple[float, ...]:
    """Clear-sky GHI (W/m^2) for each minute of UTC day `day` (days since the epoch), plus one."""
    import warnings

    import pandas as pd
    import pvlib

    times = pd.date_range(pd.Timestamp(day * DAY_S, unit="s", tz="UTC"), periods=1441, freq="1min")
    location = pvlib.location.Location(latitude, longitude)
    with warnings.catch_warnings():  # pvlib 0.16 still uses pandas names pandas 3 deprecates
        warnings.simplefilter("ignore")
        ghi = location.get_clearsky(times, model="ineichen", linke_turbidity=3.0)["ghi"]
    return tuple(max(0.0, float(value)) for value in ghi.to_numpy())


def clear_sky_ghi(epoch_s: float, latitude: float, longitude: float) -> float:
    """Clear-sky global horizontal irradiance at a moment, linearly interpolated between minutes."""
    day = math.floor(epoch_s / DAY_S)
    minutes = _clear_sky_day(round(latitude, 2), round(longitude, 2), day)
    position = (epoch_s - day * DAY_S) / 60.0
    index = min(int(position), 1439)
    fraction = position - index
    return minutes[index] * (1 - fraction) + minutes[index + 1] * fraction


@dataclass(frozen=True)
class PvForecast:
    """Expected PV and house load from `now_s` on; `surplus_w(t)` is PV minus house load."""

    now_s: float
    latest_ratio: float
    mean_ratio: float
    load_w: float
    latitude: float | None
    longitude: float | None

    def _shape(self, epoch_s: float) -> float:
        if self.latitude is None or self.longitude is None:
            return 1.0
        return clear_sky_ghi(epoch_s, self.latitude, self.longitude)

    def pv_w(self, epoch_s: float) -> float:
        ahead = max(0.0, epoch_s - self.now_s)
        weight = math.exp(-ahead / PERSISTENCE_S)
        ratio = weight * self.latest_ratio + (1 - weight) * self.mean_ratio
        return max(0.0, ratio * self._shape(epoch_s))

    def surplus_w(self, epoch_s: float) -> float:
        return self.pv_w(epoch_s) - self.load_w

    def mean_surplus_w(self, start_s: float, end_s: float, step_s: float = 60.0) -> float:
        """Mean expected surplus over [start, end] (may be negative)."""
        if end_s <= start_s:
            return self.surplus_w(start_s)
        count = max(1, math.ceil((end_s - start_s) / step_s))
        return (
            sum(self.surplus_w(start_s + (i + 0.5) * (end_s - start_s) / count) for i in range(count)) / count
        )

    def surplus_energy_wh(self, start_s: float, end_s: float, step_s: float = 300.0) -> float:
        """Expected positive surplus energy between two moments (what cars could take from the sun)."""
        if end_s <= start_s:
            return 0.0
        count = max(1, math.ceil((end_s - start_s) / step_s))
        width = (end_s - start_s) / count
        total = sum(max(0.0, self.surplus_w(start_s + (i + 0.5) * width)) for i in range(count))
        return total * width / 3600.0


def surplus_spread(
    history: Sequence[tuple[float, float, float]],
    at_s: float,
    window_s: float,
    latitude: float | None,
    longitude: float | None,
    until_s: float | None = None,
) -> tuple[float, ...]:
    """Possible surpluses around `at_s`: each of the last `window_s` of measurements moved there.

    A broken-cloud sky is not one number: the mean says 5 kW where the car really sees 3 kW half of the
    time and 7 kW the other half. Each recent sample's PV-to-clear-sky ratio, times the clear-sky
    irradiance at `at_s`, minus the recent house load, is one draw of what the coming minutes may bring
    (so the afternoon's fall is in it). Without a location the recent surpluses are taken as they are
    (their mean is the recent mean surplus). The window ends at the latest sample, or at `until_s`.
    """
    if not history:
        return ()
    now_s = history[-1][0] if until_s is None else until_s
    recent = [sample for sample in history if sample[0] >= now_s - window_s]
    if not recent:
        return ()
    load_w = sum(sample[2] for sample in recent) / len(recent)
    if latitude is None or longitude is None:
        return tuple(pv_w - load_w for _, pv_w, _ in recent)
    target = clear_sky_ghi(at_s, latitude, longitude)
    spread = []
    for epoch_s, pv_w, _load in recent:
        shape = clear_sky_ghi(epoch_s, latitude, longitude)
        if shape >= MIN_CLEAR_SKY_W_M2:
            spread.append(pv_w / shape * target - load_w)
    return tuple(spread)


def calm_sky(
    history: Sequence[tuple[float, float, float]],
    now_s: float,
    latitude: float | None,
    longitude: float | None,
    window_s: float,
    tolerance: float,
) -> bool:
    """Did PV follow the clear-sky curve over the last `window_s`, its ratio to it within `tolerance`?

    Under such a sky the next minutes are the clear-sky curve, so small moves can wait to add up
    without losing sun. Needs a location and a full window of daylight samples; anything else is not
    calm (the controller then keeps its fine steps).
    """
    if latitude is None or longitude is None or tolerance <= 0 or not history:
        return False
    recent = [(epoch_s, pv_w) for epoch_s, pv_w, _ in history if epoch_s >= now_s - window_s]
    if len(recent) < 6 or recent[0][0] > now_s - 0.8 * window_s:
        return False
    ratios = []
    for epoch_s, pv_w in recent:
        shape = clear_sky_ghi(epoch_s, latitude, longitude)
        if shape < MIN_CLEAR_SKY_W_M2:
            return False
        ratios.append(pv_w / shape)
    mean = sum(ratios) / len(ratios)
    return mean > 0 and max(ratios) - min(ratios) <= tolerance * mean


def remember(
    history: Sequence[tuple[float, float, float]], epoch_s: float, pv_w: float, load_w: float, keep_s: float
) -> tuple[tuple[float, float, float], ...]:
    """Append a sample and drop those older than `keep_s` (samples stay in time order)."""
    kept = [sample for sample in history if epoch_s - keep_s <= sample[0] < epoch_s]
    kept.append((epoch_s, pv_w, load_w))
    return tuple(kept)


def forecast(
    history: Sequence[tuple[float, float, float]],
    now_s: float,
    latitude: float | None,
    longitude: float | None,
) -> PvForecast | None:
    """The forecast from the samples so far, or None before the first sample."""
    if not history:
        return None
    located = latitude is not None and longitude is not None
    ratios: list[float] = []
    for epoch_s, pv_w, _load in history:
        if located:
            shape = clear_sky_ghi(epoch_s, latitude, longitude)  # type: ignore[arg-type]
            if shape < MIN_CLEAR_SKY_W_M2:
                continue
            ratios.append(pv_w / shape)
        else:
            ratios.append(pv_w)
    start = bisect_left([sample[0] for sample in history], now_s - RECENT_S)
    recent_loads = [sample[2] for sample in history[start:]] or [history[-1][2]]
    load_w = sum(recent_loads) / len(recent_loads)
    if not ratios:
        return PvForecast(now_s, 0.0, 0.0, load_w, latitude, longitude)
    return PvForecast(
        now_s=now_s,
        latest_ratio=ratios[-1],
        mean_ratio=sum(ratios) / len(ratios),
        load_w=load_w,
        latitude=latitude,
        longitude=longitude,
    )
