"""Investor portal: partnerships, K-1s by tax year (draft/final), statements, schedules, analytics."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.charts import locale_tooltip, locale_y_axis
from pipelet_app.portals.investor.state import InvestorState
from pipelet_app.portals.layout import card, coded_text, data_table, section_heading, shell

T = InvestorState.tr


def _col(key: str) -> rx.Var:
    return T[f"investor.col.{key}"]


def _partnership_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["spv"]),
        rx.table.cell(row["partner"]),
        rx.table.cell(coded_text("partner_kind", row["kind"])),  # GP / LP in words
        rx.table.cell(row["share"]),
        rx.table.cell(
            rx.link(
                T["investor.statement"], href=row["statement_url"], is_external=True, class_name="statement"
            )
        ),
    )


def _k1_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["tax_year"]),
        rx.table.cell(row["spv"]),
        rx.table.cell(row["partner"]),
        rx.table.cell(
            rx.cond(
                row["final"] == "final",
                rx.badge(T["investor.final"], color_scheme="green"),
                rx.badge(T["investor.draft"], color_scheme="orange"),
            )
        ),
        rx.table.cell(
            rx.button(
                T["investor.download"],
                on_click=InvestorState.download_k1(row["partner_id"], row["tax_year"]),
                loading=InvestorState.k1_busy == row["partner_id"] + "-" + row["tax_year"],
                size="1",
                variant="soft",
                id="k1-download-" + row["partner_id"] + "-" + row["tax_year"],
            )
        ),
    )


def _table(headers: list[rx.Var], rows: rx.Var, render, table_id: str) -> rx.Component:
    return rx.cond(
        rows.length() > 0,
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
            rx.table.body(rx.foreach(rows, render)),
            width="100%",
            variant="surface",
            id=table_id,
        ),
        rx.text(T["common.no_data"], color_scheme="gray"),
    )


def _columns(*keys: str) -> list[tuple[rx.Var, str]]:
    return [(T["col.spv"], "spv"), *[(_col(k), k) for k in keys]]


def _stat(label: rx.Var, value: rx.Var, stat_id: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="2", color_scheme="gray"),
        rx.text(value, size="6", weight="bold", class_name=stat_id),
        spacing="1",
        min_width="10em",
    )


def _summary_strip(row: rx.Var) -> rx.Component:
    """One partnership at a glance: money in, money out, the capital account now, the return so far."""
    return rx.card(
        rx.vstack(
            rx.text(row["spv"], weight="medium"),
            rx.flex(
                _stat(_col("contributed"), row["contributed"], "summary-contributed"),
                _stat(_col("distributed"), row["distributed"], "summary-distributed"),
                _stat(_col("my_capital"), row["capital"], "summary-capital"),
                _stat(_col("irr"), row["irr"], "summary-irr"),
                spacing="6",
                wrap="wrap",
            ),
            spacing="3",
        ),
        width="100%",
    )


def _history_chart() -> rx.Component:
    """Cumulative contributions and distributions and the capital account, year by year."""
    return rx.recharts.bar_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        rx.recharts.x_axis(data_key="year"),
        locale_y_axis(width=90),
        locale_tooltip(),
        rx.recharts.legend(),
        rx.recharts.bar(data_key="contributed", name=_col("contributed"), fill="#1d4ed8"),
        rx.recharts.bar(data_key="distributed", name=_col("distributed"), fill="#047857"),
        rx.recharts.bar(data_key="capital", name=_col("my_capital"), fill="#b45309"),
        data=InvestorState.history,
        width="100%",
        height=260,
    )


def investor_page() -> rx.Component:
    return shell(
        T["investor.title"],
        rx.vstack(rx.foreach(InvestorState.summary, _summary_strip), width="100%", id="investor-summary"),
        rx.cond(
            InvestorState.history.length() > 0,
            card(
                T["investor.over_time"],
                _history_chart(),
                rx.text(T["investor.over_time_hint"], size="1", color_scheme="gray"),
            ),
        ),
        card(
            T["investor.partnerships"],
            _table(
                [T["col.spv"], T["col.name"], T["col.kind"], T["col.share"], T["investor.statement"]],
                InvestorState.partnerships,
                _partnership_row,
                "investor-partnerships",
            ),
        ),
        card(
            T["investor.k1s"],
            rx.cond(
                InvestorState.k1_error != "",
                rx.callout(InvestorState.k1_error, color_scheme="red", icon="shield-alert", id="k1-error"),
            ),
            _table(
                [_col("year"), T["col.spv"], T["col.name"], _col("status"), T["investor.download"]],
                InvestorState.k1s,
                _k1_row,
                "investor-k1s",
            ),
        ),
        rx.cond(
            InvestorState.notes.length() > 0,
            rx.callout(
                rx.text(T["investor.incomplete"], " ", InvestorState.notes.join(", ")), color_scheme="amber"
            ),
        ),
        card(
            T["investor.analytics"],
            data_table(
                _columns("contributed", "distributed", "cash_yield", "irr", "target", "flip_year"),
                InvestorState.analytics,
                "investor-analytics",
            ),
            section_heading(T["investor.utilisation"], as_="h3", size="3"),
            data_table(
                _columns("site", "ports", "sessions", "energy", "utilisation"),
                InvestorState.utilisation,
                "investor-utilisation",
            ),
        ),
        card(
            T["investor.pnl"],
            data_table(
                _columns(
                    "year", "receipts", "expenses", "depreciation", "ordinary", "book_income", "credits"
                ),
                InvestorState.pnl,
                "investor-pnl",
            ),
        ),
        card(
            T["investor.balance"],
            data_table(
                _columns("year", "cash", "assets_net", "total_assets", "liabilities", "capital"),
                InvestorState.balance,
                "investor-balance",
            ),
        ),
        card(
            T["investor.distributions"],
            data_table(
                [
                    (T["col.spv"], "spv"),
                    (_col("year"), "year"),
                    (_col("contributed"), "contributed"),
                    (_col("distributed"), "distributed"),
                    (_col("cash_share"), "cash_share"),
                    (_col("tax_share"), "tax_share"),
                    (_col("my_capital"), "capital"),
                ],
                InvestorState.distributions,
                "investor-distributions",
            ),
        ),
        card(
            T["investor.depreciation"],
            data_table(
                _columns("asset", "in_service", "class", "basis", "credit", "bonus", "schedule"),
                InvestorState.depreciation,
                "investor-depreciation",
            ),
        ),
    )
