"""Parsing the simulator's inputs (PV/load/price CSV text, EV arrivals JSON) with errors naming the field.

Text and decoded JSON in, `Series` / `VirtualCar` / `PriceSeries` out; the CLI reads the files. Every
problem raises `InputError` whose message names the file, the row or item, and the field, as
interfaces.md asks of every command.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from pipelet_app.domain.surplus.model import MIN_CURRENT_A, Mode, PricePoint, PriceSeries
from pipelet_app.domain.surplus.simulation import Series, VirtualCar


class InputError(ValueError):
    """Bad input; the message names the field."""


def parse_time(text: str, where: str) -> datetime:
    raw = (text or "").strip()
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InputError(f"{where}: not an ISO 8601 time: {raw!r}") from None
    if moment.tzinfo is None:
        raise InputError(f"{where}: time without Z or offset: {raw!r}")
    return moment.astimezone(UTC)


def _number(text: Any, where: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InputError(f"{where}: not a number: {text!r}") from None
    if not math.isfinite(value):
        raise InputError(f"{where}: not a finite number: {text!r}")
    return value


def parse_series_csv(text: str, name: str, columns: Sequence[str]) -> tuple[str, Series]:
    """A `time_utc,<one of columns>` CSV as a series; returns which column it had."""
    reader = csv.DictReader(io.StringIO(text))
    header = [field.strip() for field in reader.fieldnames or []]
    if "time_utc" not in header:
        raise InputError(f"{name}: time_utc: column missing (header: {','.join(header) or 'none'})")
    column = next((c for c in columns if c in header), None)
    if column is None:
        raise InputError(f"{name}: {' or '.join(columns)}: column missing")
    samples: dict[float, float] = {}
    for row_number, row in enumerate(reader, start=2):
        row = {(key or "").strip(): value for key, value in row.items()}
        moment = parse_time(row.get("time_utc") or "", f"{name} row {row_number}, time_utc")
        value = _number(row.get(column), f"{name} row {row_number}, {column}")
        if value < 0:
            raise InputError(f"{name} row {row_number}, {column}: must not be negative, got {value:g}")
        samples[moment.timestamp()] = value
    if not samples:
        raise InputError(f"{name}: no rows")
    times = tuple(sorted(samples))
    return column, Series(times, tuple(samples[t] for t in times))


def parse_prices_csv(text: str, name: str = "PRICES.csv") -> PriceSeries:
    """`time_utc,price_per_kwh`, one row per tariff slot (slot length from the spacing, 15 min default)."""
    _, series = parse_series_csv(text, name, ("price_per_kwh",))
    gaps = [b - a for a, b in pairwise(series.times)]
    slot = min(gaps) if gaps else 900.0
    points = tuple(
        PricePoint(datetime.fromtimestamp(t, UTC), value)
        for t, value in zip(series.times, series.values, strict=True)
    )
    return PriceSeries(points, slot_s=slot)


AWATTAR_UNITS = {"eur/mwh": 1000.0, "eur/kwh": 1.0}  # divisor to EUR per kWh


def parse_awattar_json(data: Any, name: str = "aWATTar") -> PriceSeries:
    """aWATTar's `/v1/marketdata` answer (`{"object": "list", "data": [{"start_timestamp": ms,
    "end_timestamp": ms, "marketprice": 42.09, "unit": "Eur/MWh"}, ...]}`) as a price series in EUR
    per kWh. The slot length is the shortest slot (hourly, or 15 min since the market moved there);
    prices may be negative. Tibber or another tariff only needs its own parser to the same series."""
    if not isinstance(data, dict) or data.get("object") != "list":
        raise InputError(f'{name}: object: expected "list"')
    items = data.get("data")
    if not isinstance(items, list) or not items:
        raise InputError(f"{name}: data: no price slots")
    points: dict[float, float] = {}
    slot_s = math.inf
    for index, item in enumerate(items):
        where = f"{name}: data[{index}]"
        if not isinstance(item, dict):
            raise InputError(f"{where}: not an object")
        start = _number(_field(item, "start_timestamp", where), f"{where}.start_timestamp") / 1000.0
        end = _number(_field(item, "end_timestamp", where), f"{where}.end_timestamp") / 1000.0
        if end <= start:
            raise InputError(f"{where}.end_timestamp: not after start_timestamp")
        unit = str(_field(item, "unit", where)).strip().lower()
        if unit not in AWATTAR_UNITS:
            raise InputError(f"{where}.unit: {item['unit']!r} is not Eur/MWh or Eur/kWh")
        price = _number(_field(item, "marketprice", where), f"{where}.marketprice") / AWATTAR_UNITS[unit]
        points[start] = price
        slot_s = min(slot_s, end - start)
    return PriceSeries(
        tuple(PricePoint(datetime.fromtimestamp(t, UTC), points[t]) for t in sorted(points)), slot_s=slot_s
    )


def prices_to_rows(series: PriceSeries) -> list[list[Any]]:
    """A price series as JSON-safe rows `[start ISO 8601 UTC, price per kWh]` (the worker's cache)."""
    return [[p.start_utc.astimezone(UTC).isoformat(), p.price_per_kwh] for p in series.points]


def prices_from_rows(rows: Any, slot_s: float | None, name: str = "tariff cache") -> PriceSeries:
    """The series back from `prices_to_rows` rows; InputError naming the row when one is unreadable."""
    if not isinstance(rows, list) or not rows:
        raise InputError(f"{name}: no price slots")
    points = []
    for index, row in enumerate(rows):
        if not isinstance(row, list | tuple) or len(row) != 2:
            raise InputError(f"{name}[{index}]: expected [start, price]")
        points.append(
            PricePoint(parse_time(str(row[0]), f"{name}[{index}]"), _number(row[1], f"{name}[{index}]"))
        )
    points.sort(key=lambda p: p.start_utc)
    return PriceSeries(tuple(points), slot_s=float(slot_s or 900.0))


def prices_cover(series: PriceSeries | None, moment: datetime) -> bool:
    """True when the series has a price in force at `moment` (not before its first or after its last slot)."""
    if series is None or not series.points:
        return False
    first, last = series.points[0].start_utc, series.points[-1].start_utc
    return first <= moment < last + timedelta(seconds=series.slot_s)


def _field(item: dict[str, Any], key: str, where: str, required: bool = True) -> Any:
    if key not in item or item[key] is None:
        if required:
            raise InputError(f"{where}.{key}: missing")
        return None
    return item[key]


def parse_ev_json(data: Any, name: str = "EV.json") -> list[VirtualCar]:
    """The arrivals list of interfaces.md, plus optional `charger_id`, `car_max_a` (the car takes at
    most this), `min_a`, `response_delay_s`, `priority` and `mode` per arrival."""
    if isinstance(data, dict) and "arrivals" in data:
        data = data["arrivals"]
    if not isinstance(data, list) or not data:
        raise InputError(f"{name}: expected a non-empty list of arrivals")
    cars: list[VirtualCar] = []
    for index, item in enumerate(data):
        where = f"{name}[{index}]"
        if not isinstance(item, dict):
            raise InputError(f"{where}: expected an object")
        arrive = parse_time(str(_field(item, "arrive_utc", where)), f"{where}.arrive_utc")
        depart = parse_time(str(_field(item, "depart_utc", where)), f"{where}.depart_utc")
        if depart <= arrive:
            raise InputError(f"{where}.depart_utc: must be after arrive_utc")
        energy = _number(_field(item, "energy_wh", where), f"{where}.energy_wh")
        if energy < 0:
            raise InputError(f"{where}.energy_wh: must not be negative")
        min_a = _number(item.get("min_a", MIN_CURRENT_A), f"{where}.min_a")
        max_a = _number(_field(item, "max_a", where), f"{where}.max_a")
        if not min_a <= max_a <= 80:
            raise InputError(f"{where}.max_a: must be between min_a ({min_a:g}) and 80, got {max_a:g}")
        phases = item.get("phases")
        if phases not in (1, 3):
            raise InputError(f"{where}.phases: must be 1 or 3, got {phases!r}")
        switch = item.get("switch_phases", False)
        if not isinstance(switch, bool):
            raise InputError(f"{where}.switch_phases: must be true or false")
        car_max = item.get("car_max_a")
        if car_max is not None:
            car_max = _number(car_max, f"{where}.car_max_a")
            if car_max <= 0:
                raise InputError(f"{where}.car_max_a: must be > 0")
        delay = _number(item.get("response_delay_s", 10.0), f"{where}.response_delay_s")
        if not 0 <= delay <= 600:
            raise InputError(f"{where}.response_delay_s: must be between 0 and 600")
        priority = item.get("priority", 5)
        if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 10:
            raise InputError(f"{where}.priority: must be an integer 0-10")
        mode = item.get("mode")
        if mode is not None:
            try:
                mode = Mode(mode)
            except ValueError:
                raise InputError(f"{where}.mode: must be pv-only, pv-priority or eco-plus") from None
        charger_id = str(item.get("charger_id") or f"charger-{index + 1}")
        cars.append(
            VirtualCar(
                car_id=str(item.get("car_id") or f"car-{index + 1}"),
                charger_id=charger_id,
                arrive_s=arrive.timestamp(),
                depart_s=depart.timestamp(),
                energy_wh=energy,
                max_a=max_a,
                phases=phases,
                switch_phases=switch and phases == 3,
                car_max_a=car_max,
                min_a=min_a,
                response_delay_s=delay,
                priority=priority,
                mode=mode,
            )
        )
    by_charger: dict[str, list[VirtualCar]] = {}
    for car in cars:
        by_charger.setdefault(car.charger_id, []).append(car)
    for charger_id, visits in by_charger.items():
        visits.sort(key=lambda car: car.arrive_s)
        for before, after in pairwise(visits):
            if after.arrive_s < before.depart_s:
                raise InputError(
                    f"{name}: charger_id {charger_id}: {after.car_id} arrives before {before.car_id} leaves"
                )
    return cars
