"""The CSV cell rule: nothing that starts like a formula leaves as one; numbers stay numbers."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain.csv_cells import TRIGGERS, cell, record, row


@pytest.mark.parametrize(
    "raw,out",
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+49 170 1234", "'+49 170 1234"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.5", "-12.5"),  # a negative number stays a number a spreadsheet parses
        ("+3", "+3"),
        ("1e3", "1e3"),
        ("DE*ION*E1", "DE*ION*E1"),
        ("", ""),
    ],
)
def test_examples(raw: str, out: str) -> None:
    assert cell(raw) == out


def test_numbers_pass_untouched() -> None:
    assert row([-5, -1.25, Decimal("-0.30"), None, True]) == [-5, -1.25, Decimal("-0.30"), None, True]
    assert record({"a": "=x", "b": -1}) == {"a": "'=x", "b": -1}


@given(st.text())
def test_no_text_leaves_as_a_formula(text: str) -> None:
    out = cell(text)
    if out.startswith(TRIGGERS):
        float(out)  # the only sign-led cells left are plain numbers
    assert out in (text, "'" + text)


@given(st.lists(st.text(), max_size=6))
def test_a_written_row_reads_back_without_a_formula(values: list[str]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(row(values))
    (back,) = list(csv.reader(io.StringIO(buffer.getvalue()), strict=True)) or [[]]
    for value in back:
        if value.startswith(TRIGGERS):
            float(value)
