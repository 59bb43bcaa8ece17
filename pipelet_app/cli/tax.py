"""`pipelet tax ...`: MACRS schedules and K-1 batches (tax-equity issue)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

from pipelet_app.cli._errors import fail
from pipelet_app.domain.tax.errors import TaxValidationError
from pipelet_app.domain.tax.form1065 import Form1065, compute_return
from pipelet_app.domain.tax.macrs import macrs_percentages, macrs_table_name
from pipelet_app.domain.tax.rules import PUB_946, Convention
from pipelet_app.domain.tax.sample import sample_return
from pipelet_app.domain.tax.serialize import input_from_dict, input_to_dict
from pipelet_app.reports.batch import MANIFEST, render_return
from pipelet_app.reports.tax_forms import ReportStatus

app = typer.Typer(help="Tax equity: MACRS, 1065 and K-1s.", no_args_is_help=True)


@app.command("macrs")
def macrs(
    class_text: str = typer.Option(..., "--class", help="Recovery class: 3, 5, 7 or 15 years"),
    convention: str = typer.Option(..., help="HY, MQ1, MQ2, MQ3 or MQ4"),
) -> None:
    """Print the yearly MACRS percentages as JSON (IRS Pub. 946 Tables A-1..A-5, as published)."""
    if not class_text.strip().isdigit():
        fail(f"class: {class_text!r} is not a whole number of years (3, 5, 7 or 15)")
    recovery_class = int(class_text)
    try:
        table = macrs_percentages(recovery_class, convention.strip().upper())
    except TaxValidationError as exc:
        first = exc.violations[0]
        name = "class" if first.field == "recovery_class" else first.field
        fail(f"{name}: {first.message}")
    conv = Convention(convention.strip().upper())
    payload = {
        "class": recovery_class,
        "convention": conv.value,
        "table": macrs_table_name(conv),
        "source": PUB_946,
        "percentages": [float(p) for p in table],
    }
    print(json.dumps(payload))


@app.command("k1")
def k1(
    spv: int | None = typer.Option(None, help="SPV id: render from the database (with --year)"),
    year: int | None = typer.Option(None, help="Tax year (checked against --input when both are given)"),
    out: Path = typer.Option(..., help="Output directory for the PDFs"),
    input_file: Path | None = typer.Option(
        None, "--input", help="A year's return as JSON (pipelet_app.domain.tax.serialize format)"
    ),
    status: str | None = typer.Option(
        None, help="draft (watermarked), released or filed; default: the year's status (--spv) or draft"
    ),
    processes: int = typer.Option(2, min=1, help="Rendering processes"),
    partner_copies: bool = typer.Option(
        False, "--partner-copies", help="Truncate partners' TINs (copies furnished to partners)"
    ),
) -> None:
    """Render every partner's K-1 and the 1065 as PDF into OUT; OUT/manifest.json, written last, lists
    them with their SHA-256 (a directory without it is an unfinished batch)."""
    created = _check_out(out)
    try:
        _k1(spv, year, out, input_file, status, processes, partner_copies)
    except BaseException:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()  # a refused command leaves no empty directory behind (nothing half-made)
        raise


def _k1(
    spv: int | None,
    year: int | None,
    out: Path,
    input_file: Path | None,
    status: str | None,
    processes: int,
    partner_copies: bool,
) -> None:
    report_status: ReportStatus | None = None
    if status is not None:
        try:
            report_status = ReportStatus(status.strip().lower())
        except ValueError:
            fail(f"status: {status!r} is not one of draft, released, filed")
    if input_file is None:
        if spv is None:
            fail("spv: give --spv ID --year YYYY, or --input FILE.json")
        if year is None:
            fail("year: --spv needs --year YYYY")
        form, stored_status = _form_from_database(spv, year)
        _render(form, out, report_status or stored_status, processes, partner_copies)
        return
    report_status = report_status or ReportStatus.DRAFT
    try:
        raw = json.loads(input_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"input: {input_file} does not exist")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"input: cannot read {input_file}: {exc}")
    except json.JSONDecodeError as exc:
        fail(f"input: not valid JSON at line {exc.lineno}, column {exc.colno}")
    try:
        data = input_from_dict(raw)
        if year is not None and year != data.tax_year.year:
            fail(f"year: --year {year} but the input is for tax year {data.tax_year.year}")
        form = compute_return(data)
    except TaxValidationError as exc:
        first = exc.violations[0]
        more = f" (and {len(exc.violations) - 1} more)" if len(exc.violations) > 1 else ""
        fail(f"{first.field}: [{first.rule}] {first.message}{more}")
    _render(form, out, report_status, processes, partner_copies)


def _check_out(out: Path) -> bool:
    """Refuse an unusable --out before any work, with one line instead of a traceback from the renderer.
    Returns whether the directory was created here (removed again if the command then fails before
    writing into it)."""
    if out.exists() and not out.is_dir():
        fail(f"out: {out} exists and is not a directory")
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"out: cannot create directory {out}: {exc.strerror or exc}")
    if not os.access(out, os.W_OK | os.X_OK):
        fail(f"out: directory {out} is not writable")
    return created


def _form_from_database(spv: int, year: int) -> tuple[Form1065, ReportStatus]:
    """The year's return computed from the SPV's tables, and the status it is in."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from pipelet_app.auth import NotFound
    from pipelet_app.db import session_scope
    from pipelet_app.tax.returns import compute_year
    from pipelet_app.tax.tin import TinKeyError

    try:
        with session_scope() as db:
            computed = compute_year(db, spv, year)
            return computed.form, ReportStatus(computed.status.value)
    except NotFound as exc:
        fail(exc.message)
    except (OperationalError, ProgrammingError) as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        fail(f"spv: cannot read SPV {spv} from the database ({reason}); run `pipelet db upgrade`?")
    except TinKeyError as exc:
        fail(str(exc))
    except TaxValidationError as exc:
        first = exc.violations[0]
        more = f" (and {len(exc.violations) - 1} more)" if len(exc.violations) > 1 else ""
        fail(f"{first.field}: [{first.rule}] {first.message}{more}")


