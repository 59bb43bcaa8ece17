"""§30C alternative fuel vehicle refueling property credit, per charging port (Form 8911).

Why per port: since 2023 the $100,000 cap applies per "single item of property" and each charging port
is an item, so a four-port charger has four claims, each with its own basis, tract and date. The credit
also reduces the depreciable basis (§30C(e)(1)), which is why it is computed before depreciation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pipelet_app.domain.tax import errors
from pipelet_app.domain.tax.errors import RuleViolation
from pipelet_app.domain.tax.macrs import to_cent
from pipelet_app.domain.tax.rules import (
    CENSUS_TRACT_GEOID_DIGITS,
    SECTION_30C_BASE_RATE,
    SECTION_30C_CAP_PER_ITEM,
    SECTION_30C_EFFECTIVE_FROM,
    SECTION_30C_LAST_PLACED_IN_SERVICE,
    SECTION_30C_PWA_RATE,
    rule_on,
)


@dataclass(frozen=True, slots=True)
class PortClaim:
    """One charging port's §30C claim.

    `tract_eligible` is an input, not computed: eligibility (low-income or non-urban 2020 census tract)
    comes from the Treasury/DOE tract lists the operator checks; we require the 11-digit GEOID so the
    claim can be audited. `prevailing_wage_met` means the 30 % rate applies (prevailing wage and
    apprenticeship requirements met, or the project is exempt from them); that determination is the
    operator's. `claimed_credit`, when given, is what the user asks for and is checked against the rate
    and the cap; when None the maximum allowed is computed.
    """

    port_id: str
    basis: Decimal
    placed_in_service: date
    census_tract_geoid: str
    tract_eligible: bool
    prevailing_wage_met: bool
    claimed_credit: Decimal | None = None


@dataclass(frozen=True, slots=True)
class PortCredit:
    """The credit allowed for a port and the basis left for depreciation."""

    port_id: str
    basis: Decimal
    rate: Decimal
    credit: Decimal
    reduced_basis: Decimal


def validate_port(claim: PortClaim) -> list[RuleViolation]:
    """Every rule the claim breaks, named: deadline, tract, cap (against `claimed_credit`)."""
    field = f"port {claim.port_id}"
    out: list[RuleViolation] = []
    if claim.basis < 0:
        out.append(errors.violation(errors.C30_BASIS, f"{field}.basis", "basis_negative"))
    if claim.placed_in_service > SECTION_30C_LAST_PLACED_IN_SERVICE:
        out.append(
            errors.violation(
                errors.C30_DEADLINE,
                f"{field}.placed_in_service",
                "after_30c_deadline",
                day=claim.placed_in_service,
                deadline=SECTION_30C_LAST_PLACED_IN_SERVICE,
            )
        )
    elif claim.placed_in_service < SECTION_30C_EFFECTIVE_FROM:
        out.append(
            errors.violation(
                errors.C30_BEFORE_EFFECTIVE,
                f"{field}.placed_in_service",
                "before_30c_effective",
                day=SECTION_30C_EFFECTIVE_FROM,
            )
        )
    geoid = claim.census_tract_geoid
    if not (len(geoid) == CENSUS_TRACT_GEOID_DIGITS and geoid.isdigit()):
        out.append(errors.violation(errors.C30_TRACT, f"{field}.census_tract_geoid", "geoid", geoid=geoid))
    elif not claim.tract_eligible:
        out.append(
            errors.violation(errors.C30_TRACT, f"{field}.tract_eligible", "tract_ineligible", geoid=geoid)
        )
    if not out and claim.claimed_credit is not None:
        allowed = _allowed(claim)
        if claim.claimed_credit > allowed:
            cap = rule_on(SECTION_30C_CAP_PER_ITEM, claim.placed_in_service).value
            out.append(
                errors.violation(
                    errors.C30_CAP,
                    f"{field}.claimed_credit",
                    "credit_cap",
                    claimed=claim.claimed_credit,
                    allowed=allowed,
                    cap=cap,
                )
            )
    return out


def _allowed(claim: PortClaim) -> Decimal:
    day = claim.placed_in_service
    rate = rule_on(SECTION_30C_PWA_RATE if claim.prevailing_wage_met else SECTION_30C_BASE_RATE, day).value
    cap = rule_on(SECTION_30C_CAP_PER_ITEM, day).value
    return min(to_cent(claim.basis * rate), cap)


def port_credit(claim: PortClaim) -> PortCredit:
    """Credit for one valid port claim (raises `TaxValidationError` naming every rule broken)."""
    errors.raise_if(validate_port(claim))
    day = claim.placed_in_service
    rate = rule_on(SECTION_30C_PWA_RATE if claim.prevailing_wage_met else SECTION_30C_BASE_RATE, day).value
    credit = claim.claimed_credit if claim.claimed_credit is not None else _allowed(claim)
    return PortCredit(claim.port_id, claim.basis, rate, credit, claim.basis - credit)


def credits_for(claims: Sequence[PortClaim]) -> tuple[PortCredit, ...]:
    """All ports' credits, refusing the batch if any claim breaks a rule (all violations reported)."""
    violations = [v for claim in claims for v in validate_port(claim)]
    errors.raise_if(violations)
    return tuple(port_credit(claim) for claim in claims)
