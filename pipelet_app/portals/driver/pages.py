"""Driver portal landing page."""

from __future__ import annotations

import reflex as rx

from pipelet_app.components.layout import card, data_table, shell, source_badge
from pipelet_app.portals.driver.pv_pages import data_source_tiles
from pipelet_app.portals.driver.state import DriverState

T = DriverState.tr


def _total(row: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(source_badge(row["source"]), rx.heading(row["energy_kwh"], " kWh", size="6"), spacing="2")
    )


def _session_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["start"]),
        rx.table.cell(row["station"]),
        rx.table.cell(source_badge(row["source"])),
        rx.table.cell(row["energy_kwh"]),
    )


def driver_page() -> rx.Component:
    return shell(
        T["driver.title"],
        data_source_tiles(),
        card(T["driver.last30"], rx.hstack(rx.foreach(DriverState.totals, _total), spacing="4", wrap="wrap")),
        card(
            T["driver.recent"],
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(T[k])
                            for k in ("col.when", "col.station", "col.source", "col.energy")
                        ]
                    )
                ),
                rx.table.body(rx.foreach(DriverState.sessions, _session_row)),
                width="100%",
                variant="surface",
                id="driver-sessions",
            ),
        ),
        card(
            T["driver.tokens"],
            data_table(
                [(T["col.token"], "token"), (T["col.status"], "status")], DriverState.tokens, "driver-tokens"
            ),
        ),
    )
