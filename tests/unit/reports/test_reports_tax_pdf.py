"""K-1 and Form 1065 PDFs read back with `pdftotext` show the computed figures."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from pipelet_app.domain.tax.form1065 import Form1065, compute_return
from pipelet_app.domain.tax.sample import sample_return
from pipelet_app.reports.batch import render_return
from pipelet_app.reports.tax_forms import ReportStatus, form1065_pdf, k1_pdf, money

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


def pdf_text(pdf: bytes, tmp_path: Path, name: str = "doc.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(scope="module")
def form() -> Form1065:
    return compute_return(sample_return(3))


def test_money_format() -> None:
    from decimal import Decimal

    assert money(Decimal("-1728000.00")) == "(1,728,000.00)"
    assert money(Decimal("0.00")) == ""
    assert money(Decimal("0.00"), blank_zero=False) == "0.00"
    assert money(Decimal("1234.5")) == "1,234.50"


def test_k1_pdf_shows_the_partners_figures(form: Form1065, tmp_path: Path) -> None:
    k1 = form.k1_for("INV0001")
    text = pdf_text(k1_pdf(k1, ReportStatus.RELEASED), tmp_path)
    # Part I and II
    assert "Schedule K-1" in text and "2025" in text
    assert "12-3456789" in text and "Pipelet Charging Fund I LLC" in text
    assert k1.partner.tin in text and "Investor Member 0001 Inc." in text
    assert "Ogden, UT" in text
    # Part III: box 1 loss in parentheses, box 15 credit, box 19 A distributions, box 20 A
    assert "(855,360.00)" in text  # 49.5 % of (1,728,000.00)
    assert money(k1.box_amount("15f")) == "213,840.00"
    assert "213,840.00" in text
    assert "27,000.00" in text
    assert "618.75" in text
    # Item J and L
    assert "49.5000 %" in text
    assert money(k1.item_l.ending) in text
    assert "1,200,000.00" in text
    assert "DRAFT" not in text


def test_draft_k1_is_marked(form: Form1065, tmp_path: Path) -> None:
    text = pdf_text(k1_pdf(form.k1s[0]), tmp_path)
    assert "DRAFT" in text


def test_form1065_pdf_shows_schedules(form: Form1065, tmp_path: Path) -> None:
    text = pdf_text(form1065_pdf(form, ReportStatus.RELEASED), tmp_path)
    assert "U.S. Return of Partnership Income" in text
    for figure in (
        "1,250,000.00",  # gross receipts
        "(1,728,000.00)",  # Schedule K line 1
        "432,000.00",  # line 15f credits
        "180,000.00",  # line 19a distributions
        "(1,726,750.00)",  # Analysis line 1 and M-1 line 9
        "2,418,000.00",  # M-1 line 7a: tax over book depreciation
        money(form.m2.ending),
        money(form.schedule_l_ending.total_assets),
    ):
        assert figure in text, figure
    for heading in (
        "Schedule B",
        "Schedule K",
        "Schedule L",
        "Schedule M-1",
        "Schedule M-2",
        "Analysis of Net Income",
    ):
        assert heading in text
    assert "Domestic limited liability company" in text


def test_batch_renders_every_partner_with_progress(form: Form1065, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    result = render_return(
        form, tmp_path, processes=1, progress=lambda done, total, _name: seen.append((done, total))
    )
    assert result.count == 4
    assert seen[-1] == (4, 4)
    names = sorted(p.name for p in tmp_path.iterdir())
    pdfs = ["Form1065-2025.pdf", "K1-2025-INV0001.pdf", "K1-2025-INV0002.pdf", "K1-2025-SPONSOR.pdf"]
    assert names == [*pdfs, "manifest.json"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["complete"] and manifest["count"] == 4 and manifest["tax_year"] == 2025
    assert [f["name"] for f in manifest["files"]] == pdfs
    for entry in manifest["files"]:
        assert entry["sha256"] == hashlib.sha256((tmp_path / entry["name"]).read_bytes()).hexdigest()
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "K1-2025-SPONSOR.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Pipelet Sponsor Holdings LLC" in text
    assert "(17,280.00)" in text


def test_partner_copy_can_truncate_the_tin(form: Form1065, tmp_path: Path) -> None:
    from pipelet_app.reports.tax_forms import truncate_tin

    assert truncate_tin("97-1000001") == "XX-XXX0001"
    assert truncate_tin("123-45-6789") == "XXX-XX-6789"
    assert truncate_tin("123456789") == "XXX-XX-6789"
    k1 = form.k1_for("INV0001")
    text = pdf_text(k1_pdf(k1, truncate_partner_tin=True), tmp_path)
    assert "XX-XXX0001" in text
    assert k1.partner.tin not in text
    assert "12-3456789" in text  # the partnership's EIN stays in full


def test_capital_statement_pdf(tmp_path: Path) -> None:
    from datetime import date

    from pipelet_app.domain.tax.sample import sample_spv_books
    from pipelet_app.domain.tax.spv import prepare
    from pipelet_app.reports.tax_forms import capital_statement_pdf

    books = sample_spv_books()
    result = prepare(books)
    book = [y.capital["INV"] for y in result.flip.years]
    tax = [result.returns[y].k1_for("INV").item_l for y in (2025, 2026)]
    pdf = capital_statement_pdf(books.partnership, books.partners["INV"], book, tax, date(2026, 3, 1))
    text = pdf_text(pdf, tmp_path)
    assert "Tax Equity Corp" in text and "Pipelet SPV 2 LLC" in text
    assert "Section 704(b) capital account" in text and "Tax basis capital account" in text
    for statement in (*book, *tax):
        assert money(statement.ending, blank_zero=False) in text
    assert "500,000.00" in text  # contribution
