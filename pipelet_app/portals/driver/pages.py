"""Driver portal landing page."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.driver.pv_pages import data_source_tiles
from pipelet_app.portals.driver.state import DriverState
from pipelet_app.portals.layout import card, data_table, shell, source_badge

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


def _preferences_form(row: rx.Var) -> rx.Component:
    """One running session: how it should charge (the site's solar controller reads it)."""
    return rx.form(
        rx.el.input(type="hidden", name="transaction_id", value=row["transaction_id"]),
        rx.hstack(
            rx.vstack(rx.text(T["col.station"], size="2"), rx.text(row["station"], weight="bold")),
            rx.vstack(
                rx.text(T["prefs.mode"], size="2"),
                rx.select.root(
                    rx.select.trigger(id="prefs-mode"),
                    rx.select.content(
                        rx.select.item(T["prefs.mode_site"], value="site"),
                        rx.select.item(T["prefs.mode_pv_only"], value="pv-only"),
                        rx.select.item(T["prefs.mode_pv_priority"], value="pv-priority"),
                        rx.select.item(T["prefs.mode_eco_plus"], value="eco-plus"),
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
                    id="prefs-departure",
                ),
            ),
            rx.vstack(
                rx.text(T["prefs.energy"], size="2"),
                rx.input(name="energy_kwh", default_value=row["energy_kwh"], width="7em", id="prefs-energy"),
            ),
            rx.button(T["prefs.save"], type="submit", id="prefs-save"),
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
        _running_card(),
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
