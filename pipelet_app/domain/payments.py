"""How a pre-authorised card payment settles when its session ends. Pure: Decimal money, no I/O.

Rules (docs/payments.md):
- A session that delivered less than `FREE_BELOW_WH` (2 kWh) is free: the authorisation is cancelled.
- Otherwise the final price is captured, but never more than was authorised: the card only holds that
  much. What the price exceeds it by is the `shortfall`, recorded for the operator, not collected.
- A price that is unknown (no plan, no register) or zero captures nothing: the authorisation is
  cancelled (Stripe refuses a capture of 0).
- Card networks count in minor units (cents); `to_minor` / `from_minor` convert exactly with the
  currency's exponent (0 for JPY, 3 for BHD ...), so an amount is never rounded on its way to Stripe.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pipelet_app.domain.pricing.engine import quantum

FREE_BELOW_WH = 2000.0
ZERO = Decimal(0)


@dataclass(frozen=True)
class Settlement:
    """What to do with an authorisation: capture `capture` (> 0) or cancel it (`capture` is 0)."""

    capture: Decimal
    shortfall: Decimal
    reason: str  # why, in words for the operator and the receipt

    @property
    def cancel(self) -> bool:
        return self.capture == ZERO


def settle(price: Decimal | None, energy_wh: float, authorized: Decimal) -> Settlement:
    """The settlement of a finished session priced `price` (None: unknown) against `authorized`."""
    if authorized < ZERO:
        raise ValueError("authorized: must be >= 0")
    if energy_wh < FREE_BELOW_WH:
        return Settlement(ZERO, ZERO, f"under {FREE_BELOW_WH / 1000:g} kWh: free, authorisation cancelled")
    if price is None:
        return Settlement(ZERO, ZERO, "no price for this session: authorisation cancelled")
    if price < ZERO:
        raise ValueError("price: must be >= 0")
    if price == ZERO:
        return Settlement(ZERO, ZERO, "price 0: authorisation cancelled")
    capture = min(price, authorized)
    shortfall = price - capture
    reason = "captured the final price" if not shortfall else "captured the authorised amount; shortfall"
    return Settlement(capture, shortfall, reason)


def exponent(currency: str) -> int:
    return -quantum(currency).as_tuple().exponent  # type: ignore[operator]


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount in the currency's minor unit (EUR 12.34 -> 1234); refuses what does not fit exactly."""
    minor = amount.scaleb(exponent(currency))
    if minor != minor.to_integral_value():
        raise ValueError(f"amount: {amount} has more decimals than {currency} allows")
    return int(minor)


def from_minor(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency)).quantize(quantum(currency))
