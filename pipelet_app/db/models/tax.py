"""Tax-equity partnerships (SPVs): partners, assets and ports, each year's books, documents and audit.

Why these shapes: the tables hold the *facts* the domain's input dataclasses (`domain/tax/spv.py`
`SpvBooks`, `YearBooks`, `assets.Asset`, `credits.PortClaim`, `flip.PartnerTerms`) are built from;
nothing computed (depreciation, credits, allocations, capital accounts, K-1 boxes) is stored, so a
corrected input always flows into the next computation. What *is* stored is what was handed out: the
released PDFs (bytes and SHA-256, so the investor downloads exactly what was released) and the audit
trail of status changes.

Columns added to `spvs` and `spv_partners` after they first shipped are nullable or carry a server
default, so existing databases migrate without a backfill. Money is `Numeric(14, 2)`, shares
`Numeric(9, 6)`; TINs are stored only encrypted (`pipelet_app.tax.tin`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, Date, ForeignKey, Integer, LargeBinary, Numeric, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from pipelet_app.clock import utcnow
from pipelet_app.db.types import UTCDateTime, str_enum


class PartnerKind(StrEnum):
    GP = "GP"
    LP = "LP"


class ReturnStatusDb(StrEnum):
    """Mirror of `domain.tax.release.ReturnStatus` (the domain has no DB imports)."""

    DRAFT = "draft"
    RELEASED = "released"
    FILED = "filed"


def _money(nullable: bool = False, default: str | None = "0") -> Column:
    return Column(Numeric(14, 2), nullable=nullable, server_default=default)


def _share(default: str = "0") -> Column:
    return Column(Numeric(9, 6), nullable=False, server_default=default)


class Spv(SQLModel, table=True):
    """The partnership: Form 1065 header facts, the flip's target and the lifecycle phase."""

    __tablename__ = "spvs"

    id: int | None = Field(default=None, primary_key=True)
    sponsor_tenant_id: int = Field(foreign_key="tenants.id", index=True)
    name: str
    formed_year: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ein: str | None = None
    address: str | None = Field(default=None, description="Mailing address, one line per element")
    irs_center: str | None = None
    business_code: str | None = None
    date_business_started: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    target_irr: Decimal | None = Field(default=None, sa_column=Column(Numeric(9, 6), nullable=True))
    investor_tax_rate: Decimal | None = Field(default=None, sa_column=Column(Numeric(9, 6), nullable=True))
    first_month: int = Field(default=1, sa_column=Column(Integer, nullable=False, server_default="1"))
    credit_k1_code: str | None = None
    lifecycle_phase: str = Field(
        default="sourcing", sa_column=Column(Text, nullable=False, server_default="sourcing")
    )


class SpvPartner(SQLModel, table=True):
    """A partner of an SPV; investors log in as the user linked here and see only their SPVs.

    `role` is the flip's role ("investor" or "sponsor"); the four shares are the deal's pre- and
    post-flip allocations of tax items and of cash (fractions of 1).
    """

    __tablename__ = "spv_partners"
    __table_args__ = (UniqueConstraint("spv_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    spv_id: int = Field(foreign_key="spvs.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    name: str
    kind: PartnerKind = Field(sa_type=str_enum(PartnerKind))
    ownership_pct: float
    tin_encrypted: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    address: str | None = None
    entity_type: str | None = None
    domestic: bool = Field(default=True, sa_column_kwargs={"server_default": "1"})
    role: str | None = None
    pre_flip_tax: Decimal = Field(default=Decimal(0), sa_column=_share())
    post_flip_tax: Decimal = Field(default=Decimal(0), sa_column=_share())
    pre_flip_cash: Decimal = Field(default=Decimal(0), sa_column=_share())
    post_flip_cash: Decimal = Field(default=Decimal(0), sa_column=_share())
    has_dro: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    has_qio: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})