def _render(
    form: Form1065, out: Path, report_status: ReportStatus, processes: int, partner_copies: bool
) -> None:
    total = len(form.k1s) + 1
    with typer.progressbar(length=total, label=f"Rendering {total} PDFs", file=sys.stderr) as bar:
        result = render_return(
            form,
            out,
            status=report_status,
            processes=processes,
            progress=lambda _done, _total, _name: bar.update(1),
            truncate_partner_tin=partner_copies,
        )
    print(
        json.dumps(
            {
                "out": str(out),
                "tax_year": form.tax_year.year,
                "status": report_status.value,
                "files": [f.path.name for f in result.files],
                "manifest": str(out / MANIFEST),
                "seconds": round(result.wall_seconds, 2),
            }
        )
    )


@app.command("sample-input")
def sample_input(
    partners: int = typer.Option(3, min=2, help="Partners: one sponsor plus PARTNERS-1 investor members"),
    year: int = typer.Option(2025, help="Tax year, 2023 or later"),
) -> None:
    """Print a demo SPV's return as JSON, the format `tax k1 --input` reads."""
    try:
        data = sample_return(partners, year)
    except TaxValidationError as exc:
        first = exc.violations[0]
        fail(f"year: [{first.rule}] {first.message}")
    print(json.dumps(input_to_dict(data), indent=2))


@app.command("status")
def status_command(
    spv: int = typer.Option(..., help="SPV id"),
    year: int = typer.Option(..., help="Tax year"),
    to: str = typer.Option(..., "--to", help="released, filed or draft"),
    actor: str = typer.Option(
        ..., "--as", help="E-mail of the operator or admin making the change (audited)"
    ),
    note: str = typer.Option("", help="Note for the audit trail"),
) -> None:
    """Release, file or pull back a year's return as a user; refused while a validation error is open."""
    from sqlmodel import select

    from pipelet_app.auth import Principal
    from pipelet_app.db import session_scope
    from pipelet_app.db.models import User
    from pipelet_app.errors import AppError
    from pipelet_app.tax.returns import BooksChanged, set_status

    try:
        with session_scope() as db:
            user = db.exec(select(User).where(User.email == actor.strip().lower())).first()
            if user is None:
                fail(f"as: no user {actor!r}")
            event = set_status(db, Principal.of(user), spv, year, to.strip().lower(), note)
            payload = {
                "spv": spv,
                "tax_year": year,
                "from": str(event.from_status),
                "to": str(event.to_status),
                "actor": event.actor,
                "at": event.at.isoformat(),
            }
    except AppError as exc:
        if exc.message == "Not found.":
            fail(f"spv: no SPV {spv} that {actor} may manage")
        named = exc.message.split(":", 1)[0] in ("spv", "year", "status")
        fail(exc.message if named else f"as: {exc.message}")
    except TaxValidationError as exc:
        first = exc.violations[0]
        fail(f"{first.field}: [{first.rule}] {first.message}")
    except BooksChanged as exc:
        fail(f"status: {exc}")
    print(json.dumps(payload))
