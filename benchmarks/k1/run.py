"""Year-end K-1 benchmark: 1,000 partners' K-1s plus the Form 1065, rendered to PDF.

Runs the parallel batch (default 2 processes) with a progress bar, then a single-process baseline on
the same documents (all of them with `--baseline full`, or the first N with `--baseline N`, timed per
PDF and extrapolated), and prints both side by side.

    .venv/bin/python benchmarks/k1/run.py            # 1,000 partners, 2 processes, baseline on 100
    .venv/bin/python benchmarks/k1/run.py --smoke    # 15 partners (17 PDFs: the pool), baseline on 3, seconds
    .venv/bin/python benchmarks/k1/run.py --baseline full --out /tmp/k1s
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pipelet_app.domain.tax.assets import build_register
from pipelet_app.domain.tax.form1065 import compute_return
from pipelet_app.domain.tax.sample import sample_assets, sample_return
from pipelet_app.reports.batch import MIN_JOBS_FOR_POOL, BatchResult, Progress, render_return

GOAL_SECONDS = 300.0


def progress_bar(label: str) -> Progress:
    start = time.perf_counter()

    def show(done: int, total: int, name: str) -> None:
        width = 30
        filled = int(width * done / total)
        elapsed = time.perf_counter() - start
        eta = elapsed / done * (total - done)
        sys.stderr.write(
            f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} "
            f"{elapsed:6.1f} s, eta {eta:5.1f} s  {name[:28]:<28}"
        )
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--partners", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--baseline", default="100", help="'full', 'none' or the number of K-1s to time")
    parser.add_argument("--smoke", action="store_true", help="15 partners (on the pool), baseline on 3")
    parser.add_argument("--out", type=Path, default=None, help="keep the PDFs here (default: a temp dir)")
    args = parser.parse_args()
    if args.smoke:
        # 17 PDFs: enough for `render_return` to use its worker pool (MIN_JOBS_FOR_POOL); the in-process
        # baseline is the same renderer, so 3 of them prove it (a full baseline doubled the smoke's time)
        args.partners, args.baseline = MIN_JOBS_FOR_POOL - 1, "3"

    start = time.perf_counter()
    register = build_register(sample_assets(2025))
    form = compute_return(sample_return(args.partners + 1, 2025, register))
    compute_s = time.perf_counter() - start
    total_docs = len(form.k1s) + 1
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"return computed: {len(form.k1s)} K-1s + 1065 in {compute_s:.2f} s (domain, no I/O)")

    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        parallel = render_return(
            form, out / "parallel", processes=args.processes, progress=progress_bar(f"{args.processes} procs")
        )
        baseline: BatchResult | None = None
        if args.baseline != "none":
            limit = None if args.baseline == "full" else max(int(args.baseline) - 1, 0)
            baseline = render_return(
                form, out / "baseline", processes=1, progress=progress_bar("1 proc  "), limit=limit
            )

    print()
    print(f"{'run':<28}{'PDFs':>6}{'wall s':>10}{'s/PDF':>8}{'CPU s/PDF':>11}{'est. all':>10}")
    print(
        f"{f'parallel, {parallel.processes} processes':<28}{parallel.count:>6}{parallel.wall_seconds:>10.1f}"
        f"{parallel.seconds_per_pdf:>8.3f}{parallel.cpu_seconds_per_pdf:>11.3f}{parallel.wall_seconds:>10.1f}"
    )
    if baseline is not None:
        estimate = baseline.seconds_per_pdf * total_docs
        print(
            f"{'baseline, 1 process':<28}{baseline.count:>6}{baseline.wall_seconds:>10.1f}"
            f"{baseline.seconds_per_pdf:>8.3f}{baseline.cpu_seconds_per_pdf:>11.3f}{estimate:>10.1f}"
        )
        print(f"speed-up: {estimate / parallel.wall_seconds:.2f}x")
    verdict = "within" if parallel.wall_seconds <= GOAL_SECONDS else "OVER"
    print(f"goal: {total_docs} PDFs in <= {GOAL_SECONDS:.0f} s -> {verdict} ({parallel.wall_seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