class SpvAsset(SQLModel, table=True):
    """Depreciable property of the SPV (a charger, a site build-out); `charger_id` links a charger."""

    __tablename__ = "spv_assets"
    __table_args__ = (UniqueConstraint("spv_id", "asset_key"),)

    id: int | None = Field(default=None, primary_key=True)
    spv_id: int = Field(foreign_key="spvs.id", index=True)
    charger_id: int | None = Field(default=None, foreign_key="chargers.id", index=True)
    site_id: int | None = Field(default=None, foreign_key="sites.id", index=True)
    asset_key: str
    description: str
    cost_basis: Decimal = Field(sa_column=_money(default=None))
    acquired: date = Field(sa_column=Column(Date, nullable=False))
    placed_in_service: date = Field(sa_column=Column(Date, nullable=False))
    recovery_class: int
    bonus_election: str = "default"


class SpvAssetPort(SQLModel, table=True):
    """One charging port of an asset: the §30C item (its share of the asset's basis, tract, wages)."""

    __tablename__ = "spv_asset_ports"
    __table_args__ = (UniqueConstraint("asset_id", "port_key"),)

    id: int | None = Field(default=None, primary_key=True)
    asset_id: int = Field(sa_column=Column(Integer, ForeignKey("spv_assets.id"), nullable=False, index=True))
    port_key: str
    basis: Decimal = Field(sa_column=_money(default=None))
    placed_in_service: date = Field(sa_column=Column(Date, nullable=False))
    census_tract_geoid: str
    tract_eligible: bool
    prevailing_wage_met: bool
    claimed_credit: Decimal | None = Field(default=None, sa_column=_money(nullable=True, default=None))


class SpvTaxYear(SQLModel, table=True):
    """One tax year's books (cents) and the return's status. Depreciation and credits are not stored:
    they follow from the assets. `receipts_source` says where gross receipts came from."""

    __tablename__ = "spv_tax_years"
    __table_args__ = (UniqueConstraint("spv_id", "tax_year"),)

    id: int | None = Field(default=None, primary_key=True)
    spv_id: int = Field(foreign_key="spvs.id", index=True)
    tax_year: int
    gross_receipts: Decimal = Field(default=Decimal(0), sa_column=_money())
    operating_expenses: Decimal = Field(default=Decimal(0), sa_column=_money())
    book_depreciation: Decimal = Field(default=Decimal(0), sa_column=_money())
    distributable_cash: Decimal = Field(default=Decimal(0), sa_column=_money())
    interest_income: Decimal = Field(default=Decimal(0), sa_column=_money())
    ordinary_dividends: Decimal = Field(default=Decimal(0), sa_column=_money())
    tax_exempt_interest: Decimal = Field(default=Decimal(0), sa_column=_money())
    nondeductible_expenses: Decimal = Field(default=Decimal(0), sa_column=_money())
    other_deductions: Decimal = Field(default=Decimal(0), sa_column=_money())
    receipts_source: str = "entered"
    status: ReturnStatusDb = Field(default=ReturnStatusDb.DRAFT, sa_type=str_enum(ReturnStatusDb))
    extended: bool = False
    released_input_sha256: str | None = Field(
        default=None, description="Fingerprint of the return's inputs when released; PDFs must match it"
    )
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SpvBalanceSheet(SQLModel, table=True):
    """Schedule L per books at the end of a tax year; the beginning is the prior year's end (or zero)."""

    __tablename__ = "spv_balance_sheets"
    __table_args__ = (UniqueConstraint("spv_id", "tax_year"),)

    id: int | None = Field(default=None, primary_key=True)
    spv_id: int = Field(foreign_key="spvs.id", index=True)
    tax_year: int
    cash: Decimal = Field(default=Decimal(0), sa_column=_money())
    receivables: Decimal = Field(default=Decimal(0), sa_column=_money())
    other_current_assets: Decimal = Field(default=Decimal(0), sa_column=_money())
    depreciable_assets: Decimal = Field(default=Decimal(0), sa_column=_money())
    accumulated_depreciation: Decimal = Field(default=Decimal(0), sa_column=_money())
    land: Decimal = Field(default=Decimal(0), sa_column=_money())
    other_assets: Decimal = Field(default=Decimal(0), sa_column=_money())
    accounts_payable: Decimal = Field(default=Decimal(0), sa_column=_money())
    short_term_notes: Decimal = Field(default=Decimal(0), sa_column=_money())
    other_current_liabilities: Decimal = Field(default=Decimal(0), sa_column=_money())
    nonrecourse_loans: Decimal = Field(default=Decimal(0), sa_column=_money())
    loans_from_partners: Decimal = Field(default=Decimal(0), sa_column=_money())
    long_term_notes: Decimal = Field(default=Decimal(0), sa_column=_money())
    other_liabilities: Decimal = Field(default=Decimal(0), sa_column=_money())
    partners_capital: Decimal = Field(default=Decimal(0), sa_column=_money())
    liabilities_nonrecourse: Decimal = Field(default=Decimal(0), sa_column=_money())
    liabilities_qualified_nonrecourse: Decimal = Field(default=Decimal(0), sa_column=_money())
    liabilities_recourse: Decimal = Field(default=Decimal(0), sa_column=_money())


