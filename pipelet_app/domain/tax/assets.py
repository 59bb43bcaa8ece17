"""An SPV's depreciable assets: §30C basis reduction, bonus, then MACRS, per tax year.

Why the order matters: the §30C credit reduces basis first; bonus is taken on the reduced basis; MACRS
recovers what bonus leaves. The mid-quarter test looks at all assets placed in service in the same tax
year together, so schedules are built per placement year, never asset by asset in isolation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from pipelet_app.domain.tax import errors
from pipelet_app.domain.tax.bonus import BonusElection, bonus_rate
from pipelet_app.domain.tax.credits import PortClaim, PortCredit, credits_for, validate_port
from pipelet_app.domain.tax.errors import RuleViolation
from pipelet_app.domain.tax.macrs import (
    ConventionChoice,
    DepreciationYear,
    PlacedBasis,
    TaxYear,
    choose_convention,
    macrs_schedule,
    to_cent,
)
from pipelet_app.domain.tax.rules import MACRS_CLASSES, Convention


@dataclass(frozen=True, slots=True)
class Asset:
    """A charger, site build-out or other depreciable property owned by the SPV.

    `recovery_class` has no default on purpose: EV chargers are filed as 5- or 7-year property in
    practice and no authority settles it, so the operator must choose per asset. `cost_basis` is the
    full basis; the part attributable to each charging port's §30C claim is in `ports` (port bases are
    part of, not in addition to, the cost basis).
    """

    asset_id: str
    description: str
    cost_basis: Decimal
    acquired: date
    placed_in_service: date
    recovery_class: int
    ports: tuple[PortClaim, ...] = ()
    bonus_election: BonusElection = BonusElection.DEFAULT


@dataclass(frozen=True, slots=True)
class AssetDepreciation:
    """Everything the depreciation schedule and Form 4562/8911 need for one asset."""

    asset: Asset
    credits: tuple[PortCredit, ...]
    credit_total: Decimal
    depreciable_basis: Decimal
    convention: Convention
    bonus_rate: Decimal
    bonus_source: str
    bonus_amount: Decimal
    schedule: tuple[DepreciationYear, ...]
    """MACRS on the basis left after bonus; bonus itself is taken in the placed-in-service tax year."""

    def deduction_in(self, tax_year: int) -> Decimal:
        first = self.schedule[0].tax_year if self.schedule else None
        total = sum((row.amount for row in self.schedule if row.tax_year == tax_year), Decimal(0))
        if first == tax_year:
            total += self.bonus_amount
        return total


@dataclass(frozen=True, slots=True)
class AssetRegister:
    """All assets' depreciation, plus the convention decision of each placement year."""

    assets: tuple[AssetDepreciation, ...]
    conventions: dict[int, ConventionChoice] = field(default_factory=dict)
    first_month: int = 1
    """First month of the SPV's tax year (1 = calendar); years are labelled by the year they begin."""

    def depreciation(self, tax_year: int) -> Decimal:
        return sum((a.deduction_in(tax_year) for a in self.assets), Decimal(0))

    def credits_placed_in(self, tax_year: int) -> Decimal:
        """§30C credits of ports placed in service in `tax_year` (Form 8911 -> Schedule K line 15)."""
        return sum(
            (
                c.credit
                for a in self.assets
                for c, claim in zip(a.credits, a.asset.ports, strict=True)
                if self._tax_year_of(claim.placed_in_service) == tax_year
            ),
            Decimal(0),
        )

    def depreciable_cost(self, through_year: int) -> Decimal:
        return sum(
            (
                a.asset.cost_basis
                for a in self.assets
                if self._tax_year_of(a.asset.placed_in_service) <= through_year
            ),
            Decimal(0),
        )

    def accumulated_depreciation(self, through_year: int) -> Decimal:
        return sum(
            (a.deduction_in(y) for a in self.assets for y in range(a.schedule[0].tax_year, through_year + 1)),
            Decimal(0),
        )

    def _tax_year_of(self, day: date) -> int:
        return TaxYear.containing(day, self.first_month).year


