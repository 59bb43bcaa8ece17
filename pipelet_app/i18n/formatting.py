"""Turning rows into the plain values a page shows, in the reader's language: the one place where numbers,
money, dates and times become text (babel's CLDR data: `1,490.8` in English, `1.490,8` in German).
It lives in i18n (not portals) so services that answer both a page and the API (the investor service)
format through it too.

The language is the page's: `SessionState` runs every guarded action inside `in_locale(its locale)`, so
the data functions call `kwh(...)` or `when(...)` without passing it through every signature. Outside a
page (a CSV, an API answer, a PDF) nothing sets it and the output is the English form, as before.
English dates stay ISO-like (`2026-12-05 07:52`): sortable, and what the exports say.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.numbers import format_currency, parse_pattern

_locale: ContextVar[str] = ContextVar("pipelet_display_locale", default="en")
_DATETIME = {"en": "yyyy-MM-dd HH:mm", "de": "dd.MM.yyyy HH:mm"}
_DATE = {"en": "yyyy-MM-dd", "de": "dd.MM.yyyy"}
_MONTH = {"en": "MMMM yyyy", "de": "MMMM yyyy"}


# A table of a few hundred figures formats each one: parse each pattern and locale once, not per cell
# (babel's format_decimal parses both on every call: ~230 µs against ~35 µs; measured, benchmarks/portals).
_pattern = lru_cache(maxsize=64)(parse_pattern)
_babel_locale = lru_cache(maxsize=8)(Locale.parse)


@contextmanager
def in_locale(locale: str) -> Iterator[None]:
    """Format everything inside in `locale` (a code of `LOCALES`; anything else falls back to English)."""
    token = _locale.set(locale if locale in _DATETIME else "en")
    try:
        yield
    finally:
        _locale.reset(token)


def current_locale() -> str:
    return _locale.get()


def number(value: float | Decimal | None, digits: int = 1) -> str:
    """A decimal with grouping and exactly `digits` places; `None` as a dash."""
    if value is None:
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return _pattern(pattern).apply(value, _babel_locale(current_locale()))


def editable(value: float | None, places: int = 3) -> str:
    """A number to prefill a text field with, as the reader types it: the locale's decimal mark, no
    grouping (the forms read `12,5` and `12.5` alike), up to `places` places; `None` as empty."""
    if value is None:
        return ""
    return _pattern("0." + "#" * places).apply(value, _babel_locale(current_locale()))


def page_span(offset: int, shown: int, total: int) -> str:
    """Which rows of how many a paged list shows: `51-100 / 1,000` (with an en dash)."""
    first, last = number(offset + 1 if shown else 0, 0), number(offset + shown, 0)
    return f"{first}\N{EN DASH}{last} / {number(total, 0)}"


def kwh(wh: float | None) -> str:
    return number((wh or 0) / 1000, 1)


def watts(power_w: float | None) -> str:
    """A power in kW with one place (`7.4 kW` / `7,4 kW`); unknown as a dash."""
    return "—" if power_w is None else f"{number(power_w / 1000, 1)} kW"


def hours(seconds: float) -> str:
    return f"{number(seconds / 3600, 1)} h"


def money(amount: float | Decimal | None, currency: str, digits: int | None = None) -> str:
    """An amount with its currency: `1,490.80 EUR` in English (the code: unambiguous across currencies),
    `1.490,80 €` in German; `digits` for a rate finer than the currency's unit (`0,3012 €`)."""
    if amount is None:
        return "—"
    fraction = "." + "0" * digits if digits else ".00"
    pattern = "#,##0" + fraction + (" ¤¤" if current_locale() == "en" else " ¤")
    return format_currency(
        amount, currency, format=pattern, locale=current_locale(), currency_digits=digits is None
    )


def _zone(tz: str) -> ZoneInfo:
    """A zone name nobody knows (an inverter cloud's, say) falls back to UTC."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def zone_name(moment: datetime, tz: str = "UTC") -> str:
    """The zone's short name at that moment, as people there say it: `MEZ`/`MESZ` in German, `CET`/`CEST`
    in English (CLDR where it has a name in the language, else the tz database's abbreviation: `EDT`,
    `UTC`, or an offset like `+0530` where a zone has none)."""
    local = moment.astimezone(_zone(tz))
    name = format_datetime(local, "z", locale=current_locale())
    if name[:1] in "+-" or name.startswith("GMT"):
        name = local.tzname() or name
    return name


def when(moment: datetime | None, tz: str = "UTC", *, zone: bool = True) -> str:
    """Minutes in zone `tz`, the zone named after them (`2026-12-05 07:52 CET`): a time on a page always
    says which clock it is on, so a site's local time and a UTC one never stand side by side unlabelled.
    `zone=False` only where the zone is named once for a whole table or chart."""
    if moment is None:
        return "—"
    local = moment.astimezone(_zone(tz))
    text = format_datetime(local, _DATETIME[current_locale()], locale=current_locale())
    return f"{text} {zone_name(moment, tz)}" if zone else text


def clock_time(moment: datetime, tz: str = "UTC") -> str:
    """Hours and minutes in zone `tz` (a chart axis)."""
    return format_time(moment.astimezone(_zone(tz)), "HH:mm", locale=current_locale())


def day(value: date | None) -> str:
    return "—" if value is None else format_date(value, _DATE[current_locale()], locale=current_locale())


def month(value: date) -> str:
    """`December 2026` / `Dezember 2026`."""
    return format_date(value, _MONTH[current_locale()], locale=current_locale())


def percent(share: float | Decimal | None, digits: int = 0) -> str:
    """A share (0.42) as `42 %`; `digits` places (`42.37 %` / `42,37 %`)."""
    return "—" if share is None else f"{number(Decimal(str(share)) * 100, digits)} %"


def usd(value: Decimal) -> str:
    """US dollars to the cent, negatives in parentheses as on the tax forms: `($1,234.50)` in English
    (what the API and the forms have always said), `(1.234,50 $)` in German."""
    if current_locale() == "en":
        text = f"${abs(value):,.2f}"
    else:
        text = format_currency(abs(value), "USD", format="#,##0.00 ¤", locale=current_locale())
    return f"({text})" if value < 0 else text


def shown(value: object) -> str:
    """A value inside a sentence (a rule's explanation, an alert) as the page writes it: a date as a day,
    a decimal with grouping and its own places (`12.000,50` / `12,000.50`), anything else (a year, a count,
    an id, a list of them) as it is: years are not grouped."""
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, date):
        return day(value)
    if isinstance(value, float):
        value = Decimal(str(value))
    if isinstance(value, Decimal) and value.is_finite():
        exponent = value.as_tuple().exponent
        return number(value, max(0, -exponent) if isinstance(exponent, int) else 0)
    return str(value)
