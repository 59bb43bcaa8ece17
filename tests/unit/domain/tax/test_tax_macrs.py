"""MACRS: the published IRS tables, the 40 % test, schedules to the cent, and `pipelet tax macrs`."""

from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from typer.testing import CliRunner

from pipelet_app.cli.tax import app as tax_app
from pipelet_app.domain.tax.errors import TaxValidationError
from pipelet_app.domain.tax.macrs import (
    PlacedBasis,
    TaxYear,
    choose_convention,
    macrs_percentages,
    macrs_schedule,
)
from pipelet_app.domain.tax.rules import Convention


def d(*values: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(v) for v in values)


# Typed from /work/shared/reference/tax-equity.md, independently of rules.py.
REFERENCE = {
    (3, "HY"): d("33.33", "44.45", "14.81", "7.41"),
    (5, "HY"): d("20.00", "32.00", "19.20", "11.52", "11.52", "5.76"),
    (7, "HY"): d("14.29", "24.49", "17.49", "12.49", "8.93", "8.92", "8.93", "4.46"),
    (15, "HY"): d(
        "5.00",
        "9.50",
        "8.55",
        "7.70",
        "6.93",
        "6.23",
        "5.90",
        "5.90",
        "5.91",
        "5.90",
        "5.91",
        "5.90",
        "5.91",
        "5.90",
        "5.91",
        "2.95",
    ),
    (3, "MQ1"): d("58.33", "27.78", "12.35", "1.54"),
    (5, "MQ1"): d("35.00", "26.00", "15.60", "11.01", "11.01", "1.38"),
    (7, "MQ1"): d("25.00", "21.43", "15.31", "10.93", "8.75", "8.74", "8.75", "1.09"),
    (5, "MQ3"): d("15.00", "34.00", "20.40", "12.24", "11.30", "7.06"),
    (7, "MQ3"): d("10.71", "25.51", "18.22", "13.02", "9.30", "8.85", "8.86", "5.53"),
    (5, "MQ4"): d("5.00", "38.00", "22.80", "13.68", "10.94", "9.58"),
    (7, "MQ4"): d("3.57", "27.55", "19.68", "14.06", "10.04", "8.73", "8.73", "7.64"),
}

# The rest of IRS Pub. 946 Tables A-2..A-5 for 3/5/7/15-year property, as published.
PUBLISHED_REST = {
    (15, "MQ1"): d(
        "8.75",
        "9.13",
        "8.21",
        "7.39",
        "6.65",
        "5.99",
        "5.90",
        "5.91",
        "5.90",
        "5.91",
        "5.90",
        "5.91",
        "5.90",
        "5.91",
        "5.90",
        "0.74",
    ),
    (3, "MQ2"): d("41.67", "38.89", "14.14", "5.30"),
    (5, "MQ2"): d("25.00", "30.00", "18.00", "11.37", "11.37", "4.26"),
    (7, "MQ2"): d("17.85", "23.47", "16.76", "11.97", "8.87", "8.87", "8.87", "3.34"),
    (15, "MQ2"): d(
        "6.25",
        "9.38",
        "8.44",
        "7.59",
        "6.83",
        "6.15",
        "5.91",
        "5.90",
        "5.91",
        "5.90",
        "5.91",
        "5.90",
        "5.91",
        "5.90",
        "5.91",
        "2.21",
    ),
    (3, "MQ3"): d("25.00", "50.00", "16.67", "8.33"),
    (15, "MQ3"): d(
        "3.75",
        "9.63",
        "8.66",
        "7.80",
        "7.02",
        "6.31",
        "5.90",
        "5.90",
        "5.91",
        "5.90",
        "5.91",
        "5.90",
        "5.91",
        "5.90",
        "5.91",
        "3.69",
    ),
    (3, "MQ4"): d("8.33", "61.11", "20.37", "10.19"),
    (15, "MQ4"): d(
        "1.25",
        "9.88",
        "8.89",
        "8.00",
        "7.20",
        "6.48",
        "5.90",
        "5.90",
        "5.90",
        "5.91",
        "5.90",
        "5.91",
        "5.90",
        "5.91",
        "5.90",
        "5.17",
    ),
}
ALL_TABLES = {**REFERENCE, **PUBLISHED_REST}


@pytest.mark.parametrize(("key", "expected"), sorted(ALL_TABLES.items()))
def test_percentages_equal_irs_tables(key: tuple[int, str], expected: tuple[Decimal, ...]) -> None:
    recovery_class, convention = key
    assert macrs_percentages(recovery_class, convention) == expected


def test_every_class_and_convention_is_covered() -> None:
    assert set(ALL_TABLES) == {(c, conv.value) for c in (3, 5, 7, 15) for conv in Convention}


@pytest.mark.parametrize("key", sorted(ALL_TABLES))
def test_published_columns_sum_to_100(key: tuple[int, str]) -> None:
    assert sum(macrs_percentages(*key)) == Decimal(100)


def _formula(recovery_class: int, first_year_fraction: Decimal) -> list[Decimal]:
    """DB switching to SL on the rounded remaining basis, rounded each year: how the IRS builds tables."""
    rate = Decimal(2 if recovery_class < 10 else Decimal("1.5")) / recovery_class
    left, used, out = Decimal(100), Decimal(0), []
    for year in range(recovery_class + 1):
        fraction = first_year_fraction if year == 0 else Decimal(1)
        life_left = recovery_class - used
        last = year == recovery_class
        value = left if last else max(left * rate * fraction, left / life_left * fraction)
        value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        out.append(value)
        left -= value
        used += fraction
    return out


