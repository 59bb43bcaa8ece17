"""How much sun could any controller put into the cars with at most K charging profiles?

    .venv/bin/python benchmarks/surplus/profile_bound.py workplace broken --profiles 100,201
    .venv/bin/python benchmarks/surplus/profile_bound.py home broken --profiles 131 --level-w 25

Why: issue 10 asks for fewer profiles than evcc-default *and* at least 0.97 of the optimum. This
bound tells whether the count alone rules that out. It relaxes everything in the controller's
favour: it knows the whole day in advance, has no 6 A minimum and no response delay, and each
profile may move the cars' total power by up to `--step-w` (11.04 kW: one 3-phase 16 A car from 0 to
full). Per 10 s step the cars take a power p (the same until the next profile); solar = min(p, what
the cars present could take of PV minus house), grid = max(0, p - surplus), grid at most `--grid-share`
of the cars' energy. For any lambda >= 0, solar <= V(lambda) + lambda x grid budget, where V is the
best solar - lambda x grid, found exactly by dynamic programming over (step, level, profiles used)
on `--level-w` levels; rounding the best continuous schedule down to a level loses at most one level
per step, which is added back. The smallest bound over the lambdas tried is printed, as a share of
the benchmark's LP optimum. Several minutes per lambda for the workplace; not part of `run.py`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.ndimage import maximum_filter1d

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path[:0] = [str(ROOT), str(HERE)]

from bench_data import DAYS, SESSIONS, SHARED  # noqa: E402
from optimum import car_max_w, solar_optimum_wh  # noqa: E402
from scenarios import build  # noqa: E402

STEP_S = 10.0
NEG = -1e18


def lagrangian_value(
    usable: np.ndarray, surplus: np.ndarray, levels: np.ndarray, step_w: float, k_max: int, lam: float
) -> np.ndarray:
    """Best sum over steps of min(p, usable) - lam x max(0, p - surplus) (W steps) per profile count."""
    value = np.full((k_max + 1, len(levels)), NEG)
    value[0, 0] = 0.0  # no car charging before the first profile
    level_w = levels[1] - levels[0]
    moves = int(np.ceil(levels[-1] / step_w))
    for t in range(len(usable)):
        after = value.copy()
        for count in range(1, min(moves, k_max) + 1):  # `count` profiles move the total by count x step
            width = int(np.floor(count * step_w / level_w)) * 2 + 1
            reach = maximum_filter1d(value[:-count], size=width, axis=1, mode="constant", cval=NEG)
            np.maximum(after[count:], reach, out=after[count:])
        value = after + np.minimum(levels, usable[t]) - lam * np.maximum(0.0, levels - surplus[t])
    return np.maximum.accumulate(value.max(axis=1))  # at most K profiles


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenario", choices=["workplace", "home"])
    parser.add_argument("day", choices=sorted(DAYS))
    parser.add_argument("--profiles", default="100,201", help="profile counts K to bound")
    parser.add_argument("--lambdas", default="1,2", help="Lagrange multipliers to try")
    parser.add_argument("--level-w", type=float, default=50.0)
    parser.add_argument("--step-w", type=float, default=11040.0)
    parser.add_argument("--grid-share", type=float, default=0.02)
    parser.add_argument("--data", type=Path, default=SHARED)
    args = parser.parse_args()
    scenario = build(args.scenario, args.data / DAYS[args.day], args.data / SESSIONS, args.day)
    steps = round((scenario.end_s - scenario.start_s) / STEP_S)
    starts = scenario.start_s + np.arange(steps) * STEP_S
    mids = starts + STEP_S / 2
    surplus = np.array([max(0.0, scenario.pv.at(t)) - max(0.0, scenario.load.at(t)) for t in mids])
    capacity = np.zeros(steps)
    for car in scenario.cars:
        capacity += np.where((starts >= car.arrive_s) & (starts < car.depart_s), car_max_w(car), 0.0)
    usable = np.minimum(np.maximum(surplus, 0.0), capacity)
    optimum = solar_optimum_wh(
        scenario.pv, scenario.load, scenario.cars, scenario.start_s, scenario.end_s, STEP_S
    )
    sunny = np.nonzero(usable > 0)[0]
    window = slice(sunny[0], sunny[-1] + 1)  # outside it no power earns anything: the cars stay off
    usable, surplus = usable[window], surplus[window]
    levels = np.arange(0.0, usable.max() + args.level_w, args.level_w)
    hours = STEP_S / 3600.0
    rounding_wh = args.level_w * len(usable) * hours
    # grid <= share x energy and energy = solar + grid <= optimum + grid
    grid_budget_wh = args.grid_share * optimum / (1 - args.grid_share)
    counts = [int(k) for k in args.profiles.split(",")]
    best = dict.fromkeys(counts, np.inf)
    for lam in (float(x) for x in args.lambdas.split(",")):
        value = lagrangian_value(usable, surplus, levels, args.step_w, max(counts), lam)
        for k in counts:
            bound = value[k] * hours + rounding_wh + lam * grid_budget_wh
            best[k] = min(best[k], bound)
            print(f"lambda {lam:g}, <= {k} profiles: solar <= {bound / optimum:.4f} of optimum", flush=True)
    print(f"{args.scenario} {args.day}: optimum {optimum / 1000:.2f} kWh")
    for k in counts:
        share = best[k] / optimum
        print(f"  at most {k} profiles: solar <= {best[k] / 1000:.2f} kWh = {share:.4f} of optimum")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
