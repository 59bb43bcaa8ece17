"""The two partners of the flip tests' worked example (test_tax_capital_flip.py), for every test whose deal
is that one or a variant of it (`dataclasses.replace`): pre-flip the investor has 99 % of tax items and
90 % of cash, post-flip 5 % of both; both carry a deficit restoration obligation."""

from __future__ import annotations

from decimal import Decimal

from pipelet_app.domain.tax.flip import PartnerTerms, Role

INVESTOR = PartnerTerms(
    "INV", Role.INVESTOR, Decimal("0.99"), Decimal("0.05"), Decimal("0.90"), Decimal("0.05"), has_dro=True
)
SPONSOR = PartnerTerms(
    "DEV", Role.SPONSOR, Decimal("0.01"), Decimal("0.95"), Decimal("0.10"), Decimal("0.95"), has_dro=True
)
