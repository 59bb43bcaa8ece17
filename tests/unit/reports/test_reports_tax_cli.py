"""`pipelet tax k1 --input FILE.json`: the batch from plain input, and its one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelet_app.cli.tax import app as tax_app
from pipelet_app.domain.tax.sample import sample_return
from pipelet_app.domain.tax.serialize import input_to_dict

runner = CliRunner()


def write_input(tmp_path: Path, changes: dict[str, object] | None = None) -> Path:
    raw = input_to_dict(sample_return(3))
    raw.update(changes or {})
    path = tmp_path / "return.json"
    path.write_text(json.dumps(raw))
    return path


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_k1_batch_from_json(tmp_path: Path) -> None:
    source = write_input(tmp_path)
    out = tmp_path / "out"
    result = runner.invoke(
        tax_app,
        [
            "k1",
            "--input",
            str(source),
            "--out",
            str(out),
            "--year",
            "2025",
            "--processes",
            "1",
            "--status",
            "released",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["files"] == [
        "Form1065-2025.pdf",
        "K1-2025-INV0001.pdf",
        "K1-2025-INV0002.pdf",
        "K1-2025-SPONSOR.pdf",
    ]
    assert "Rendering 4 PDFs" in result.stderr
    text = subprocess.run(
        ["pdftotext", str(out / "K1-2025-INV0002.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Investor Member 0002 Inc." in text and "(855,360.00)" in text
    assert "96-1000002" in text
    copies = tmp_path / "copies"
    result = runner.invoke(
        tax_app, ["k1", "--input", str(source), "--out", str(copies), "--processes", "1", "--partner-copies"]
    )
    assert result.exit_code == 0, result.output
    text = subprocess.run(
        ["pdftotext", str(copies / "K1-2025-INV0002.pdf"), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "XX-XXX0002" in text and "96-1000002" not in text


def test_k1_without_input_keeps_the_database_placeholder(tmp_path: Path) -> None:
    result = runner.invoke(tax_app, ["k1", "--spv", "1", "--year", "2025", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: spv:")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"partners": []}, "error: tax_share: [ALLOC-100]"),
        ({"figures": {"gross_receipts": "1.001"}}, "error: figures.gross_receipts: [BAD-INPUT]"),
        ({"colour": "blue"}, "error: colour: [BAD-INPUT] unknown field"),
    ],
)
def test_k1_bad_input_is_one_line_naming_the_field(
    tmp_path: Path, change: dict[str, object], expected: str
) -> None:
    source = write_input(tmp_path, change)
    result = runner.invoke(tax_app, ["k1", "--input", str(source), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(expected), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_k1_year_mismatch_and_bad_json(tmp_path: Path) -> None:
    source = write_input(tmp_path)
    result = runner.invoke(
        tax_app, ["k1", "--input", str(source), "--year", "2024", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and result.stderr.startswith("error: year:")
    source.write_text("{not json")
    result = runner.invoke(tax_app, ["k1", "--input", str(source), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and result.stderr.startswith("error: input: not valid JSON")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_an_interrupted_batch_leaves_no_set_that_looks_complete(tmp_path: Path) -> None:
    """kill -9 of `pipelet tax k1` mid-batch, over the manifest of an earlier complete run: no manifest
    remains, every `.pdf` present is whole; the re-run completes the set and writes the manifest last."""
    import hashlib
    import os
    import signal
    import sys
    import time

    raw = input_to_dict(sample_return(13))  # 13 K-1s + the 1065, rendered one by one in-process
    total = len(raw["partners"]) + 1
    source = tmp_path / "return.json"
    source.write_text(json.dumps(raw))
    out = tmp_path / "out"
    cli = [sys.executable, "-m", "pipelet_app.cli.main", "tax", "k1"]
    argv = [*cli, "--input", str(source), "--out", str(out), "--processes", "1"]
    out.mkdir()
    (out / "manifest.json").write_text('{"complete": true, "files": []}')  # an earlier batch's
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(list(out.glob("*.pdf"))) < 3:
        assert proc.poll() is None and time.monotonic() < deadline, "the batch ended before it could be cut"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)

    assert not (out / "manifest.json").exists()
    pdfs = list(out.glob("*.pdf"))
    assert 3 <= len(pdfs) < total
    for pdf in pdfs:
        content = pdf.read_bytes()
        assert content.startswith(b"%PDF") and content.rstrip().endswith(b"%%EOF"), f"{pdf.name} is cut"

    rerun = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] and manifest["count"] == total == len(list(out.glob("*.pdf")))
    assert not list(out.glob("*.part"))
    for entry in manifest["files"]:
        assert hashlib.sha256((out / entry["name"]).read_bytes()).hexdigest() == entry["sha256"]
    assert os.path.getmtime(out / "manifest.json") >= max(os.path.getmtime(p) for p in out.glob("*.pdf"))
