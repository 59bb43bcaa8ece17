"""The demo SPV's books: Sonnenstrom's chargers placed in service in 2025, the flip terms, TINs, the
2025 tax year, its balance sheet, and the 2025 return released so investors can download final K-1s.

Why the figures are entered rather than summed from sessions: the demo's sessions are the last four
weeks (relative to the first seeding), not 2025. The receipts are plausible for three AC chargers and
a solar carport; the balance sheet is derived from the same numbers so Schedule L balances and agrees
with Schedule M-2 to the cent. Idempotent: rows are found by natural key; the release happens once
(only while the year has no audit trail).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import Session, select

from pipelet_app.db.models import (
    Charger,
    Site,
    Spv,
    SpvAsset,
    SpvAssetPort,
    SpvBalanceSheet,
    SpvLifecycleStep,
    SpvPartner,
    SpvPartnerYear,
    SpvReturnEvent,
    SpvTaxYear,
)
from pipelet_app.domain.tax.release import ReturnStatus
from pipelet_app.tax.returns import transition_return
from pipelet_app.tax.tin import encrypt_tin

D = Decimal
YEAR = 2025

SPV_FACTS = {
    "ein": "88-1234567",
    "address": "500 Grid Avenue, Suite 20\nSacramento, CA 95814",
    "irs_center": "Ogden, UT",
    "business_code": "457100",
    "date_business_started": date(2025, 1, 6),
    "target_irr": D("0.080000"),
    "investor_tax_rate": D("0.265300"),
    "credit_k1_code": "STMT",
    "lifecycle_phase": "operations",
}

# partner name -> (TIN, address, entity type, flip role,
#                  (pre tax, post tax, pre cash, post cash), DRO, 2025 contribution)
PARTNER_FACTS = {
    "Sonnenstrom Betrieb GmbH": (
        "98-7654321",
        "Landsberger Str. 110\n80339 Muenchen, Germany",
        "Corporation",
        "sponsor",
        ("0.010000", "0.950000", "0.340000", "0.900000"),
        True,
        D("2000.00"),
    ),
    "Evergreen Tax Equity LLC": (
        "47-1112223",
        "1 Evergreen Plaza\nPortland, OR 97204",
        "Limited liability company",
        "investor",
        ("0.600000", "0.030000", "0.400000", "0.060000"),
        True,
        D("120000.00"),
    ),
    "Harbor Renewables Fund LP": (
        "36-4445556",
        "200 Harbor Drive\nSan Diego, CA 92101",
        "Partnership",
        "investor",
        ("0.390000", "0.020000", "0.260000", "0.040000"),
        True,
        D("78000.00"),
    ),
}

# (asset key, charge point id or None, site name, description, cost, acquired, in service, class)
ASSETS = [
    ("SON-CP-001", "SON-CP-001", "Depot München", "ABB Terra AC W22, 2 ports", D("18500.00"),
     date(2024, 12, 10), date(2025, 3, 14), 5),
    ("SON-CP-002", "SON-CP-002", "Depot München", "ABB Terra AC W22, 2 ports", D("18500.00"),
     date(2024, 12, 10), date(2025, 3, 14), 5),
    ("SON-CP-003", "SON-CP-003", "Solarpark Freising", "Alfen Eve Double Pro, 2 ports", D("24000.00"),
     date(2025, 2, 3), date(2025, 5, 20), 7),
    ("FRS-CARPORT", None, "Solarpark Freising", "Solar carport 98 kWp (energy property)", D("120000.00"),
     date(2025, 2, 3), date(2025, 6, 30), 5),
]  # fmt: skip
TRACTS = {"Depot München": "06067001101", "Solarpark Freising": "06067009402"}

# The 2025 books, in dollars.
GROSS_RECEIPTS = D("48250.00")
OPERATING_EXPENSES = D("14600.00")
INTEREST_INCOME = D("310.00")
DISTRIBUTABLE_CASH = D("12000.00")
BOOK_LIFE_YEARS = 10

S = "Sonnenstrom"
LIFECYCLE = [
    ("sourcing-1", "sourcing", "Site and charger pipeline approved", S, date(2024, 10, 15), True),
    ("structuring-1", "structuring", "LLC agreement signed (flip terms)", S, date(2024, 12, 1), True),
    ("construction-1", "construction", "Chargers commissioned", S, date(2025, 5, 31), True),
    ("operations-1", "operations", "2025 K-1s furnished to partners", S, date(2026, 3, 16), True),
    ("operations-2", "operations", "2025 Form 1065 filed (extended)", S, date(2026, 9, 15), False),
    ("operations-3", "operations", "Annual investor report 2026", S, date(2027, 1, 31), False),
]  # fmt: skip


def _first(db: Session, model: type, **key: object):
    return db.exec(select(model).filter_by(**key)).first()


def seed_spv_books(db: Session, spv: Spv) -> None:
    """Fill the demo SPV's books and release its 2025 return once; re-running changes nothing."""
    for name, value in SPV_FACTS.items():
        if getattr(spv, name) in (None, "", "sourcing"):
            setattr(spv, name, value)
    db.add(spv)
    partners = {p.name: p for p in db.exec(select(SpvPartner).where(SpvPartner.spv_id == spv.id)).all()}
    for name, (tin, address, entity, role, shares, dro, contribution) in PARTNER_FACTS.items():
        partner = partners.get(name)
        if partner is None:
            continue
        if not partner.tin_encrypted:
            partner.tin_encrypted = encrypt_tin(tin)
            partner.address = address
            partner.entity_type = entity
            partner.role = role
            partner.pre_flip_tax, partner.post_flip_tax, partner.pre_flip_cash, partner.post_flip_cash = (
                D(s) for s in shares
            )
            partner.has_dro = dro
            db.add(partner)
        if _first(db, SpvPartnerYear, partner_id=partner.id, tax_year=YEAR) is None:
            db.add(
                SpvPartnerYear(
                    spv_id=spv.id, partner_id=partner.id, tax_year=YEAR, contributed_cash=contribution
                )
            )

    total_cost = D(0)
    for key, cp_id, site_name, description, cost, acquired, in_service, recovery in ASSETS:
        total_cost += cost
        if _first(db, SpvAsset, spv_id=spv.id, asset_key=key) is not None:
            continue
        charger = _first(db, Charger, charge_point_id=cp_id) if cp_id else None
        site = _first(db, Site, tenant_id=spv.sponsor_tenant_id, name=site_name)
        asset = SpvAsset(
            spv_id=spv.id,
            charger_id=charger.id if charger else None,
            site_id=site.id if site else None,
            asset_key=key,
            description=description,
            cost_basis=cost,
            acquired=acquired,
            placed_in_service=in_service,
            recovery_class=recovery,
        )
        db.add(asset)
        db.flush()
        if charger is not None:
            for port in (1, 2):
                db.add(
                    SpvAssetPort(
                        asset_id=asset.id,
                        port_key=f"{key}-P{port}",
                        basis=(cost / 2).quantize(D("0.01")),
                        placed_in_service=in_service,
                        census_tract_geoid=TRACTS[site_name],
                        tract_eligible=True,
                        prevailing_wage_met=True,
                    )
                )

    contributions = sum((facts[-1] for facts in PARTNER_FACTS.values()), D(0))
    book_depreciation = (total_cost / BOOK_LIFE_YEARS / 2).quantize(D("0.01"))  # straight line, half year
    if _first(db, SpvTaxYear, spv_id=spv.id, tax_year=YEAR) is None:
        db.add(
            SpvTaxYear(
                spv_id=spv.id,
                tax_year=YEAR,
                gross_receipts=GROSS_RECEIPTS,
                operating_expenses=OPERATING_EXPENSES,
                book_depreciation=book_depreciation,
                distributable_cash=DISTRIBUTABLE_CASH,
                interest_income=INTEREST_INCOME,
                receipts_source="entered (demo: 2025 predates the seeded sessions)",
                extended=True,
            )
        )
    if _first(db, SpvBalanceSheet, spv_id=spv.id, tax_year=YEAR) is None:
        book_income = GROSS_RECEIPTS - OPERATING_EXPENSES - book_depreciation + INTEREST_INCOME
        db.add(
            SpvBalanceSheet(
                spv_id=spv.id,
                tax_year=YEAR,
                cash=contributions + GROSS_RECEIPTS + INTEREST_INCOME
                - OPERATING_EXPENSES - total_cost - DISTRIBUTABLE_CASH,
                depreciable_assets=total_cost,
                accumulated_depreciation=book_depreciation,
                partners_capital=contributions + book_income - DISTRIBUTABLE_CASH,
            )
        )  # fmt: skip
    for key, phase, title, owner, due, done in LIFECYCLE:
        if _first(db, SpvLifecycleStep, spv_id=spv.id, step_key=key) is None:
            db.add(
                SpvLifecycleStep(
                    spv_id=spv.id,
                    step_key=key,
                    phase=phase,
                    title=title,
                    owner=owner,
                    due=due,
                    done_on=due if done else None,
                )
            )
    db.flush()
    if _first(db, SpvReturnEvent, spv_id=spv.id, tax_year=YEAR) is None:
        transition_return(db, spv.id, YEAR, ReturnStatus.RELEASED, actor="demo seed", note="demo K-1s final")
