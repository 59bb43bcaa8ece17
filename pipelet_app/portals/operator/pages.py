"""Operator console landing page."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.layout import (
    card,
    charger_status_badge,
    data_table,
    once_loaded,
    online_badge,
    pager,
    shell,
    when_empty,
)
from pipelet_app.portals.operator.attention_view import attention_card, sites_map_card
from pipelet_app.portals.operator.data import CHARGER_ROWS, SITE_ROWS
from pipelet_app.portals.operator.state import OperatorState

T = OperatorState.tr


def _charger_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row["id"], href="/operator/chargers/" + row["id"])),
        rx.table.cell(online_badge(row["online"])),
        rx.table.cell(row["site"]),
        rx.table.cell(row["model"]),
        rx.table.cell(charger_status_badge(row["status"], id="status-" + row["id"])),
        rx.table.cell(row["since"], id="since-" + row["id"]),
    )


def _site_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(row["name"], href="/operator/sites/" + row["id"])),
        rx.table.cell(row["timezone"]),
        rx.table.cell(row["address"]),
    )


def operator_page() -> rx.Component:
    return shell(
        T["operator.title"],
        rx.box(on_unmount=OperatorState.unfollow, display="none"),  # leaving the page ends its live follower
        attention_card(),
        sites_map_card(),
        card(
            T["operator.chargers"],
            once_loaded(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h)
                                for h in (
                                    "ID",
                                    T["col.online"],
                                    T["col.site"],
                                    T["col.model"],
                                    T["col.status"],
                                    T["charger.since"],
                                )
                            ]
                        )
                    ),
                    rx.table.body(rx.foreach(OperatorState.chargers, _charger_row)),
                    width="100%",
                    variant="surface",
                    id="operator-chargers",
                ),
                pager(
                    OperatorState.chargers_span,
                    OperatorState.charger_offset,
                    OperatorState.charger_count,
                    CHARGER_ROWS,
                    OperatorState.charger_page,
                    "operator-chargers",
                ),
                when_empty(
                    OperatorState.chargers,
                    T["empty.chargers"],
                    rx.link(T["empty.claim_link"], href="/operator/claim", id="empty-claim"),
                ),
            ),
        ),
        card(
            T["operator.sites"],
            once_loaded(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[rx.table.column_header_cell(h) for h in (T["col.site"], T["col.timezone"], "")]
                        )
                    ),
                    rx.table.body(rx.foreach(OperatorState.sites, _site_row)),
                    width="100%",
                    variant="surface",
                    id="operator-sites",
                ),
                pager(
                    OperatorState.sites_span,
                    OperatorState.site_offset,
                    OperatorState.site_count,
                    SITE_ROWS,
                    OperatorState.site_page,
                    "operator-sites",
                ),
                when_empty(OperatorState.sites, T["empty.sites"]),
            ),
            rx.hstack(
                rx.link(T["operator.new_site"], href="/operator/sites/new", id="new-site"),
                rx.link(T["nav.notifications"], href="/operator/notifications", id="notifications-link"),
                spacing="4",
                wrap="wrap",
            ),
        ),
        card(
            T["operator.recent"],
            once_loaded(
                data_table(
                    [
                        (T["col.when"], "start"),
                        (T["col.station"], "station"),
                        (T["col.token"], "id_tag"),
                        (T["col.energy"], "energy_kwh"),
                    ],
                    OperatorState.sessions,
                    "operator-sessions",
                ),
            ),
        ),
    )
