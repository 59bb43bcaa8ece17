"""A deterministic demo SPV return with any number of partners, for the demo seed, tests and benchmark.

Why in the domain package: the benchmark, the PDF tests and the app's demo data need the same
realistic, internally consistent return (balance sheet balancing, M-2 agreeing with Schedule L) and
building one by hand is error-prone. It goes through the real pipeline (asset register -> 1065 input)
so it also exercises that path. All names and numbers are fictitious.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pipelet_app.domain.tax.allocation import allocate
from pipelet_app.domain.tax.assets import Asset, AssetRegister, build_register
from pipelet_app.domain.tax.credits import PortClaim
from pipelet_app.domain.tax.flip import FlipTerms, PartnerTerms, Role
from pipelet_app.domain.tax.inputs import (
    BalanceSheet,
    EntityType,
    Form1065Input,
    Liabilities,
    PartnerInfo,
    PartnershipInfo,
    PartnerYear,
    YearFigures,
)
from pipelet_app.domain.tax.macrs import PlacedBasis, TaxYear
from pipelet_app.domain.tax.rules import SECTION_30C_LAST_PLACED_IN_SERVICE
from pipelet_app.domain.tax.spv import SpvBooks, YearBooks

ZERO = Decimal("0.00")
SAMPLE_CREDIT_CODE = "STMT"


def sample_assets(year: int = 2025, chargers: int = 20) -> tuple[Asset, ...]:
    """DC fast chargers, two ports each, placed in service through the year, acquired after the cut-off."""
    out = []
    for i in range(chargers):
        month = 2 + (i * 10) // chargers
        pis = date(year, month, 15)
        ports = tuple(
            PortClaim(
                port_id=f"CH{i + 1:03d}-P{j + 1}",
                basis=Decimal("60000.00"),
                placed_in_service=pis,
                census_tract_geoid=f"06037{(i % 9) + 1:06d}",
                tract_eligible=True,
                prevailing_wage_met=i % 2 == 0,
            )
            for j in range(2)
            # No §30C claim for ports placed in service after the credit's deadline.
            if pis <= SECTION_30C_LAST_PLACED_IN_SERVICE
        )
        out.append(
            Asset(
                asset_id=f"CH{i + 1:03d}",
                description=f"150 kW DC charger #{i + 1}",
                cost_basis=Decimal("150000.00"),
                acquired=date(year, 1, 25) if year == 2025 else date(year, 1, 2),
                placed_in_service=pis,
                recovery_class=5 if i % 2 == 0 else 7,
                ports=ports,
            )
        )
    return tuple(out)


def _shares(n_investors: int, investor_total: Decimal) -> list[Decimal]:
    """Investor shares rounded to 1e-6, the remainder on the first so they sum exactly."""
    each = (investor_total / n_investors).quantize(Decimal("0.000001"))
    shares = [each] * n_investors
    shares[0] += investor_total - each * n_investors
    return shares


def sample_return(
    n_partners: int = 3, year: int = 2025, register: AssetRegister | None = None
) -> Form1065Input:
    """A first-year return: one sponsor (GP, 1 % pre-flip) and `n_partners - 1` investor members."""
    if n_partners < 2:
        raise ValueError("a partnership needs at least two partners")
    register = register or build_register(sample_assets(year))
    n_investors = n_partners - 1
    tax_shares = [Decimal("0.01"), *_shares(n_investors, Decimal("0.99"))]
    ids = ["SPONSOR", *(f"INV{i:04d}" for i in range(1, n_investors + 1))]
    investor_equity = Decimal("2400000.00")
    sponsor_equity = Decimal("1000000.00")
    investor_contrib = allocate(
        investor_equity, dict(zip(ids[1:], _shares(n_investors, Decimal(1)), strict=True))
    )
    contributions = {"SPONSOR": sponsor_equity, **investor_contrib}
    distributable = Decimal("180000.00")
    cash_shares = {
        "SPONSOR": Decimal("0.70"),
        **dict(zip(ids[1:], _shares(n_investors, Decimal("0.30")), strict=True)),
    }
    distributions = allocate(distributable, cash_shares)

    gross = Decimal("1250000.00")
    opex = Decimal("410000.00")
    interest = Decimal("1250.00")
    tax_dep = register.depreciation(year)
    cost = register.depreciable_cost(year)
    book_dep = (cost / Decimal(10) / Decimal(2)).quantize(
        Decimal("0.01")
    )  # straight line, 10 years, half year
    loan = Decimal("600000.00")
    book_income = gross - opex - book_dep + interest
    total_contrib = sum(contributions.values(), ZERO)
    partners_capital = total_contrib + book_income - distributable
    cash = total_contrib + loan + gross + interest - opex - cost - distributable

    partners = []
    for pid, share in zip(ids, tax_shares, strict=True):
        sponsor = pid == "SPONSOR"
        number = int(pid[3:]) if not sponsor else 0
        info = PartnerInfo(
            partner_id=pid,
            tin=f"{98 - number % 90:02d}-{1000000 + number:07d}" if not sponsor else "87-6543210",
            name="Pipelet Sponsor Holdings LLC" if sponsor else f"Investor Member {number:04d} Inc.",
            address=("100 Solar Way", "Oakland, CA 94607")
            if sponsor
            else (f"{number} Market St", "New York, NY 10005"),
            general_partner=sponsor,
            entity_type=EntityType.PARTNERSHIP if sponsor else EntityType.CORPORATION,
        )
        partners.append(
            PartnerYear(
                partner=info,
                tax_share=share,
                tax_capital_beginning=ZERO,
                book_capital_beginning=ZERO,
                cash_distributions=distributions[pid],
                contributed_cash=contributions[pid],
                recourse_share=Decimal(1) if sponsor else ZERO,
            )
        )
    placed = tuple(
        PlacedBasis(a.asset.asset_id, a.asset.placed_in_service, a.depreciable_basis) for a in register.assets
    )
    return Form1065Input(
        partnership=PartnershipInfo(
            ein="12-3456789",
            name="Pipelet Charging Fund I LLC",
            address=("500 Grid Avenue, Suite 20", "Sacramento, CA 95814"),
            irs_center="Ogden, UT",
            business_code="457100",
            date_business_started=date(year, 1, 10),
        ),
        tax_year=TaxYear.calendar(year),
        figures=YearFigures(
            gross_receipts=gross,
            operating_expenses=opex,
            tax_depreciation=tax_dep,
            book_depreciation=book_dep,
            interest_income=interest,
            credits=register.credits_placed_in(year),
            credit_k1_code=SAMPLE_CREDIT_CODE,
            placed_in_service=tuple(p for p in placed if p.placed_in_service.year == year),
        ),
        partners=tuple(partners),
        balance_beginning=BalanceSheet(),
        balance_ending=BalanceSheet(
            cash=cash,
            depreciable_assets=cost,
            accumulated_depreciation=book_dep,
            long_term_notes=loan,
            partners_capital=partners_capital,
        ),
        liabilities_beginning=Liabilities(),
        liabilities_ending=Liabilities(recourse=loan),
    )


def sample_spv_books() -> SpvBooks:
    """Two years (2025-2026) of a small SPV's books: 4 chargers, an investor with 99 % of tax items
    before the flip, straight-line books; balance sheets that agree with the capital accounts."""
    d = Decimal
    partners = {
        "INV": PartnerInfo(
            "INV", "11-1111111", "Tax Equity Corp", ("1 Wall St", "New York, NY 10005"), False
        ),
        "DEV": PartnerInfo("DEV", "22-2222222", "Developer LLC", ("2 Grid Ave", "Oakland, CA 94607"), True),
    }
    terms = FlipTerms(
        (
            PartnerTerms("INV", Role.INVESTOR, d("0.99"), d("0.05"), d("0.60"), d("0.05"), has_dro=True),
            PartnerTerms("DEV", Role.SPONSOR, d("0.01"), d("0.95"), d("0.40"), d("0.95"), has_dro=True),
        ),
        target_irr=d("0.08"),
        investor_tax_rate=d("0.2653"),
    )
    year_2025 = YearBooks(
        tax_year=2025,
        gross_receipts=d("80000.00"),
        operating_expenses=d("20000.00"),
        book_depreciation=d("30000.00"),
        distributable_cash=d("10000.00"),
        contributions={"INV": d("500000.00"), "DEV": d("200000.00")},
        balance_ending=BalanceSheet(
            cash=d("150000.00"),
            depreciable_assets=d("600000.00"),
            accumulated_depreciation=d("30000.00"),
            partners_capital=d("720000.00"),
        ),
    )
    year_2026 = YearBooks(
        tax_year=2026,
        gross_receipts=d("150000.00"),
        operating_expenses=d("40000.00"),
        book_depreciation=d("60000.00"),
        distributable_cash=d("50000.00"),
        balance_beginning=year_2025.balance_ending,
        balance_ending=BalanceSheet(
            cash=d("210000.00"),
            depreciable_assets=d("600000.00"),
            accumulated_depreciation=d("90000.00"),
            partners_capital=d("720000.00"),
        ),
    )
    return SpvBooks(
        partnership=PartnershipInfo(
            "12-3456789", "Pipelet SPV 2 LLC", ("1 Grid Ave", "Sacramento, CA 95814"), "Ogden, UT"
        ),
        terms=terms,
        partners=partners,
        assets=sample_assets(2025, chargers=4),
        years=(year_2025, year_2026),
        credit_k1_code=SAMPLE_CREDIT_CODE,
    )
