"""`/operator/networks`: the tenant's charging-network integrations (docs/networks.md)."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.layout import (
    card,
    coded_text,
    credential_inputs,
    data_table,
    empty_state,
    field,
    row_table,
    shell,
)
from pipelet_app.portals.operator.network_data import NO_SITE, connect_inputs
from pipelet_app.portals.operator.network_state import NetworksState
from pipelet_app.portals.session_state import SessionState

T = SessionState.tr


def _account_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["network"]),
        rx.table.cell(row["label"]),
        rx.table.cell(
            rx.badge(
                coded_text("network_status", row["status"]),
                color_scheme=rx.match(
                    row["status"],
                    ("connected", "green"),
                    ("pending", "gray"),
                    ("throttled", "amber"),
                    "red",
                ),
            )
        ),
        rx.table.cell(row["last_success"]),
        rx.table.cell(row["last_error"]),
        rx.table.cell(row["skipped"]),
        rx.table.cell(row["chargers"]),
        rx.table.cell(row["sessions"]),
        rx.table.cell(
            rx.button(
                T["networks.sync"],
                on_click=NetworksState.sync(row["id"]),
                size="1",
                variant="soft",
                id="sync-" + row["id"].to(str),
            )
        ),
        id="network-" + row["id"].to(str),
    )


def _location_row(row: rx.Var) -> rx.Component:
    key = row["account_id"].to(str) + "-" + row["location_id"].to(str)
    return rx.table.row(
        rx.table.cell(row["account"]),
        rx.table.cell(row["name"]),
        rx.table.cell(row["chargers"]),
        rx.table.cell(
            rx.select.root(
                rx.select.trigger(aria_label=T["networks.location_site"], id="location-site-" + key),
                rx.select.content(
                    rx.select.item(T["networks.no_site"], value=NO_SITE),
                    rx.foreach(
                        NetworksState.sites, lambda site: rx.select.item(site["name"], value=site["id"])
                    ),
                ),
                value=row["site_id"],
                on_change=lambda site: NetworksState.map_location(
                    row["account_id"], row["location_id"], site
                ),
                size="1",
            )
        ),
        id="location-" + key,
    )


def _connect_form() -> rx.Component:
    """Connect an account: the network, a name for it, and one input per credential field any network asks
    for (secret ones masked); `NetworksState.connect` keeps the chosen network's. Emptied on submit, so a
    secret never stays on the page."""
    s = NetworksState
    return card(
        T["networks.connect"],
        rx.text(T["networks.connect_form_hint"], size="2"),
        rx.cond(
            s.connected != "",
            rx.callout(
                s.connected,
                color_scheme="green",
                role="status",
                id="network-connected",
            ),
        ),
        rx.form(
            rx.flex(
                field(
                    T["networks.choose"],
                    rx.select.root(
                        rx.select.trigger(id="network-choice", aria_label=T["networks.choose"]),
                        rx.select.content(
                            rx.foreach(s.choices, lambda c: rx.select.item(c["name"], value=c["id"]))
                        ),
                        name="network",
                    ),
                ),
                field(T["networks.account_name"], rx.input(name="label", max_length=200, id="network-label")),
                *credential_inputs(
                    connect_inputs(), lambda name: T[f"network_field.{name}"], "network", auto_complete="off"
                ),
                rx.button(T["networks.connect_button"], type="submit", id="network-connect"),
                direction="row",
                wrap="wrap",
                align="end",
                spacing="3",
                width="100%",
            ),
            on_submit=s.connect,
            reset_on_submit=True,
            width="100%",
            id="network-connect-form",
        ),
    )


def _replace_form() -> rx.Component:
    """Replace a connected account's credentials (a rotated key or password) without disconnecting it:
    the account, then the same inputs as the connect form; `NetworksState.replace_credentials` keeps the
    account's network's. Emptied on submit, so a secret never stays on the page."""
    s = NetworksState
    return card(
        T["networks.replace"],
        rx.text(T["networks.replace_hint"], size="2"),
        rx.cond(
            s.replaced != "",
            rx.callout(s.replaced, color_scheme="green", role="status", id="network-replaced"),
        ),
        rx.form(
            rx.flex(
                field(
                    T["networks.replace_account"],
                    rx.select.root(
                        rx.select.trigger(id="replace-account", aria_label=T["networks.replace_account"]),
                        rx.select.content(
                            rx.foreach(s.accounts, lambda a: rx.select.item(a["name"], value=a["id"]))
                        ),
                        name="account",
                    ),
                ),
                *credential_inputs(
                    connect_inputs(), lambda name: T[f"network_field.{name}"], "replace", auto_complete="off"
                ),
                rx.button(T["networks.replace_button"], type="submit", id="network-replace"),
                direction="row",
                wrap="wrap",
                align="end",
                spacing="3",
                width="100%",
            ),
            on_submit=s.replace_credentials,
            reset_on_submit=True,
            width="100%",
            id="network-replace-form",
        ),
    )


def networks_page() -> rx.Component:
    s = NetworksState
    return shell(
        T["networks.title"],
        rx.cond(s.error != "", rx.callout(s.error, color_scheme="red", role="alert", id="networks-error")),
        card(
            T["networks.title"],
            rx.cond(
                s.accounts.length() > 0,
                row_table(
                    (
                        "networks.network",
                        "networks.label",
                        "networks.status",
                        "networks.last_success",
                        "networks.last_error",
                        "networks.skipped",
                        "networks.chargers",
                        "networks.sessions",
                        "networks.action",
                    ),
                    s.accounts,
                    _account_row,
                    "networks-table",
                ),
                empty_state(T["networks.none"]),
            ),
        ),
        _connect_form(),
        rx.cond(s.accounts.length() > 0, _replace_form()),
        rx.cond(
            s.locations.length() > 0,
            card(
                T["networks.locations"],
                rx.text(T["networks.locations_hint"], size="2"),
                row_table(
                    ("networks.label", "networks.location", "networks.chargers", "networks.location_site"),
                    s.locations,
                    _location_row,
                    "network-locations",
                ),
            ),
        ),
        card(
            T["networks.available"],
            rx.text(T["networks.connect_hint"], size="2"),
            data_table(
                [
                    (T["networks.network"], "network"),
                    (T["networks.auth"], "auth"),
                    (T["networks.fields"], "fields"),
                    (T["networks.configured"], "configured"),
                    (T["networks.source"], "source"),
                ],
                s.available,
                "networks-available",
                coded={"configured": "networks_configured", "auth": "network_auth"},
            ),
        ),
    )