def validate_assets(assets: Sequence[Asset], first_month: int = 1) -> list[RuleViolation]:
    """Input checks: classes, dates, port bases within the cost basis, one bonus election per class."""
    out: list[RuleViolation] = []
    for asset in assets:
        name = f"asset {asset.asset_id}"
        if asset.recovery_class not in MACRS_CLASSES:
            out.append(
                errors.violation(
                    errors.MACRS_CLASS,
                    f"{name}.recovery_class",
                    "recovery_class_held",
                    recovery_class=asset.recovery_class,
                    held=MACRS_CLASSES,
                )
            )
        if asset.placed_in_service < asset.acquired:
            out.append(
                errors.violation(
                    errors.PIS_AFTER_ACQUIRED,
                    f"{name}.placed_in_service",
                    "before_acquired",
                    day=asset.placed_in_service,
                    acquired=asset.acquired,
                )
            )
        port_basis = sum((p.basis for p in asset.ports), Decimal(0))
        if port_basis > asset.cost_basis:
            out.append(
                errors.violation(
                    errors.C30_BASIS, f"{name}.ports", "port_bases", ports=port_basis, basis=asset.cost_basis
                )
            )
        year = TaxYear.containing(asset.placed_in_service, first_month).year
        for port in asset.ports:
            # The credit reduces the asset's basis in the year the asset is placed in service, so a port
            # must go into service in that same tax year (a later port is a separate asset).
            if TaxYear.containing(port.placed_in_service, first_month).year != year:
                out.append(
                    errors.violation(
                        errors.PIS_IN_YEAR,
                        f"port {port.port_id}.placed_in_service",
                        "port_year",
                        day=port.placed_in_service,
                        year=year,
                    )
                )
    # Bonus elections (out, or 40 % instead of 100 %) are made per class of property per tax year
    # (§168(k)(7), (k)(10)): every asset of a class placed in service in a year must carry the same one.
    elections: dict[tuple[int, int], set[BonusElection]] = defaultdict(set)
    for asset in assets:
        label = TaxYear.containing(asset.placed_in_service, first_month).year
        elections[(label, asset.recovery_class)].add(asset.bonus_election)
    for (year, recovery_class), chosen in sorted(elections.items()):
        if len(chosen) > 1:
            out.append(
                errors.violation(
                    errors.BONUS_ELECTION,
                    f"assets[{year}, {recovery_class}-year].bonus_election",
                    "one_election",
                    elections=sorted(e.value for e in chosen),
                )
            )
    return out


def build_register(assets: Sequence[Asset], first_month: int = 1) -> AssetRegister:
    """Credits, bonus and MACRS schedules, refusing inputs that break a rule.

    Assets are grouped by the tax year (beginning on the 1st of `first_month`; labelled by the year it
    begins in) they were placed in service in; the 40 % test runs on each group with the basis after
    the §30C reduction. Short tax years are not supported (the tables assume twelve months).
    """
    violations = validate_assets(assets, first_month)
    for asset in assets:
        violations.extend(v for claim in asset.ports for v in validate_port(claim))
    errors.raise_if(violations)

    by_year: dict[int, list[Asset]] = defaultdict(list)
    for asset in assets:
        by_year[TaxYear.containing(asset.placed_in_service, first_month).year].append(asset)

    conventions: dict[int, ConventionChoice] = {}
    results: list[AssetDepreciation] = []
    for year, group in sorted(by_year.items()):
        tax_year = TaxYear.starting(year, first_month)
        credits = {a.asset_id: credits_for(a.ports) for a in group}
        reduced = {
            a.asset_id: a.cost_basis - sum((c.credit for c in credits[a.asset_id]), Decimal(0)) for a in group
        }
        choice = choose_convention(
            tax_year, [PlacedBasis(a.asset_id, a.placed_in_service, reduced[a.asset_id]) for a in group]
        )
        conventions[year] = choice
        for asset in group:
            decision = bonus_rate(asset.acquired, asset.placed_in_service, asset.bonus_election, tax_year.end)
            basis = reduced[asset.asset_id]
            bonus_amount = to_cent(basis * decision.rate)
            convention = choice.conventions[asset.asset_id]
            schedule = macrs_schedule(
                basis - bonus_amount, asset.recovery_class, convention, year, asset.placed_in_service
            )
            credit_total = sum((c.credit for c in credits[asset.asset_id]), Decimal(0))
            results.append(
                AssetDepreciation(
                    asset,
                    credits[asset.asset_id],
                    credit_total,
                    basis,
                    convention,
                    decision.rate,
                    decision.source,
                    bonus_amount,
                    schedule,
                )
            )
    return AssetRegister(tuple(results), conventions, first_month)


@dataclass(frozen=True, slots=True)
class DepreciationRow:
    """One asset's line of the depreciation schedule the investor portal and the operator show."""

    asset_id: str
    description: str
    placed_in_service: date
    recovery_class: int
    convention: Convention
    cost_basis: Decimal
    credit: Decimal
    depreciable_basis: Decimal
    bonus_rate: Decimal
    bonus_amount: Decimal
    by_year: dict[int, Decimal]
    """Total deduction (bonus + MACRS) per tax year, every year of the recovery period."""


def depreciation_table(register: AssetRegister) -> tuple[DepreciationRow, ...]:
    """The register as schedule rows, in placed-in-service order; each row's years sum to its basis."""
    rows = []
    for a in sorted(register.assets, key=lambda d: (d.asset.placed_in_service, d.asset.asset_id)):
        years = [row.tax_year for row in a.schedule]
        rows.append(
            DepreciationRow(
                asset_id=a.asset.asset_id,
                description=a.asset.description,
                placed_in_service=a.asset.placed_in_service,
                recovery_class=a.asset.recovery_class,
                convention=a.convention,
                cost_basis=a.asset.cost_basis,
                credit=a.credit_total,
                depreciable_basis=a.depreciable_basis,
                bonus_rate=a.bonus_rate,
                bonus_amount=a.bonus_amount,
                by_year={year: a.deduction_in(year) for year in years},
            )
        )
    return tuple(rows)
