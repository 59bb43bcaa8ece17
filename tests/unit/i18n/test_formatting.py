"""Numbers, money and times in the reader's language through i18n/formatting.py (babel/CLDR)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.i18n import formatting as f

MOMENT = datetime(2026, 12, 5, 6, 52, tzinfo=UTC)


def test_english_keeps_the_forms_pages_and_exports_already_use() -> None:
    assert f.current_locale() == "en"
    assert f.kwh(1_490_800) == "1,490.8"
    assert f.money(Decimal("1490.8"), "EUR") == "1,490.80 EUR"
    assert f.money(Decimal("0.3012"), "EUR", 4) == "0.3012 EUR"
    assert f.when(MOMENT, "Europe/Berlin") == "2026-12-05 07:52 CET"
    assert f.percent(0.42) == "42 %"
    assert f.hours(1_124_640) == "312.4 h"


def test_german_writes_numbers_money_and_dates_the_german_way() -> None:
    with f.in_locale("de"):
        assert f.kwh(1_490_800) == "1.490,8"
        assert f.money(Decimal("1490.8"), "EUR") == "1.490,80 €"
        assert f.money(Decimal("0.3012"), "EUR", 4) == "0,3012 €"
        assert f.when(MOMENT, "Europe/Berlin") == "05.12.2026 07:52 MEZ"
        assert f.clock_time(MOMENT, "Europe/Berlin") == "07:52"
        assert f.day(date(2026, 12, 5)) == "05.12.2026"
        assert f.month(date(2026, 12, 1)) == "Dezember 2026"
        assert f.hours(1_124_640) == "312,4 h"
    assert f.kwh(1_490_800) == "1,490.8"  # the language ends with the block


def test_money_keeps_the_currency_s_own_unit() -> None:
    assert f.money(Decimal("1490"), "JPY") == "1,490 JPY"
    with f.in_locale("de"):
        assert f.money(Decimal("12.5"), "USD") == "12,50 $"


def test_unknown_language_and_zone_fall_back_instead_of_failing() -> None:
    with f.in_locale("xx"):
        assert f.kwh(1000) == "1.0"
        assert f.when(MOMENT, "Mars/Olympus") == "2026-12-05 06:52 UTC"
    assert f.when(None) == "—" and f.money(None, "EUR") == "—" and f.percent(None) == "—"


def test_a_language_set_on_one_thread_does_not_leak_into_another() -> None:
    seen: list[str] = []
    with f.in_locale("de"):
        worker = threading.Thread(target=lambda: seen.append(f.kwh(1_490_800)))
        worker.start()
        worker.join()
        assert f.kwh(1_490_800) == "1.490,8"
    assert seen == ["1,490.8"]


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=1, allow_nan=False))
def test_german_and_english_differ_only_in_separators(value: Decimal) -> None:
    english = f.number(value, 1)
    with f.in_locale("de"):
        german = f.number(value, 1)
    swapped = english.replace(",", "_").replace(".", ",").replace("_", ".")
    assert german == swapped
    assert Decimal(english.replace(",", "")) == value


def test_dollars_and_shares_follow_the_language_and_keep_the_forms_parentheses() -> None:
    """The investor service's figures (page and API): English exactly as before, German the German way."""
    assert f.usd(Decimal("1234.5")) == "$1,234.50"
    assert f.usd(Decimal("-1234.5")) == "($1,234.50)"
    assert f.percent(Decimal("0.08127"), 2) == "8.13 %"
    with f.in_locale("de"):
        assert f.usd(Decimal("1234.5")) == "1.234,50 $"
        assert f.usd(Decimal("-1234.5")) == "(1.234,50 $)"
        assert f.percent(Decimal("0.08127"), 2) == "8,13 %"
        assert f.percent(0.5) == "50 %"


def test_every_time_names_its_zone_in_the_reader_s_words() -> None:
    """A local time and a UTC one on one page are never both unlabelled: `when` always names the zone."""
    summer = datetime(2031, 7, 15, 12, 0, tzinfo=UTC)
    assert f.when(summer, "Europe/Berlin") == "2031-07-15 14:00 CEST"
    assert f.when(summer, "America/New_York") == "2031-07-15 08:00 EDT"
    assert f.when(summer) == "2031-07-15 12:00 UTC"
    assert f.when(summer, "Europe/Berlin", zone=False) == "2031-07-15 14:00"
    with f.in_locale("de"):
        assert f.when(summer, "Europe/Berlin") == "15.07.2031 14:00 MESZ"
        assert f.when(summer, "America/New_York") == "15.07.2031 08:00 EDT"  # no German name: the tz's


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)))
def test_a_labelled_time_is_the_unlabelled_one_plus_a_zone_name(moment: datetime) -> None:
    for tz in ("Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata"):
        plain, labelled = f.when(moment, tz, zone=False), f.when(moment, tz)
        assert labelled.startswith(plain + " ") and len(labelled) > len(plain) + 1
