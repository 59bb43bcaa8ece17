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


def _credentials_form(
    kind: str,
    chooser: rx.Component,
    *named: rx.Component,
    hint: str,
    done: rx.Var,
    done_id: str,
    on_submit: rx.EventHandler,
) -> rx.Component:
    """A card with one form that sends a network's credentials: `chooser` (the network, or the account
    whose credentials change), any `named` inputs, then one input per credential field any network asks
    for (secret ones masked); the state keeps the chosen network's. Emptied on submit, so a secret never
    stays on the page; `done` is the green sentence after a success."""
    return card(
        T[f"networks.{kind}"],
        rx.text(T[hint], size="2"),
        rx.cond(done != "", rx.callout(done, color_scheme="green", role="status", id=done_id)),
        rx.form(
            rx.flex(
                chooser,
                *named,
                *credential_inputs(
                    connect_inputs(),
                    lambda name: T[f"network_field.{name}"],
                    "network" if kind == "connect" else kind,
                    auto_complete="off",
                ),
                rx.button(T[f"networks.{kind}_button"], type="submit", id=f"network-{kind}"),
                direction="row",
                wrap="wrap",
                align="end",
                spacing="3",
                width="100%",
            ),
            on_submit=on_submit,
            reset_on_submit=True,
            width="100%",
            id=f"network-{kind}-form",
        ),
    )


def _choice(label: str, trigger_id: str, items: rx.Var, value: rx.Var, on_change) -> rx.Component:
    """A labelled select over `items` (each `{id, name}`) held in the state, not sent with the form (see
    `NetworksState.choose_network`): the form's reset on submit leaves it, so after a refusal only the
    credentials need typing again."""
    return field(
        T[label],
        rx.select.root(
            rx.select.trigger(id=trigger_id, aria_label=T[label]),
            rx.select.content(rx.foreach(items, lambda c: rx.select.item(c["name"], value=c["id"]))),
            value=value,
            on_change=on_change,
        ),
    )


def _connect_form() -> rx.Component:
    """Connect an account: the network, a name for it and its credentials (`NetworksState.connect`)."""
    s = NetworksState
    return _credentials_form(
        "connect",
        _choice("networks.choose", "network-choice", s.choices, s.network_choice, s.choose_network),
        field(T["networks.account_name"], rx.input(name="label", max_length=200, id="network-label")),
        hint="networks.connect_form_hint",
        done=s.connected,
        done_id="network-connected",
        on_submit=s.connect,
    )


def _replace_form() -> rx.Component:
    """Replace a connected account's credentials (a rotated key or password) without disconnecting it
    (`NetworksState.replace_credentials` keeps the account's network's fields)."""
    s = NetworksState
    return _credentials_form(
        "replace",
        _choice(
            "networks.replace_account",
            "replace-account",
            s.accounts,
            s.replace_choice,
            s.choose_account,
        ),
        hint="networks.replace_hint",
        done=s.replaced,
        done_id="network-replaced",
        on_submit=s.replace_credentials,
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
