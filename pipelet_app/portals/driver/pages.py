"""Driver portal landing page."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.charts import locale_tooltip, locale_y_axis
from pipelet_app.portals.driver.pv_pages import data_source_tiles
from pipelet_app.portals.driver.state import DriverSessionState, DriverState
from pipelet_app.portals.layout import card, data_table, row_table, shell, source_badge, when_empty

T = DriverState.tr


def _total(row: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            source_badge(row["source"]),
            rx.text(row["energy_kwh"], " kWh", size="6", weight="bold"),
            spacing="2",
        )
    )


SOLAR_COLOR, GRID_COLOR = "#b45309", "#64748b"


def _session_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row["start"], href="/driver/sessions/" + row["id"], class_name="session-link")),
        rx.table.cell(row["station"]),
        rx.table.cell(source_badge(row["source"])),
        rx.table.cell(row["energy_kwh"]),
        rx.table.cell(row["solar_share"]),
    )


def _period_form() -> rx.Component:
    return rx.form(
        rx.flex(
            rx.vstack(
                rx.el.label(T["driver.from"], html_for="driver-start"),
                rx.input(
                    type="date",
                    name="start",
                    default_value=DriverState.start,
                    id="driver-start",
                    key=DriverState.start,
                ),
                spacing="1",
            ),
            rx.vstack(
                rx.el.label(T["driver.to"], html_for="driver-end"),
                rx.input(
                    type="date",
                    name="end",
                    default_value=DriverState.end,
                    id="driver-end",
                    key=DriverState.end,
                ),
                spacing="1",
            ),
            rx.button(T["fleet.apply"], type="submit", variant="soft", id="driver-apply"),
            # A plain document download (a router link would navigate client-side to a missing page).
            rx.el.a(
                rx.button(T["fleet.export_csv"], variant="outline", type="button"),
                href=DriverState.export_url,
                download="my-charging-sessions.csv",
                reload_document=True,
                id="driver-export",
            ),
            spacing="3",
            align="end",
            wrap="wrap",
        ),
        on_submit=DriverState.set_period,
    )


def _months_card() -> rx.Component:
    """Solar and grid energy per month, and the solar share in words: the driver's first question."""
    return card(
        T["driver.solar_by_month"],
        rx.cond(
            DriverState.months.length() > 0,
            rx.vstack(
                rx.recharts.bar_chart(
                    rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
                    rx.recharts.x_axis(data_key="month"),
                    locale_y_axis(unit=" kWh", width=80),
                    locale_tooltip(),
                    rx.recharts.legend(),
                    rx.recharts.bar(data_key="solar", name=T["driver.solar"], stack_id="e", fill=SOLAR_COLOR),
                    rx.recharts.bar(data_key="grid", name=T["driver.grid"], stack_id="e", fill=GRID_COLOR),
                    data=DriverState.months,
                    width="100%",
                    height=220,
                ),
                data_table(
                    [
                        (T["charger.month"], "month"),
                        (T["col.energy"], "energy_kwh"),
                        (T["driver.solar_kwh"], "solar_kwh"),
                        (T["col.solar_share"], "solar_share"),
                    ],
                    DriverState.months,
                    "driver-months",
                ),
                width="100%",
            ),
            rx.text(T["common.no_data"], color_scheme="gray"),
        ),
    )


def _preferences_form(row: rx.Var) -> rx.Component:
    """One running session: how it should charge (the site's solar controller reads it). Element ids end
    in the session's `key`: a driver may have two sessions running, and ids must be unique."""
    return rx.form(
        rx.el.input(type="hidden", name="transaction_id", value=row["transaction_id"]),
        rx.hstack(
            rx.vstack(rx.text(T["col.station"], size="2"), rx.text(row["station"], weight="bold")),
            # live: what the session has delivered and its power now (server push, portals/live.py)
            rx.vstack(
                rx.text(T["col.energy"], size="2"),
                rx.text(row["delivered"], weight="bold", class_name="running-energy"),
            ),
            rx.vstack(
                rx.text(T["charger.power"], size="2"),
                rx.text(row["power"], weight="bold", class_name="running-power"),
            ),
            rx.vstack(
                rx.text(T["prefs.mode"], size="2"),
                rx.select.root(
                    rx.select.trigger(id="prefs-mode-" + row["key"], aria_label=T["prefs.mode"]),
                    rx.select.content(
                        rx.select.item(T["prefs.mode_site"], value="site"),
                        *[
                            rx.select.item(T[f"mode.{m}"], value=m)
                            for m in ("pv-only", "pv-priority", "eco-plus")
                        ],
                    ),
                    name="mode",
                    default_value=row["mode"],
                ),
            ),
            rx.vstack(
                rx.text(T["prefs.departure"], " (", row["zone"], ")", size="2"),
                rx.input(
                    type="datetime-local",
                    name="departure",
                    default_value=row["departure"],
                    id="prefs-departure-" + row["key"],
                    aria_label=T["prefs.departure"],
                ),
            ),
            rx.vstack(
                rx.text(T["prefs.energy"], size="2"),
                rx.input(
                    name="energy_kwh",
                    default_value=row["energy_kwh"],
                    width="7em",
                    id="prefs-energy-" + row["key"],
                    aria_label=T["prefs.energy"],
                ),
            ),
            rx.button(T["prefs.save"], type="submit", id="prefs-save-" + row["key"]),
            align="end",
            spacing="4",
            wrap="wrap",
        ),
        on_submit=DriverState.save_preferences,
        key=row["transaction_id"] + row["mode"] + row["departure"] + row["energy_kwh"],
        width="100%",
    )


