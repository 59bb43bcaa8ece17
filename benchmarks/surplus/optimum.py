"""The clairvoyant optimum: the most solar energy any controller could put into the cars.

A linear program over the simulator's own steps, PV and load (same interpolation), with perfect
knowledge of the whole day: per car and step a charge power x between 0 and the car's real maximum
(what it draws at most, on three phases where it can switch) while it is plugged in, no minimum
current; per car at most the energy it wants; per step the cars together at most the solar surplus
(PV minus house load). Maximise the energy. Solved with scipy's HiGHS.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from pipelet_app.domain.surplus.simulation import Series, VirtualCar

VOLT = 230.0


def car_max_w(car: VirtualCar) -> float:
    amps = min(car.max_a, car.car_max_a if car.car_max_a is not None else car.max_a)
    return amps * VOLT * (3 if car.phases == 3 else 1)


def car_min_w(car: VirtualCar) -> float:
    return car.min_a * VOLT * (3 if car.phases == 3 and not car.switch_phases else 1)


def solar_optimum_wh(
    pv: Series,
    load: Series,
    cars: list[VirtualCar],
    start_s: float,
    end_s: float,
    step_s: float,
    min_current: bool = False,
) -> float:
    """The optimum; with `min_current`, steps whose surplus is below every present car's minimum power
    count no surplus: roughly what a PV-only controller that never bridges from the grid could reach
    at most (an approximation: per-car minimums are not modelled beyond that)."""
    steps = round((end_s - start_s) / step_s)
    mids = start_s + (np.arange(steps) + 0.5) * step_s
    surplus = np.array([max(0.0, max(0.0, pv.at(t)) - max(0.0, load.at(t))) for t in mids])
    if min_current:
        for index, t in enumerate(mids):
            present = [car_min_w(car) for car in cars if car.arrive_s <= t < car.depart_s]
            if present and surplus[index] < min(present):
                surplus[index] = 0.0
    hours = step_s / 3600.0
    columns: list[tuple[int, int, float]] = []  # (car, step, upper bound W)
    for c, car in enumerate(cars):
        starts = start_s + np.arange(steps) * step_s
        present = (starts >= car.arrive_s) & (starts < car.depart_s) & (surplus > 0)
        for t in np.nonzero(present)[0]:
            columns.append((c, int(t), car_max_w(car)))
    if not columns:
        return 0.0
    n = len(columns)
    rows, cols, vals = [], [], []
    step_rows: dict[int, int] = {}
    for j, (_c, t, _ub) in enumerate(columns):
        row = step_rows.setdefault(t, len(step_rows))
        rows.append(row)
        cols.append(j)
        vals.append(1.0)
    base = len(step_rows)
    for j, (c, _t, _ub) in enumerate(columns):
        rows.append(base + c)
        cols.append(j)
        vals.append(hours)
    a_ub = coo_matrix((vals, (rows, cols)), shape=(base + len(cars), n)).tocsr()
    b_ub = np.concatenate(
        [
            np.array([surplus[t] for t in sorted(step_rows, key=step_rows.get)]),
            np.array([car.energy_wh for car in cars]),
        ]
    )
    bounds = [(0.0, ub) for _c, _t, ub in columns]
    result = linprog(-np.full(n, hours), A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if result.status != 0:
        raise RuntimeError(f"optimum LP failed: {result.message}")
    return float(-result.fun)