class SpvPartnerYear(SQLModel, table=True):
    """A partner's capital contributions in a tax year (distributions follow from the flip's cash shares)."""

    __tablename__ = "spv_partner_years"
    __table_args__ = (UniqueConstraint("partner_id", "tax_year"),)

    id: int | None = Field(default=None, primary_key=True)
    spv_id: int = Field(foreign_key="spvs.id", index=True)
    partner_id: int = Field(foreign_key="spv_partners.id", index=True)
    tax_year: int
    contributed_cash: Decimal = Field(default=Decimal(0), sa_column=_money())


class SpvDocument(SQLModel, table=True):
    """A released PDF, kept byte for byte: what the partner downloads is what was released.

    Why in the database rather than a directory: the document and the status change that produced it
    commit together, and every web worker of a scale-out deployment reads the same bytes.
    `superseded_at` is set when the return goes back to draft (a corrected K-1 replaces it).
    `current_key` ("spv/year/kind/partner", NULL once superseded) is unique, so two first downloads
    at the same instant store one document, not two (the second finds the first's and serves it).
    """

    __tablename__ = "spv_documents"

    id: int | None = Field(default=None, primary_key=True)
    spv_id: int = Field(foreign_key="spvs.id", index=True)
    tax_year: int = Field(index=True)
    partner_id: int | None = Field(default=None, foreign_key="spv_partners.id", index=True)
    kind: str = Field(description="k1 or form1065")
    status: ReturnStatusDb = Field(sa_type=str_enum(ReturnStatusDb))
    filename: str
    sha256: str
    size_bytes: int
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    superseded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    current_key: str | None = Field(default=None, max_length=80, unique=True, index=True)


class SpvReturnEvent(SQLModel, table=True):
    """Audit trail of a year's return: who moved it from which status to which, and when."""

    __tablename__ = "spv_return_events"

    id: int | None = Field(default=None, primary_key=True)
    spv_id: int = Field(foreign_key="spvs.id", index=True)
    tax_year: int
    from_status: ReturnStatusDb = Field(sa_type=str_enum(ReturnStatusDb))
    to_status: ReturnStatusDb = Field(sa_type=str_enum(ReturnStatusDb))
    actor_user_id: int | None = Field(default=None, foreign_key="users.id")
    actor: str
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    note: str = ""


class SpvLifecycleStep(SQLModel, table=True):
    """A step of the SPV's lifecycle (phase, owner, due date); feeds `domain.tax.compliance` alerts."""

    __tablename__ = "spv_lifecycle_steps"
    __table_args__ = (UniqueConstraint("spv_id", "step_key"),)

    id: int | None = Field(default=None, primary_key=True)
    spv_id: int = Field(foreign_key="spvs.id", index=True)
    step_key: str
    phase: str
    title: str
    owner: str
    due: date = Field(sa_column=Column(Date, nullable=False))
    done_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))


class SpvAlertSent(SQLModel, table=True):
    """A compliance alert already mailed, so each goes out once."""

    __tablename__ = "spv_alerts_sent"
    __table_args__ = (UniqueConstraint("spv_id", "alert_key"),)

    id: int | None = Field(default=None, primary_key=True)
    spv_id: int = Field(foreign_key="spvs.id", index=True)
    alert_key: str = Field(max_length=200)
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
