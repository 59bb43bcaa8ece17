"""Year-end batch: every partner's K-1 plus the 1065 as PDFs into a directory, on several processes.

Why processes and why HTML crosses the boundary: WeasyPrint layout is pure Python and CPU-bound, so
threads would serialise on the GIL; worker processes each render whole documents. The parent builds
the HTML (milliseconds per K-1) and sends strings, so workers need no domain objects and the result
does not depend on how dataclasses pickle. Workers are spawned, not forked, so a parent that already
used Pango/fontconfig (tests, the web app) never hands a half-initialised library to a child.

Why write-then-rename and a manifest: a batch that is interrupted (Ctrl-C, a crash, a full disk) must
not leave a directory that looks like a finished filing set. Each PDF is written to `NAME.part`, flushed
and renamed, so a `.pdf` is always whole; `manifest.json` (every file with its SHA-256) is written the
same way after the last PDF and removed when a batch starts, so a directory without it is unfinished.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
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

MANIFEST = "manifest.json"
PARTIAL = ".part"


@dataclass(frozen=True, slots=True)
class RenderedFile:
    path: Path
    seconds: float
    pages_bytes: int
    sha256: str = ""


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


def write_atomically(path: Path, data: bytes) -> None:
    """Write beside the target, flush it to disk, then rename: the file is whole or absent, never cut."""
    partial = path.with_name(path.name + PARTIAL)
    with open(partial, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def _render_job(job: tuple[str, str]) -> tuple[str, float, int, str]:
    path, document = job
    start = time.perf_counter()
    pdf = render_pdf(document)
    write_atomically(Path(path), pdf)
    return path, time.perf_counter() - start, len(pdf), hashlib.sha256(pdf).hexdigest()


# Spawning a worker (interpreter, imports, fonts) costs 1-3 s on this box, about ten K-1s' worth, so a
# small batch renders in-process: a pool would finish later than one process would.
MIN_JOBS_FOR_POOL = 16


def _run(jobs: list[tuple[str, str]], processes: int) -> Iterator[tuple[str, float, int, str]]:
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
    _start_unfinished(out_dir)
    jobs = jobs_for(form, out_dir, status, limit, truncate_partner_tin=truncate_partner_tin)
    start = time.perf_counter()
    done: list[RenderedFile] = []
    for path, seconds, size, digest in _run(jobs, processes):
        done.append(RenderedFile(Path(path), seconds, size, digest))
        if progress is not None:
            progress(len(done), len(jobs), Path(path).name)
    used = max(processes, 1) if len(jobs) >= MIN_JOBS_FOR_POOL else 1
    files = tuple(sorted(done, key=lambda f: f.path))
    _write_manifest(out_dir, form, status, files)
    return BatchResult(files, time.perf_counter() - start, used)


def _start_unfinished(out_dir: Path) -> None:
    """Mark the directory unfinished before the first PDF: drop the last batch's manifest and partials."""
    (out_dir / MANIFEST).unlink(missing_ok=True)
    for partial in out_dir.glob(f"*{PARTIAL}"):
        partial.unlink(missing_ok=True)


def _write_manifest(
    out_dir: Path, form: Form1065, status: ReportStatus, files: tuple[RenderedFile, ...]
) -> None:
    manifest = {
        "complete": True,
        "partnership": form.partnership.name,
        "tax_year": form.tax_year.year,
        "status": status.value,
        "count": len(files),
        "files": [{"name": f.path.name, "sha256": f.sha256, "bytes": f.pages_bytes} for f in files],
    }
    write_atomically(out_dir / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
    directory = os.open(out_dir, os.O_RDONLY)
    try:
        os.fsync(directory)  # the renames themselves survive a power cut
    finally:
        os.close(directory)
