"""The API keys page."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.account.state import ApiKeysState
from pipelet_app.portals.layout import card, confirm_button, field, shell, when_empty

T = ApiKeysState.tr


def _key_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.code(row["key_id"])),
        rx.table.cell(row["name"]),
        rx.table.cell(row["created"]),
        rx.table.cell(row["last_used"]),
        rx.table.cell(
            confirm_button(
                rx.button(T["keys.revoke"], size="1", color_scheme="red", variant="soft"),
                ApiKeysState.revoke(row["key_id"]),
                T["keys.revoke_confirm"],
                T["keys.revoke"],
            )
        ),
    )


def api_keys_page() -> rx.Component:
    return shell(
        T["keys.title"],
        card(
            T["keys.create"],
            rx.form(
                rx.hstack(
                    field(T["keys.name"], rx.input(name="name", id="key-name")),
                    rx.button(T["keys.create"], type="submit", id="key-create"),
                    align="end",
                    wrap="wrap",
                ),
                on_submit=ApiKeysState.create,
                reset_on_submit=True,
            ),
            # Filled by the create event's one-off script, never from state (see ApiKeysState).
            rx.box(
                rx.callout(
                    rx.vstack(rx.text(T["keys.shown_once"]), rx.el.code("", id="new-key")),
                    color_scheme="green",
                ),
                id="new-key-box",
                display="none",
            ),
        ),
        card(
            T["keys.title"],
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ("ID", T["col.name"], T["col.created"], T["col.last_used"], "")
                        ]
                    )
                ),
                rx.table.body(rx.foreach(ApiKeysState.keys, _key_row)),
                width="100%",
                id="api-keys",
            ),
            when_empty(ApiKeysState.keys, T["keys.none"]),
        ),
    )
