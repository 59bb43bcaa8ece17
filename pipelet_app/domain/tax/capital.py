"""§704(b) (book) and tax-basis capital accounts: the yearly roll-forward per partner.

Why two measures with one shape: the flip, the DRO/QIO test and Schedule M-2 use the §704(b) book
account; since 2020 K-1 item L reports the tax-basis account. Both are "beginning + contributions +
allocated income - allocated losses/deductions - distributions +/- other", so one roll-forward serves
both, fed with book or tax income respectively.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from pipelet_app.domain.tax import errors
from pipelet_app.domain.tax.errors import RuleViolation

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class CapitalMovement:
    """One partner's movements in one year, each to the cent; `net_income` is negative for a loss."""

    contributed_cash: Decimal = ZERO
    contributed_property: Decimal = ZERO
    net_income: Decimal = ZERO
    other_increase: Decimal = ZERO
    other_decrease: Decimal = ZERO
    distributions_cash: Decimal = ZERO
    distributions_property: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class CapitalStatement:
    """A partner's capital account for one year, laid out as K-1 item L / Schedule M-2 lay it out."""

    partner_id: str
    tax_year: int
    beginning: Decimal
    contributed_cash: Decimal
    contributed_property: Decimal
    net_income: Decimal
    other_increase: Decimal
    other_decrease: Decimal
    distributions_cash: Decimal
    distributions_property: Decimal
    ending: Decimal

    @property
    def contributed(self) -> Decimal:
        return self.contributed_cash + self.contributed_property

    @property
    def distributions(self) -> Decimal:
        return self.distributions_cash + self.distributions_property

    @property
    def other_net(self) -> Decimal:
        """Item L "other increase (decrease)": one signed figure on the K-1."""
        return self.other_increase - self.other_decrease


def roll_forward(
    partner_id: str, tax_year: int, beginning: Decimal, movement: CapitalMovement
) -> CapitalStatement:
    """Ending = beginning + contributions + net income + other increases - other decreases - distributions."""
    ending = (
        beginning
        + movement.contributed_cash
        + movement.contributed_property
        + movement.net_income
        + movement.other_increase
        - movement.other_decrease
        - movement.distributions_cash
        - movement.distributions_property
    )
    return CapitalStatement(
        partner_id,
        tax_year,
        beginning,
        movement.contributed_cash,
        movement.contributed_property,
        movement.net_income,
        movement.other_increase,
        movement.other_decrease,
        movement.distributions_cash,
        movement.distributions_property,
        ending,
    )


def roll_forward_years(
    partner_id: str, first_year: int, beginning: Decimal, movements: Sequence[CapitalMovement]
) -> tuple[CapitalStatement, ...]:
    """Chain yearly statements: each year's beginning is the prior year's ending."""
    out: list[CapitalStatement] = []
    balance = beginning
    for offset, movement in enumerate(movements):
        statement = roll_forward(partner_id, first_year + offset, balance, movement)
        out.append(statement)
        balance = statement.ending
    return tuple(out)


def deficit_violations(
    statements: Sequence[CapitalStatement], has_dro: dict[str, bool], has_qio: dict[str, bool]
) -> list[RuleViolation]:
    """A §704(b) deficit is allowed only with a deficit restoration obligation.

    With a qualified income offset alone, allocations may not create or increase a deficit (the
    alternate test for economic effect): the loss must be reallocated to partners with positive
    accounts, so it is reported as a violation to resolve before release.
    """
    out: list[RuleViolation] = []
    for s in statements:
        if s.ending >= 0 or has_dro.get(s.partner_id, False):
            continue
        remedy = errors.Sentence("remedy_qio" if has_qio.get(s.partner_id, False) else "remedy_none")
        out.append(
            errors.violation(
                errors.CAPITAL_DEFICIT,
                f"partner {s.partner_id}.capital_account",
                "capital_deficit",
                year=s.tax_year,
                ending=s.ending,
                remedy=remedy,
            )
        )
    return out
