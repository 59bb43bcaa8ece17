"""`/operator/reports`: a portfolio's sessions, energy, revenue and availability by month or day, a
chart, the per-site table, CSV and PDF exports, and the sessions behind any figure. Thin over
`ReportsState` (rules: docs/reports.md)."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.charts import locale_tooltip, locale_y_axis
from pipelet_app.portals.layout import card, field, row_table, shell
from pipelet_app.portals.operator.reports_state import ReportsState

T = ReportsState.tr
S = ReportsState


def _controls() -> rx.Component:
    return rx.form(
        rx.hstack(
            field(
                T["reports.portfolio"],
                rx.el.select(
                    rx.foreach(S.portfolios, lambda p: rx.el.option(p["name"], value=p["key"])),
                    name="portfolio",
                    value=S.params["portfolio"],
                    on_change=lambda _: rx.noop(),
                    id="report-portfolio",
                ),
            ),
            field(
                T["reports.step"],
                rx.el.select(
                    rx.el.option(T["reports.by_month"], value="month"),
                    rx.el.option(T["reports.by_day"], value="day"),
                    name="step",
                    value=S.params["step"],
                    on_change=lambda _: rx.noop(),
                    id="report-step",
                ),
            ),
            field(T["reports.from"], rx.input(name="from", default_value=S.params["from"], id="report-from")),
            field(T["reports.to"], rx.input(name="to", default_value=S.params["to"], id="report-to")),
            rx.button(T["reports.show"], type="submit", id="report-show"),
            align="end",
            wrap="wrap",
            spacing="3",
        ),
        on_submit=S.show,
        key=S.params["portfolio"] + S.params["from"] + S.params["to"] + S.params["step"],
    )


def _sessions_link(row: rx.Var, period: rx.Var, site_id: rx.Var, label: rx.Var, id_: rx.Var) -> rx.Component:
    return rx.link(
        row["sessions"],
        href="#report-sessions",
        # no hash navigation: it re-ran the page's load, which could clear the drill-down just opened
        on_click=S.open_sessions(period, site_id, label).prevent_default,
        id=id_,
    )


def _period_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["period"], " ", rx.text.span(row["hours"], color_scheme="gray")),
        rx.table.cell(
            _sessions_link(
                row,
                row["period"],
                S.params["site_id"],
                row["period"],
                "report-sessions-" + row["period"].to(str),
            )
        ),
        rx.table.cell(row["energy"]),
        rx.table.cell(row["revenue"]),
        rx.table.cell(row["availability"]),
    )


def _site_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.link(
                row["name"],
                href="#",
                on_click=S.open_site(row["site_id"]).prevent_default,
                id="report-site-" + row["site_id"].to(str),
            )
        ),
        rx.table.cell(
            _sessions_link(
                row, "", row["site_id"], row["name"], "report-site-sessions-" + row["site_id"].to(str)
            )
        ),
        rx.table.cell(row["energy"]),
        rx.table.cell(row["revenue"]),
        rx.table.cell(row["availability"]),
    )


def _head(first: rx.Var | str) -> rx.Component:
    return rx.table.header(
        rx.table.row(
            *[
                rx.table.column_header_cell(label)
                for label in (
                    first,
                    T["reports.sessions"],
                    T["reports.energy"],
                    T["reports.revenue"],
                    T["reports.availability"],
                )
            ]
        )
    )


def _chart() -> rx.Component:
    return rx.box(
        rx.recharts.bar_chart(
            rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
            rx.recharts.x_axis(data_key="period"),
            locale_y_axis(unit=" kWh", width=90),
            rx.recharts.bar(data_key="kwh", name=T["reports.energy"], fill="#0f766e"),
            locale_tooltip(graphing=True),
            data=S.chart,
            width="100%",
            height=240,
        ),
        id="report-chart",
        width="100%",
    )


def _drill() -> rx.Component:
    return rx.cond(
        S.drill_title != "",
        card(
            T["reports.sessions_of"] + " " + S.drill_title,
            rx.cond(
                S.drill.length() > 0,
                row_table(
                    (
                        "reports.transaction",
                        "reports.site",
                        "reports.charger",
                        "reports.local_day",
                        "reports.end_utc",
                        "reports.energy",
                        "reports.price",
                    ),
                    S.drill,
                    lambda r: rx.table.row(
                        rx.table.cell(r["transaction_id"]),
                        rx.table.cell(r["site"]),
                        rx.table.cell(rx.link(r["charger"], href="/operator/chargers/" + r["charger"])),
                        rx.table.cell(r["local_day"]),
                        rx.table.cell(r["end"]),
                        rx.table.cell(r["energy"]),
                        rx.table.cell(r["cost"]),
                    ),
                    "report-session-rows",
                ),
                rx.text(T["common.no_data"]),
            ),
        ),
    )


def reports_page() -> rx.Component:
    return shell(
        T["reports.title"],
        _controls(),
        rx.cond(
            S.error != "", rx.callout(S.error, icon="triangle-alert", color_scheme="red", id="report-error")
        ),
        card(
            S.title,
            rx.hstack(
                rx.link(T["reports.csv"], href=S.csv_href, id="report-csv", is_external=True),
                rx.link(T["reports.pdf"], href=S.pdf_href, id="report-pdf", is_external=True),
                rx.cond(
                    S.params["site_id"] != "",
                    rx.link(
                        T["reports.all_sites"],
                        href="#",
                        on_click=S.all_sites.prevent_default,
                        id="report-all-sites",
                    ),
                ),
                spacing="4",
            ),
            _chart(),
            rx.table.root(
                _head(T["reports.period"]),
                rx.table.body(
                    rx.foreach(S.periods, _period_row),
                    rx.table.row(
                        rx.table.cell(rx.text(T["reports.total"], weight="bold")),
                        rx.table.cell(
                            _sessions_link(
                                S.totals, "", S.params["site_id"], T["reports.total"], "report-total-sessions"
                            )
                        ),
                        rx.table.cell(S.totals["energy"], id="report-total-energy"),
                        rx.table.cell(S.totals["revenue"], id="report-total-revenue"),
                        rx.table.cell(S.totals["availability"]),
                    ),
                ),
                width="100%",
                variant="surface",
                id="report-periods",
            ),
        ),
        card(
            T["reports.sites"],
            rx.table.root(
                _head(T["reports.site"]),
                rx.table.body(rx.foreach(S.sites, _site_row)),
                width="100%",
                variant="surface",
                id="report-sites",
            ),
        ),
        _drill(),
    )