@pytest.mark.parametrize("key", sorted(ALL_TABLES))
def test_tables_agree_with_the_formula_within_a_hundredth(key: tuple[int, str]) -> None:
    """A cross-check that no table row was mistyped: the formula reproduces every published figure except
    the IRS's own adjustment of the 7-year Table A-3 column (17.85/3.34 against 17.86/3.33)."""
    recovery_class, convention = key
    fraction = {
        "HY": Decimal("0.5"),
        "MQ1": Decimal("10.5") / 12,
        "MQ2": Decimal("7.5") / 12,
        "MQ3": Decimal("4.5") / 12,
        "MQ4": Decimal("1.5") / 12,
    }[convention]
    published = macrs_percentages(recovery_class, convention)
    computed = _formula(recovery_class, fraction)
    differences = [i for i, (a, b) in enumerate(zip(published, computed, strict=True)) if a != b]
    if key == (7, "MQ2"):
        assert differences == [0, 7]
        assert all(abs(published[i] - computed[i]) == Decimal("0.01") for i in differences)
    else:
        assert differences == []


def test_refuses_what_the_tables_do_not_hold() -> None:
    with pytest.raises(TaxValidationError) as info:
        macrs_percentages(10, "HY")
    assert info.value.violations[0].rule == "MACRS-CLASS"
    with pytest.raises(TaxValidationError) as info:
        macrs_percentages(5, "MQ5")
    assert info.value.violations[0].rule == "MACRS-CONVENTION"


def test_forty_percent_test_exactly_40_is_half_year() -> None:
    year = TaxYear.calendar(2025)
    placed = [
        PlacedBasis("a", date(2025, 3, 1), Decimal("60000.00")),
        PlacedBasis("b", date(2025, 10, 1), Decimal("40000.00")),
    ]
    choice = choose_convention(year, placed)
    assert not choice.mid_quarter
    assert choice.last_quarter_share == Decimal("0.4")
    assert set(choice.conventions.values()) == {Convention.HY}


def test_forty_percent_test_over_40_is_mid_quarter_by_each_quarter() -> None:
    year = TaxYear.calendar(2025)
    placed = [
        PlacedBasis("q1", date(2025, 3, 31), Decimal("30000.00")),
        PlacedBasis("q2", date(2025, 4, 1), Decimal("14999.99")),
        PlacedBasis("q3", date(2025, 9, 30), Decimal("15000.00")),
        PlacedBasis("q4", date(2025, 10, 1), Decimal("40000.01")),
    ]
    choice = choose_convention(year, placed)
    assert choice.mid_quarter
    assert choice.conventions == {
        "q1": Convention.MQ1,
        "q2": Convention.MQ2,
        "q3": Convention.MQ3,
        "q4": Convention.MQ4,
    }


def test_quarters_of_a_fiscal_year() -> None:
    year = TaxYear(date(2025, 7, 1), date(2026, 6, 30))
    assert [year.quarter_of(date(2025, 9, 30)), year.quarter_of(date(2025, 10, 1))] == [1, 2]
    assert [year.quarter_of(date(2026, 3, 31)), year.quarter_of(date(2026, 4, 1))] == [3, 4]


def test_placed_in_service_outside_the_year_is_refused() -> None:
    with pytest.raises(TaxValidationError) as info:
        choose_convention(TaxYear.calendar(2025), [PlacedBasis("x", date(2026, 1, 1), Decimal(1))])
    assert info.value.violations[0].rule == "PIS-IN-YEAR"
    assert "x" in info.value.violations[0].field


def test_schedule_recovers_exactly_the_basis_to_the_cent() -> None:
    schedule = macrs_schedule(Decimal("12345.67"), 7, Convention.HY, 2025)
    assert [row.tax_year for row in schedule] == list(range(2025, 2033))
    assert schedule[0].amount == Decimal("1764.20")  # 12,345.67 x 14.29 % = 1,764.196...
    assert sum(row.amount for row in schedule) == Decimal("12345.67")
    assert all(row.amount == row.amount.quantize(Decimal("0.01")) for row in schedule)


runner = CliRunner()


def test_cli_macrs_prints_the_table_as_json() -> None:
    result = runner.invoke(tax_app, ["macrs", "--class", "7", "--convention", "MQ4"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["class"] == 7
    assert payload["convention"] == "MQ4"
    assert payload["percentages"] == [3.57, 27.55, 19.68, 14.06, 10.04, 8.73, 8.73, 7.64]
    assert "Table A-5" in payload["table"]


def test_cli_macrs_bad_input_is_exit_2_one_line() -> None:
    result = runner.invoke(tax_app, ["macrs", "--class", "10", "--convention", "HY"])
    assert result.exit_code == 2
    assert "class" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--class", "abc", "--convention", "HY"], "class"),
        (["--class", "5", "--convention", "MQ5"], "convention"),
    ],
)
def test_cli_macrs_names_the_bad_field(args: list[str], field: str) -> None:
    result = runner.invoke(tax_app, ["macrs", *args])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {field}:")
    assert len(result.stderr.strip().splitlines()) == 1
