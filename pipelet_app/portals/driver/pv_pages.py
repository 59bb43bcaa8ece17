"""Driver portal pages for the Inverter Hub: the data-source tiles, ``/driver/pv`` and the OAuth callback."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.driver.pv_state import PvState
from pipelet_app.portals.layout import card, coded_text, shell

T = PvState.tr

STATUS_COLORS = {
    "connected": "green",
    "syncing": "blue",
    "pending": "gray",
    "throttled": "amber",
    "error": "red",
    "integration-error": "red",
    "reauth-needed": "orange",
}


def _tile(title: str, text: str, icon: str, action: rx.Component, tile_id: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon(icon, size=22, color="#0f766e"),
                rx.heading(T[title], as_="h3", size="4"),
                align="center",
            ),
            rx.text(T[text], size="2", color_scheme="gray"),
            rx.spacer(),
            action,
            spacing="3",
            height="100%",
        ),
        width="100%",
        id=tile_id,
    )


def data_source_tiles() -> rx.Component:
    """The three data sources a driver's sessions come from; only the PV tile needs the driver to act."""
    return card(
        T["pv.sources"],
        rx.grid(
            _tile(
                "pv.tile.wallbox",
                "pv.tile.wallbox_text",
                "plug-zap",
                rx.badge(T["pv.tile.auto"], color_scheme="teal"),
                "tile-wallbox",
            ),
            _tile(
                "pv.tile.dhc",
                "pv.tile.dhc_text",
                "house",
                rx.badge(T["pv.tile.soon"], color_scheme="gray"),
                "tile-dhc",
            ),
            _tile(
                "pv.tile.pv",
                "pv.tile.pv_text",
                "sun",
                rx.link(rx.button(T["pv.tile.open"], id="tile-pv-open"), href="/driver/pv"),
                "tile-pv",
            ),
            columns=rx.breakpoints(initial="1", sm="3"),
            spacing="4",
            width="100%",
        ),
    )


def _status_badge(status: rx.Var) -> rx.Component:
    return rx.match(
        status,
        *[(key, rx.badge(T[f"pv.status.{key}"], color_scheme=color)) for key, color in STATUS_COLORS.items()],
        rx.badge(status),
    )


def _session_row(row: rx.Var, account_id: rx.Var) -> rx.Component:
    return rx.cond(
        row["account"] == account_id,
        rx.table.row(
            rx.table.cell(row["start"]),
            rx.table.cell(row["end"]),
            rx.table.cell(row["station"]),
            rx.table.cell(row["energy_kwh"]),
            rx.table.cell(coded_text("reason", row["reason"])),
        ),
    )


def _connection(conn: rx.Var) -> rx.Component:
    needs_reauth = conn["status"] == "reauth-needed"
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(conn["name"], as_="h3", size="4"),
                _status_badge(conn["status"]),
                rx.cond(conn["progress"] != "", rx.text(T["pv.progress"], ": ", conn["progress"], size="2")),
                rx.spacer(),
                rx.cond(
                    needs_reauth,
                    rx.button(
                        T["pv.reconnect"],
                        on_click=PvState.choose_brand(conn["brand"]),
                        color_scheme="orange",
                        id="reconnect-" + conn["brand"],
                    ),
                ),
                rx.button(
                    T["pv.disconnect"],
                    on_click=PvState.disconnect(conn["id"]),
                    variant="soft",
                    color_scheme="red",
                    id="disconnect-" + conn["brand"],
                ),
                width="100%",
                align="center",
                spacing="3",
            ),
            rx.cond(
                conn["message"] != "",
                rx.callout(
                    conn["message"],
                    icon="info",
                    color_scheme=rx.cond(needs_reauth | (conn["status"] == "error"), "red", "blue"),
                    size="1",
                    width="100%",
                ),
            ),
            rx.hstack(
                rx.text(T["pv.last_sync"], ": ", conn["last_sync"], size="2"),
                rx.text(T["pv.next_poll"], ": ", conn["next_poll"], size="2"),
                rx.text(T["pv.sessions"], ": ", rx.text.strong(conn["session_count"]), size="2"),
                spacing="5",
                wrap="wrap",
            ),
            rx.cond(conn["wallboxes"] != "", rx.text(T["pv.chargers"], ": ", conn["wallboxes"], size="2")),
            rx.cond(
                conn["session_count"] != "0",
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(T[k])
                                for k in ("col.when", "pv.end", "col.station", "col.energy", "pv.reason")
                            ]
                        )
                    ),
                    rx.table.body(
                        rx.foreach(PvState.connection_sessions, lambda row: _session_row(row, conn["id"]))
                    ),
                    width="100%",
                    size="1",
                    variant="surface",
                ),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="connection-" + conn["brand"],
        custom_attrs={"data-status": conn["status"]},
    )


