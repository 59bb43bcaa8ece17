"""Year-end batch: every partner's K-1 plus the 1065 as PDFs into a directory, on several processes.

Why processes and why HTML crosses the boundary: WeasyPrint layout is pure Python and CPU-bound, so
threads would serialise on the GIL; worker processes each render whole documents. The parent builds
the HTML (milliseconds per K-1) and sends strings, so workers need no domain objects and the result
does not depend on how dataclasses pickle. Workers are spawned, not forked, so a parent that already
used Pango/fontconfig (tests, the web app) never hands a half-initialised library to a child.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelet_app.domain.tax.form1065 import Form1065
from pipelet_app.reports.tax_forms import (
    ReportStatus,
    form1065_filename,
    form1065_html,
    k1_filename,
    k1_html,
    render_pdf,
)

Progress = Callable[[int, int, str], None]
"""Called after each PDF with (done, total, file name)."""


@dataclass(frozen=True, slots=True)
class RenderedFile:
    path: Path
    seconds: float
    pages_bytes: int


@dataclass(frozen=True, slots=True)
class BatchResult:
    files: tuple[RenderedFile, ...]
    wall_seconds: float
    processes: int

    @property
    def count(self) -> int:
        return len(self.files)

    @property
    def seconds_per_pdf(self) -> float:
        """Wall-clock time per PDF (what a user waits), not CPU time."""
        return self.wall_seconds / self.count if self.count else 0.0

    @property
    def cpu_seconds_per_pdf(self) -> float:
        return sum(f.seconds for f in self.files) / self.count if self.count else 0.0


def jobs_for(
    form: Form1065,
    out_dir: Path,
    status: ReportStatus,
    limit: int | None = None,
    *,
    truncate_partner_tin: bool = False,
) -> list[tuple[str, str]]:
    """(path, html) pairs: the 1065 first, then each K-1 in partner order; `limit` caps the K-1s."""
    k1s = form.k1s if limit is None else form.k1s[:limit]
    jobs = [(str(out_dir / form1065_filename(form)), form1065_html(form, status))]
    jobs.extend(
        (str(out_dir / k1_filename(k1)), k1_html(k1, status, truncate_partner_tin=truncate_partner_tin))
        for k1 in k1s
    )
    return jobs


def _render_job(job: tuple[str, str]) -> tuple[str, float, int]:
    path, document = job
    start = time.perf_counter()
    pdf = render_pdf(document)
    Path(path).write_bytes(pdf)
    return path, time.perf_counter() - start, len(pdf)


# Spawning a worker (interpreter, imports, fonts) costs 1-3 s on this box, about ten K-1s' worth, so a
# small batch renders in-process: a pool would finish later than one process would.
MIN_JOBS_FOR_POOL = 16


def _run(jobs: list[tuple[str, str]], processes: int) -> Iterator[tuple[str, float, int]]:
    if processes <= 1 or len(jobs) < MIN_JOBS_FOR_POOL:
        yield from map(_render_job, jobs)
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        yield from pool.imap_unordered(_render_job, jobs, chunksize=4)


def render_return(
    form: Form1065,
    out_dir: Path,
    *,
    status: ReportStatus = ReportStatus.DRAFT,
    processes: int = 2,
    progress: Progress | None = None,
    limit: int | None = None,
    truncate_partner_tin: bool = False,
) -> BatchResult:
    """Render the 1065 and every K-1 (or the first `limit`) into `out_dir`, reporting progress.

    `truncate_partner_tin` for the partners' copies (portal downloads); the filing set keeps full TINs.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = jobs_for(form, out_dir, status, limit, truncate_partner_tin=truncate_partner_tin)
    start = time.perf_counter()
    done: list[RenderedFile] = []
    for path, seconds, size in _run(jobs, processes):
        done.append(RenderedFile(Path(path), seconds, size))
        if progress is not None:
            progress(len(done), len(jobs), Path(path).name)
    used = max(processes, 1) if len(jobs) >= MIN_JOBS_FOR_POOL else 1
    return BatchResult(tuple(sorted(done, key=lambda f: f.path)), time.perf_counter() - start, used)
