"""An SPV's tables -> the domain's `SpvBooks`: the only place that knows both shapes.

Why one loader: the CLI, the investor portal, the API and the release workflow must compute from the
same inputs, or a K-1 on screen could differ from the K-1 that was released. Partner ids in the domain
are `P<spv_partners.id>`, so a K-1 always maps back to one row (and one login).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal

from sqlalchemy import func
from sqlmodel import Session, select

from pipelet_app.auth import NotFound
from pipelet_app.db.models import (
    ChargingSession,
    Spv,
    SpvAsset,
    SpvAssetPort,
    SpvBalanceSheet,
    SpvPartner,
    SpvPartnerYear,
    SpvTaxYear,
)
from pipelet_app.domain.tax.assets import Asset
from pipelet_app.domain.tax.bonus import BonusElection
from pipelet_app.domain.tax.credits import PortClaim
from pipelet_app.domain.tax.flip import FlipTerms, PartnerTerms, Role
from pipelet_app.domain.tax.inputs import BalanceSheet, EntityType, Liabilities, PartnerInfo, PartnershipInfo
from pipelet_app.domain.tax.macrs import TaxYear
from pipelet_app.domain.tax.spv import SpvBooks, YearBooks
from pipelet_app.tax.tin import decrypt_tin

ZERO = Decimal("0.00")
BALANCE_FIELDS = (
    "cash",
    "receivables",
    "other_current_assets",
    "depreciable_assets",
    "accumulated_depreciation",
    "land",
    "other_assets",
    "accounts_payable",
    "short_term_notes",
    "other_current_liabilities",
    "nonrecourse_loans",
    "loans_from_partners",
    "long_term_notes",
    "other_liabilities",
    "partners_capital",
)


def partner_key(partner_id: int | None) -> str:
    return f"P{partner_id}"


def _lines(text: str | None) -> tuple[str, ...]:
    return tuple(line.strip() for line in (text or "").splitlines() if line.strip())


def _cents(value: Decimal | float | int | None) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _share(value: Decimal | float | int | None) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.000001"))


@dataclass(frozen=True)
class LoadedBooks:
    """The domain's books plus the rows they came from (for names, links and statuses)."""

    spv: Spv
    books: SpvBooks
    partners: dict[str, SpvPartner]
    years: dict[int, SpvTaxYear]


def partnership_info(spv: Spv) -> PartnershipInfo:
    return PartnershipInfo(
        ein=spv.ein or "",
        name=spv.name,
        address=_lines(spv.address),
        irs_center=spv.irs_center or "",
        business_code=spv.business_code or "",
        date_business_started=spv.date_business_started,
    )


def partner_info(partner: SpvPartner) -> PartnerInfo:
    kind = EntityType(partner.entity_type) if partner.entity_type else EntityType.CORPORATION
    return PartnerInfo(
        partner_id=partner_key(partner.id),
        tin=decrypt_tin(partner.tin_encrypted),
        name=partner.name,
        address=_lines(partner.address),
        general_partner=str(partner.kind) == "GP",
        domestic=partner.domestic,
        entity_type=kind,
    )


def _sheet(row: SpvBalanceSheet | None) -> tuple[BalanceSheet, Liabilities]:
    if row is None:
        return BalanceSheet(), Liabilities()
    sheet = BalanceSheet(**{name: _cents(getattr(row, name)) for name in BALANCE_FIELDS})
    liabilities = Liabilities(
        _cents(row.liabilities_nonrecourse),
        _cents(row.liabilities_qualified_nonrecourse),
        _cents(row.liabilities_recourse),
    )
    return sheet, liabilities


RECEIPTS_FROM_SESSIONS = "sessions"


def receipts_from_sessions(db: Session, spv_id: int, year: int, first_month: int = 1) -> Decimal:
    """Gross receipts of the tax year: what drivers paid for sessions started at the SPV's chargers.

    A year whose `receipts_source` is "sessions" takes its receipts from here at every computation, so
    a late session (an offline charger's backlog) changes the draft; after release it changes the
    input fingerprint, and the release workflow refuses to hand out PDFs that no longer match.
    """
    tax_year = TaxYear.starting(year, first_month)
    start = datetime.combine(tax_year.start, time.min, tzinfo=UTC)
    end = datetime.combine(tax_year.end, time.max, tzinfo=UTC)
    total = db.exec(
        select(func.coalesce(func.sum(ChargingSession.cost), 0))
        .join(SpvAsset, SpvAsset.charger_id == ChargingSession.charger_id)
        .where(
            SpvAsset.spv_id == spv_id, ChargingSession.start_utc >= start, ChargingSession.start_utc <= end
        )
    ).one()
    return _cents(total)


