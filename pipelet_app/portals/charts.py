"""Chart numbers in the page's language: recharts formats axis ticks and tooltip values in the browser,
where Python's babel (i18n/formatting.py) does not reach, so the charts format them with the browser's
`Intl.NumberFormat` in the language of the page (`<html lang>`, set from the reader's locale by the
layout): `1,234.5` on an English page, `1.234,5` on a German one. Every chart's numeric axis and tooltip
uses these two, so no chart falls back to the browser's English `toString`.
"""

from __future__ import annotations

import reflex as rx

# One function body for axis ticks and tooltip values; a non-number (a month, a time) passes unchanged.
_FORMAT = "new Intl.NumberFormat(document.documentElement.lang || 'en', {maximumFractionDigits: 1}).format(v)"
LOCALE_TICK = f"(v) => (typeof v === 'number' ? {_FORMAT} : v)"


def locale_y_axis(**props) -> rx.Component:
    """A y axis whose tick labels are written in the page's language."""
    return rx.recharts.y_axis(tick_formatter=LOCALE_TICK, **props)


def locale_tooltip(graphing: bool = False) -> rx.Component:
    """The chart's tooltip with its values in the page's language (recharts' `formatter` prop)."""
    make = rx.recharts.graphing_tooltip if graphing else rx.recharts.tooltip
    return make(custom_attrs={"formatter": rx.Var(_js_expr=LOCALE_TICK)})
