"""What chargers are told about the price (domain/pricing/display.py): the rate in force follows the
plan's windows in the site's zone, and the OCA California Pricing payloads carry the engine's numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain.pricing import Plan, Rate, Schedule, Window, display

NIGHT = Window("night", Rate(per_kwh=Decimal("0.30")), time(22), time(6), priority=1)
PLAN = Plan(
    base=Rate(per_kwh=Decimal("0.40")),
    session_fee=Decimal("0.50"),
    idle_fee_per_minute=Decimal("0.10"),
    idle_grace_minutes=30,
    windows=(NIGHT,),
)
BERLIN = ZoneInfo("Europe/Berlin")


def test_the_rate_in_force_follows_the_site_clock() -> None:
    schedule = Schedule(PLAN, BERLIN)
    at = lambda h: datetime(2026, 7, 1, h, 30, tzinfo=BERLIN).timestamp()  # noqa: E731
    assert display.rate_at(schedule, at(23)).per_kwh == Decimal("0.30")
    assert display.rate_at(schedule, at(5)).per_kwh == Decimal("0.30")
    assert display.rate_at(schedule, at(12)).per_kwh == Decimal("0.40")


@given(st.integers(min_value=1_700_000_000, max_value=1_900_000_000))
def test_the_rate_in_force_is_always_one_of_the_plans(ts: int) -> None:
    rate = display.rate_at(Schedule(PLAN, BERLIN), float(ts))
    assert rate in {PLAN.base, NIGHT.rate}


def test_running_cost_has_the_whitepapers_fields_and_the_multiplier_applied() -> None:
    payload = display.running_cost(
        42, datetime(2026, 12, 5, 10, 0, tzinfo=UTC), 3000.4, Decimal("1.70"), PLAN.base, PLAN, Decimal("1.1")
    )
    assert (payload["vendorId"], payload["messageId"]) == ("org.openchargealliance.costmsg", "RunningCost")
    data = json.loads(payload["data"])  # 1.6 DataTransfer.data is a string
    assert data == {
        "transactionId": 42,
        "timestamp": "2026-12-05T10:00:00Z",
        "meterValue": 3000,
        "cost": 1.7,
        "state": "Charging",
        "chargingPrice": {"kWhPrice": 0.44, "hourPrice": 0.0, "flatFee": 0.55},
        "idlePrice": {"graceMinutes": 30, "hourPrice": 6.6},
    }


def test_texts_fit_the_display_and_name_the_currency() -> None:
    text = display.rate_text(PLAN.base, PLAN, Decimal(1), "EUR")
    assert text == "0.40 EUR/kWh, 0.50 EUR per session, idle 0.10 EUR/min after 30 min"
    message = display.set_display_message("tx-1", 7, "x" * 600)
    assert len(message["message"]["message"]["content"]) == display.CONTENT_MAX
    assert message["message"]["id"] == display.RUNNING_COST_MESSAGE_BASE + 7
    final = json.loads(display.final_cost(9, Decimal("2.5"), "JPY")["data"])
    assert final == {"transactionId": 9, "cost": 2.5, "priceText": "Total: 3 JPY", "qrCodeText": ""}
