"""`spv.prepare`: from an SPV's books to consecutive years of returns in one call."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipelet_app.domain.tax.errors import TaxValidationError
from pipelet_app.domain.tax.k1 import LINES
from pipelet_app.domain.tax.sample import sample_spv_books
from pipelet_app.domain.tax.spv import SpvBooks, prepare

D = Decimal


def test_prepare_two_years() -> None:
    result = prepare(sample_spv_books())
    first, second = result.returns[2025], result.returns[2026]
    # 8 ports: 4 at 30 % (18,000) and 4 at 6 % (3,600); 100 % bonus on the rest in 2025.
    assert first.schedule_k["15f"] == D("86400.00")
    assert first.income.depreciation == D("513600.00")
    assert second.income.depreciation == D("0.00")
    assert first.schedule_k["1"] == D("80000.00") - D("20000.00") - D("513600.00")
    for form in (first, second):
        for line in LINES:
            assert sum(k1.box_amount(line.k_line) for k1 in form.k1s) == form.schedule_k[line.k_line]
    inv_1, inv_2 = first.k1_for("INV"), second.k1_for("INV")
    assert inv_2.item_l.beginning == inv_1.item_l.ending
    assert second.book_capital["INV"].beginning == first.book_capital["INV"].ending
    assert inv_1.box_amount("19a") == D("6000.00")
    assert result.flip.flip_year is None  # two years are not enough to reach 8 %


def test_prepare_refuses_gaps_and_assets_before_the_books() -> None:
    b = sample_spv_books()
    with pytest.raises(TaxValidationError) as info:
        prepare(SpvBooks(b.partnership, b.terms, b.partners, b.assets, (b.years[1], b.years[0])))
    assert info.value.violations[0].rule == "TAX-YEAR"
    with pytest.raises(TaxValidationError) as info:
        prepare(SpvBooks(b.partnership, b.terms, b.partners, b.assets, (b.years[1],)))
    assert info.value.violations[0].rule == "PIS-IN-YEAR"


def test_fiscal_year_spv() -> None:
    """A July-June SPV: an asset placed in service in May 2026 falls in the tax year beginning
    1 July 2025 (labelled 2025), in its fourth quarter; the K-1 header shows the fiscal dates."""
    import dataclasses
    from datetime import date

    from pipelet_app.domain.tax.assets import Asset, build_register
    from pipelet_app.domain.tax.macrs import TaxYear
    from pipelet_app.domain.tax.rules import Convention

    q2 = Asset("Q2", "site", D("40000.00"), date(2025, 8, 1), date(2025, 11, 1), 7)
    q4 = Asset("Q4", "charger", D("60000.00"), date(2025, 8, 1), date(2026, 5, 15), 5)
    register = build_register([q2, q4], first_month=7)
    choice = register.conventions[2025]
    assert choice.mid_quarter  # 60 % of the year's basis in the fiscal fourth quarter
    assert {a.asset.asset_id: a.convention for a in register.assets} == {
        "Q2": Convention.MQ2,
        "Q4": Convention.MQ4,
    }
    assert register.depreciation(2025) == D("100000.00")  # acquired after the cut-off: 100 % bonus
    assert TaxYear.containing(date(2026, 6, 30), 7) == TaxYear(date(2025, 7, 1), date(2026, 6, 30))

    books = sample_spv_books()
    fiscal = dataclasses.replace(books, first_month=7, assets=(q2, q4))
    result = prepare(dataclasses.replace(fiscal, years=fiscal.years[:1]))
    form = result.returns[2025]
    assert form.tax_year == TaxYear(date(2025, 7, 1), date(2026, 6, 30))
    assert form.income.depreciation == D("100000.00")
