"""`/operator/payments`: every payment at the operator's chargers with its state and next step (refund
after a confirmation), revenue against energy cost by site with the sessions behind each figure, CSV
export and a site's energy price (docs/payments.md)."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.layout import (
    card,
    coded_text,
    confirm_button,
    data_table,
    field,
    row_table,
    shell,
    when_empty,
)
from pipelet_app.portals.operator.payments_state import PaymentsState

T = PaymentsState.tr
S = PaymentsState
STATES = ("", "pending", "authorized", "captured", "cancelled", "failed")
PROVIDERS = ("", "stripe", "payter")


def _select(name: str, label: str, options: tuple[str, ...], words: str) -> rx.Component:
    """A filter menu; `words` is the catalogue group naming each option (`payment_state.captured`)."""
    return field(
        T[label],
        rx.el.select(
            *[rx.el.option(T[f"{words}.{o}"] if o else T["payments.any"], value=o) for o in options],
            name=name,
            default_value=S.filters[name],
            id=f"payments-filter-{name}",
        ),
    )


def _filters() -> rx.Component:
    return rx.form(
        rx.hstack(
            _select("state", "payments.filter_state", STATES, "payment_state"),
            _select("provider", "payments.filter_provider", PROVIDERS, "payment_provider"),
            field(
                T["payments.filter_charger"],
                rx.input(name="charger", default_value=S.filters["charger"], id="payments-filter-charger"),
            ),
            rx.button(T["payments.show"], type="submit", id="payments-filter-show"),
            align="end",
            wrap="wrap",
            spacing="3",
        ),
        on_submit=S.filter,
    )


def _payment_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["when"]),
        rx.table.cell(row["charger"]),
        rx.table.cell(coded_text("payment_provider", row["provider"])),
        rx.table.cell(
            rx.badge(
                coded_text("payment_state", row["state"]),
                rx.cond(row["stuck"] != "", " (" + T["payments.stuck"] + ")", ""),
            )
        ),
        rx.table.cell(row["amounts"]),
        rx.table.cell(
            rx.vstack(
                rx.text(row["next_step"], size="2"), rx.text(row["note"], size="1", color_scheme="gray")
            )
        ),
        rx.table.cell(
            rx.cond(
                row["refundable"] != "",
                confirm_button(
                    rx.button(T["payments.refund"], size="1", variant="soft", id="refund-" + row["id"]),
                    S.refund(row["id"]),
                    T["payments.refund_confirm"],
                    T["payments.refund"],
                ),
            )
        ),
    )


def _payments() -> rx.Component:
    headers = ("payments.when", "payments.filter_charger", "payments.provider", "payments.state",
               "payments.amounts", "payments.next", "payments.refund")  # fmt: skip
    return card(
        T["payments.list"],
        _filters(),
        rx.box(
            row_table(headers, S.rows, _payment_row, "payments-table"),
            overflow_x="auto",
            width="100%",
        ),
        when_empty(S.rows, T["payments.none"]),
    )


def _revenue_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["site"]),
        rx.table.cell(row["sessions"]),
        rx.table.cell(row["energy"]),
        rx.table.cell(row["revenue"]),
        rx.table.cell(row["collected"]),
        rx.table.cell(
            rx.hstack(
                rx.text(row["energy_cost"]),
                rx.cond(
                    row["complete"] == "", rx.text(T["payments.cost_unknown"], size="1", color_scheme="amber")
                ),
                wrap="wrap",
            )
        ),
        rx.table.cell(row["margin"]),
        rx.table.cell(
            rx.button(
                T["payments.drill"],
                size="1",
                variant="soft",
                on_click=S.show_sessions(row["site"], row["currency"]),
            )
        ),
    )


def _revenue() -> rx.Component:
    headers = ("payments.site", "payments.sessions", "payments.energy", "payments.revenue_col",
               "payments.collected", "payments.energy_cost", "payments.margin", "payments.drill")  # fmt: skip
    return card(
        T["payments.revenue"],
        rx.link(T["payments.csv"], href="/api/v1/revenue.csv?by=site", id="revenue-csv", is_external=True),
        rx.box(
            row_table(headers, S.revenue, _revenue_row, "revenue-table"),
            overflow_x="auto",
            width="100%",
        ),
        when_empty(S.revenue, T["common.no_data"]),
        rx.cond(
            S.drill_title != "",
            rx.vstack(
                rx.heading(T["payments.sessions_of"], " ", S.drill_title, as_="h3", size="3"),
                data_table(
                    [
                        (T["payments.transaction"], "transaction"),
                        (T["payments.filter_charger"], "charger"),
                        (T["payments.energy"], "energy"),
                        (T["payments.price"], "price"),
                        (T["payments.collected"], "collected"),
                        (T["payments.energy_cost"], "energy_cost"),
                    ],
                    S.drill,
                    "revenue-sessions",
                ),
                width="100%",
            ),
        ),
        rx.form(
            rx.hstack(
                field(
                    T["payments.price_site"],
                    rx.el.select(
                        rx.foreach(S.sites, lambda s: rx.el.option(s["name"], value=s["id"])),
                        name="site_id",
                        id="energy-price-site",
                    ),
                ),
                field(T["payments.price_value"], rx.input(name="per_kwh", id="energy-price-value")),
                rx.button(T["payments.price_save"], type="submit", id="energy-price-save"),
                align="end",
                wrap="wrap",
                spacing="3",
            ),
            on_submit=S.save_price,
        ),
    )


def payments_page() -> rx.Component:
    return shell(
        T["payments.title"],
        rx.cond(S.error != "", rx.callout(S.error, color_scheme="red", id="payments-error", width="100%")),
        rx.cond(
            S.notice != "", rx.callout(S.notice, color_scheme="green", id="payments-notice", width="100%")
        ),
        _payments(),
        _revenue(),
    )