def get_spv(db: Session, spv_id: int) -> Spv:
    spv = db.get(Spv, spv_id)
    if spv is None:
        raise NotFound(f"spv: no SPV with id {spv_id}")
    return spv


def load_books(db: Session, spv_id: int) -> LoadedBooks:
    """Every year on file for the SPV, oldest first (the domain refuses gaps with TAX-YEAR)."""
    spv = get_spv(db, spv_id)
    partners = {
        partner_key(p.id): p
        for p in db.exec(select(SpvPartner).where(SpvPartner.spv_id == spv_id).order_by(SpvPartner.id)).all()
    }
    terms = FlipTerms(
        tuple(
            PartnerTerms(
                key,
                Role(p.role) if p.role else (Role.SPONSOR if str(p.kind) == "GP" else Role.INVESTOR),
                _share(p.pre_flip_tax),
                _share(p.post_flip_tax),
                _share(p.pre_flip_cash),
                _share(p.post_flip_cash),
                has_dro=p.has_dro,
                has_qio=p.has_qio,
            )
            for key, p in partners.items()
        ),
        target_irr=_share(spv.target_irr),
        investor_tax_rate=_share(spv.investor_tax_rate),
    )
    assets = []
    for row in db.exec(select(SpvAsset).where(SpvAsset.spv_id == spv_id).order_by(SpvAsset.id)).all():
        ports = db.exec(select(SpvAssetPort).where(SpvAssetPort.asset_id == row.id).order_by(SpvAssetPort.id))
        assets.append(
            Asset(
                asset_id=row.asset_key,
                description=row.description,
                cost_basis=_cents(row.cost_basis),
                acquired=row.acquired,
                placed_in_service=row.placed_in_service,
                recovery_class=row.recovery_class,
                bonus_election=BonusElection(row.bonus_election),
                ports=tuple(
                    PortClaim(
                        port_id=port.port_key,
                        basis=_cents(port.basis),
                        placed_in_service=port.placed_in_service,
                        census_tract_geoid=port.census_tract_geoid,
                        tract_eligible=port.tract_eligible,
                        prevailing_wage_met=port.prevailing_wage_met,
                        claimed_credit=_cents(port.claimed_credit)
                        if port.claimed_credit is not None
                        else None,
                    )
                    for port in ports
                ),
            )
        )
    year_rows = {
        y.tax_year: y
        for y in db.exec(select(SpvTaxYear).where(SpvTaxYear.spv_id == spv_id).order_by(SpvTaxYear.tax_year))
    }
    sheets = {
        s.tax_year: s for s in db.exec(select(SpvBalanceSheet).where(SpvBalanceSheet.spv_id == spv_id)).all()
    }
    contributions: dict[int, dict[str, Decimal]] = {}
    for c in db.exec(select(SpvPartnerYear).where(SpvPartnerYear.spv_id == spv_id)).all():
        contributions.setdefault(c.tax_year, {})[partner_key(c.partner_id)] = _cents(c.contributed_cash)
    years = []
    for year, row in year_rows.items():
        begin, liab_begin = _sheet(sheets.get(year - 1))
        end, liab_end = _sheet(sheets.get(year))
        years.append(
            YearBooks(
                tax_year=year,
                gross_receipts=(
                    receipts_from_sessions(db, spv_id, year, spv.first_month or 1)
                    if row.receipts_source == RECEIPTS_FROM_SESSIONS
                    else _cents(row.gross_receipts)
                ),
                operating_expenses=_cents(row.operating_expenses),
                book_depreciation=_cents(row.book_depreciation),
                distributable_cash=_cents(row.distributable_cash),
                contributions=contributions.get(year, {}),
                interest_income=_cents(row.interest_income),
                ordinary_dividends=_cents(row.ordinary_dividends),
                tax_exempt_interest=_cents(row.tax_exempt_interest),
                nondeductible_expenses=_cents(row.nondeductible_expenses),
                other_deductions=_cents(row.other_deductions),
                balance_beginning=begin,
                balance_ending=end,
                liabilities_beginning=liab_begin,
                liabilities_ending=liab_end,
            )
        )
    books = SpvBooks(
        partnership=partnership_info(spv),
        terms=terms,
        partners={key: partner_info(p) for key, p in partners.items()},
        assets=tuple(assets),
        years=tuple(years),
        credit_k1_code=spv.credit_k1_code,
        first_month=spv.first_month or 1,
    )
    return LoadedBooks(spv, books, partners, year_rows)