def _brand_button(option: rx.Var) -> rx.Component:
    return rx.button(
        option["name"],
        on_click=PvState.choose_brand(option["brand"]),
        variant=rx.cond(option["brand"] == PvState.selected_brand, "solid", "outline"),
        id="brand-" + option["brand"],
    )


def _field(field: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.text(field["label"], size="2", weight="medium"),
        rx.input(name=field["name"], type=field["type"], width="100%", id="field-" + field["name"]),
        rx.cond(field["help"] != "", rx.text(field["help"], size="1", color_scheme="gray")),
        spacing="1",
        width="100%",
    )


def _credential_form() -> rx.Component:
    return rx.cond(
        PvState.selected_brand != "",
        rx.form(
            rx.vstack(
                rx.heading(T["pv.form_title"], " ", PvState.selected_name, as_="h3", size="3"),
                rx.foreach(PvState.fields, _field),
                rx.cond(
                    PvState.form_error != "",
                    rx.callout(
                        PvState.form_error, icon="triangle-alert", color_scheme="red", id="pv-form-error"
                    ),
                ),
                rx.hstack(
                    rx.button(T["pv.test_and_save"], type="submit", loading=PvState.working, id="pv-submit"),
                    rx.button(T["pv.cancel"], type="button", variant="soft", on_click=PvState.cancel_form),
                ),
                spacing="3",
                width="100%",
                max_width="32em",
            ),
            on_submit=PvState.submit_credentials,
            reset_on_submit=False,
            width="100%",
            id="pv-form",
        ),
    )


def pv_page() -> rx.Component:
    return shell(
        T["pv.title"],
        rx.link(T["pv.back"], href="/driver", size="2"),
        rx.cond(
            PvState.notice != "",
            rx.callout(
                PvState.notice,
                icon=rx.cond(PvState.notice_error, "triangle-alert", "circle-check"),
                color_scheme=rx.cond(PvState.notice_error, "red", "green"),
                id="pv-notice",
                width="100%",
            ),
        ),
        card(
            T["pv.connections"],
            rx.cond(
                PvState.connections.length() > 0,
                rx.vstack(rx.foreach(PvState.connections, _connection), spacing="3", width="100%"),
                rx.cond(
                    PvState.pv_sessions > 0,
                    rx.text(
                        T["pv.none_with_sessions"],
                        " (",
                        PvState.pv_sessions,
                        ")",
                        color_scheme="gray",
                        id="pv-none",
                    ),
                    rx.text(T["pv.none"], color_scheme="gray", id="pv-none"),
                ),
            ),
        ),
        card(
            T["pv.add"],
            rx.text(T["pv.add_help"], size="2", color_scheme="gray"),
            rx.flex(rx.foreach(PvState.brand_options, _brand_button), wrap="wrap", spacing="2"),
            _credential_form(),
        ),
    )


def pv_callback_page() -> rx.Component:
    return shell(
        T["pv.title"],
        rx.hstack(rx.spinner(), rx.text(T["pv.callback"]), align="center", id="pv-callback"),
    )