def _running_card() -> rx.Component:
    return rx.cond(
        DriverState.running.length() > 0,
        card(
            T["prefs.title"],
            rx.cond(
                DriverState.prefs_error != "",
                rx.callout(DriverState.prefs_error, color_scheme="red", id="prefs-error"),
            ),
            rx.cond(
                DriverState.prefs_saved, rx.text(T["prefs.saved"], color_scheme="green", id="prefs-saved")
            ),
            rx.foreach(DriverState.running, _preferences_form),
            rx.text(T["prefs.hint"], size="1", color_scheme="gray"),
        ),
    )


def driver_page() -> rx.Component:
    return shell(
        T["driver.title"],
        rx.box(on_unmount=DriverState.unfollow, display="none"),  # leaving the page ends its live follower
        _running_card(),
        data_source_tiles(),
        card(
            T["driver.period"],
            _period_form(),
            rx.cond(
                DriverState.period_error != "",
                rx.callout(DriverState.period_error, color_scheme="red", id="driver-period-error"),
            ),
            rx.hstack(rx.foreach(DriverState.totals, _total), spacing="4", wrap="wrap"),
        ),
        _months_card(),
        card(
            T["driver.recent"],
            rx.text(T["driver.sessions_hint"], size="1", color_scheme="gray"),
            row_table(
                ("col.when", "col.station", "col.source", "col.energy", "col.solar_share"),
                DriverState.sessions,
                _session_row,
                "driver-sessions",
            ),
            when_empty(DriverState.sessions, T["driver.no_sessions"]),
        ),
        card(
            T["driver.tokens"],
            data_table(
                [(T["col.token"], "token"), (T["col.status"], "status")],
                DriverState.tokens,
                "driver-tokens",
                coded={"status": "token_status"},
            ),
        ),
    )


def _fact(label: rx.Var | str, value: rx.Var, fact_id: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.text(value, weight="medium", id=fact_id),
        spacing="0",
    )


def driver_session_page() -> rx.Component:
    """One session: when and how long, its power over time, solar versus grid, what it is worth."""
    s = DriverSessionState.summary
    t = DriverSessionState.tr
    return shell(
        t["driver.session"],
        rx.box(on_unmount=DriverSessionState.unfollow, display="none"),  # ends the live follower
        rx.link("← ", t["driver.title"], href="/driver"),
        card(
            s["station"],
            rx.flex(
                _fact(t["col.source"], source_badge(s["source"]), "session-source"),
                _fact(t["col.when"], s["start"] + " \u2013 " + s["end"], "session-when"),
                _fact(t["driver.duration"], s["duration"], "session-duration"),
                _fact(t["col.energy"], s["energy_kwh"] + " kWh", "session-energy"),
                rx.cond(s["running"] == "1", _fact(t["charger.power"], s["power"], "session-power")),
                _fact(t["driver.solar"], s["solar_kwh"] + " kWh", "session-solar"),
                _fact(t["driver.grid"], s["grid_kwh"] + " kWh", "session-grid"),
                _fact(t["col.solar_share"], s["solar_share"], "session-solar-share"),
                _fact(t["driver.reimbursement"], s["reimbursement"], "session-reimbursement"),
                _fact(t["driver.rate"], s["rate"], "session-rate"),
                spacing="6",
                wrap="wrap",
            ),
            rx.cond(s["held"] == "1", rx.callout(t["driver.held"], color_scheme="orange", id="session-held")),
        ),
        card(
            t["driver.power_curve"],
            rx.cond(
                DriverSessionState.curve.length() > 1,
                rx.recharts.area_chart(
                    rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
                    rx.recharts.x_axis(data_key="at"),
                    locale_y_axis(unit=" kW", width=70),
                    locale_tooltip(),
                    rx.recharts.area(
                        data_key="kw",
                        name=t["charger.power"],
                        stroke="#0f766e",
                        fill="#99f6e4",
                        is_animation_active=False,  # live: the curve grows by push, not re-drawn
                    ),
                    data=DriverSessionState.curve,
                    width="100%",
                    height=240,
                ),
                rx.text(t["driver.no_curve"], color_scheme="gray", id="session-no-curve"),
            ),
        ),
    )
