"""The site editor: the site's fields, its devices (PV, grid, battery, chargers, loads), its MQTT topics
and the last 24 hours' energy. Thin over `SiteState`."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.layout import (
    card,
    coded_text,
    confirm_button,
    credential_inputs,
    field,
    row_table,
    shell,
    when_empty,
)
from pipelet_app.portals.operator import site_data
from pipelet_app.portals.operator.charger_state import SHOWN_PASSWORD, SHOWN_PASSWORD_DISPLAY
from pipelet_app.portals.operator.onboarding_pages import history_table
from pipelet_app.portals.operator.site_state import SiteState

T = SiteState.tr
KINDS = ["pv", "grid", "battery", "charger", "load"]
LIFECYCLE = ["planned", "construction", "commissioning", "operating", "decommissioned"]


def _field(label_key: str, name: str, **props) -> rx.Component:
    return field(
        T[label_key], rx.input(name=name, default_value=SiteState.form[name], id=f"site-{name}", **props)
    )


def _site_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            _field("site.name", "name", required=True),
            _field("site.timezone", "timezone", placeholder="Europe/Berlin"),
            _field("site.address", "address", placeholder="Landsberger Str. 110, 80339 München"),
            rx.hstack(
                _field("site.latitude", "latitude", placeholder="48.14"),
                _field("site.longitude", "longitude", placeholder="11.55"),
                width="100%",
            ),
            rx.hstack(
                _field("site.grid_limit", "grid_limit_a", placeholder="63"),
                _field("site.phases", "phases", placeholder="3"),
                width="100%",
            ),
            rx.hstack(
                _field("site.commissioning_date", "commissioning_date", placeholder="2026-11-30"),
                field(  # the label element names the select (axe select-name), the states in words
                    T["site.lifecycle_state"],
                    rx.el.select(
                        *[rx.el.option(T[f"lifecycle.{state}"], value=state) for state in LIFECYCLE],
                        name="lifecycle_state",
                        default_value=SiteState.form["lifecycle_state"],
                        id="site-lifecycle_state",
                    ),
                    width="100%",
                ),
                field(
                    T["site.spv"],
                    rx.el.select(
                        rx.el.option(T["site.no_spv"], value=""),
                        rx.foreach(SiteState.spvs, lambda spv: rx.el.option(spv["name"], value=spv["id"])),
                        name="spv_id",
                        default_value=SiteState.form["spv_id"],
                        id="site-spv_id",
                    ),
                    width="100%",
                ),
                width="100%",
            ),
            rx.hstack(
                rx.button(T["site.save"], type="submit", id="site-save"),
                rx.cond(SiteState.saved, rx.text(T["site.saved"], color_scheme="green", id="site-saved")),
                align="center",
            ),
            width="100%",
        ),
        on_submit=SiteState.save,
        key=SiteState.site_id,  # a fresh form (default values) whenever another site is shown
        width="100%",
    )


def _device_row(device: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(device["asset_id"]),
        rx.table.cell(coded_text("device_kind", device["kind"])),
        rx.table.cell(device["charge_point_id"]),
        rx.table.cell(device["connector_id"]),
        rx.table.cell(rx.cond(device["switch_phases"] == "yes", T["site.switch_phases_on"], "")),
        rx.table.cell(
            confirm_button(
                rx.button(
                    T["site.remove"],
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    id="remove-device-" + device["asset_id"],
                ),
                SiteState.remove_device(device["asset_id"]),
                T["site.remove_confirm"],
                T["site.remove"],
            )
        ),
    )


def _devices() -> rx.Component:
    return card(
        T["site.devices"],
        row_table(
            ("site.asset_id", "site.kind", "site.charge_point", "site.connector", "site.switch_phases", ""),
            SiteState.devices,
            _device_row,
            "site-devices",
        ),
        when_empty(SiteState.devices, T["empty.devices"]),
        rx.form(
            rx.hstack(
                field(T["site.asset_id"], rx.input(name="asset_id", required=True, id="device-asset")),
                field(
                    T["site.kind"],
                    rx.select.root(
                        rx.select.trigger(id="device-kind", aria_label=T["site.kind"]),
                        rx.select.content(*[rx.select.item(T[f"device_kind.{k}"], value=k) for k in KINDS]),
                        name="kind",
                        default_value="pv",
                    ),
                ),
                field(T["site.charge_point"], rx.input(name="charge_point_id", id="device-cp")),
                field(T["site.connector"], rx.input(name="connector_id", width="7em", id="device-connector")),
                rx.el.label(
                    rx.hstack(
                        # Radix renders a <button role="checkbox">: it needs its own name for axe
                        rx.checkbox(
                            name="switch_phases",
                            id="device-switch-phases",
                            aria_label=T["site.switch_phases"],
                        ),
                        rx.text(T["site.switch_phases"]),
                        align="center",
                        min_height="44px",
                    )
                ),
                rx.button(T["site.add_device"], type="submit", id="device-add"),
                width="100%",
            ),
            on_submit=SiteState.add_device,
            reset_on_submit=True,
            width="100%",
        ),
        rx.text(T["site.devices_hint"], size="1", color_scheme="gray"),
    )


def _inverter_row(link: dict) -> rx.Component:
    return rx.table.row(
        rx.table.cell(link["brand"]),
        rx.table.cell(link["system_id"]),
        rx.table.cell(link["asset_id"]),
        rx.table.cell(link["status"]),
        rx.table.cell(link["stored_until"]),
        rx.table.cell(
            rx.button(
                T["site.inverter_unlink"],
                on_click=SiteState.unlink_inverter(link["id"]),
                variant="soft",
                color_scheme="red",
                size="1",
            )
        ),
    )


def _inverters() -> rx.Component:
    """Inverter clouds as the site's PV source: the linked accounts and the form to link one."""
    return card(
        T["site.inverters"],
        row_table(
            (
                "site.inverter_brand",
                "site.inverter_system",
                "site.asset_id",
                "site.inverter_status",
                "site.inverter_until",
                "",
            ),
            SiteState.inverters,
            _inverter_row,
            "site-inverters",
        ),
        rx.form(
            rx.hstack(
                field(
                    T["site.inverter_brand"],
                    rx.select.root(
                        rx.select.trigger(id="inverter-brand", aria_label=T["site.inverter_brand"]),
                        rx.select.content(
                            rx.foreach(
                                SiteState.inverter_brands,
                                lambda brand: rx.select.item(brand["label"], value=brand["id"]),
                            )
                        ),
                        name="brand",
                        default_value="solaredge",
                    ),
                ),
                *credential_inputs(site_data.credential_inputs(), str, "inverter"),
                field(
                    T["site.inverter_system"], rx.input(name="system_id", width="9em", id="inverter-system")
                ),
                field(T["site.asset_id"], rx.input(name="asset_id", width="9em", id="inverter-asset")),
                rx.button(T["site.inverter_link"], type="submit", id="inverter-link"),
                width="100%",
                wrap="wrap",
                align="end",
            ),
            on_submit=SiteState.link_inverter,
            reset_on_submit=True,
            width="100%",
        ),
        rx.text(T["site.inverters_hint"], size="1", color_scheme="gray"),
    )


def _energy() -> rx.Component:
    rows = [
        ("site.pv_kwh", "pv_wh"),
        ("site.import_kwh", "grid_import_wh"),
        ("site.export_kwh", "grid_export_wh"),
        ("site.ev_kwh", "ev_wh"),
        ("site.ev_solar_kwh", "ev_solar_wh"),
    ]
    return card(
        T["site.energy_today"],
        rx.hstack(
            *[
                rx.vstack(rx.text(T[label], size="1", color_scheme="gray"), rx.text(SiteState.totals[key]))
                for label, key in rows
            ],
            spacing="6",
            id="site-energy",
        ),
        rx.text(T["site.mqtt"], size="2", weight="medium"),
        rx.code(SiteState.topics["measurements_topic"], id="site-topic-measurements"),
        rx.code(SiteState.topics["transactions_topic"], id="site-topic-transactions"),
        _mqtt_login(),
    )


def _mqtt_login() -> rx.Component:
    """The gateway's broker user and client id, whether it has a password, and a new one shown once (the
    old one stops working at once where the broker can be told: hence the confirmation)."""
    return rx.vstack(
        rx.text(T["site.mqtt_login"], size="2", weight="medium"),
        rx.hstack(
            rx.code(SiteState.mqtt_login["username"], id="site-mqtt-user"),
            # The gateway must connect with this client id: the broker refuses any other for this login.
            rx.text(T["site.mqtt_client_id"], size="2", color_scheme="gray"),
            rx.code(SiteState.mqtt_login["client_id"], id="site-mqtt-client-id"),
            rx.text(
                rx.cond(
                    SiteState.mqtt_login["issued"] != "",
                    T["site.mqtt_issued"] + " " + SiteState.mqtt_login["issued"],
                    T["site.mqtt_never"],
                ),
                size="2",
                color_scheme="gray",
                id="site-mqtt-issued",
            ),
            confirm_button(
                rx.button(T["site.mqtt_issue"], size="2", variant="soft", id="site-mqtt-issue"),
                SiteState.issue_mqtt_password,
                T["site.mqtt_confirm"],
                T["site.mqtt_issue"],
            ),
            spacing="3",
            align="center",
            wrap="wrap",
        ),
        # Filled by issue_mqtt_password's one-off script, never from state (see ChargerState).
        rx.box(
            rx.callout(
                rx.vstack(
                    rx.text(T["site.mqtt_shown_once"]),
                    rx.el.code(SHOWN_PASSWORD, id="new-password"),
                    rx.cond(SiteState.mqtt_pending, rx.text(T["site.mqtt_pending"], id="site-mqtt-pending")),
                ),
                color_scheme="green",
            ),
            id="new-password-box",
            display=SHOWN_PASSWORD_DISPLAY,
        ),
        spacing="2",
        width="100%",
    )


def site_page() -> rx.Component:
    return shell(
        rx.cond(SiteState.site_id != "", SiteState.form["name"], T["site.new"]),
        rx.cond(SiteState.error != "", rx.callout(SiteState.error, color_scheme="red", id="site-error")),
        card(T["site.facts"], _site_form()),
        rx.cond(
            SiteState.site_id != "",
            rx.fragment(
                rx.link(
                    T["surplus.link"],
                    href="/operator/sites/" + SiteState.site_id + "/surplus",
                    id="site-surplus",
                ),
                _devices(),
                _inverters(),
                _energy(),
                card(T["onb.history"], history_table(SiteState.history, "site-history")),
            ),
        ),
    )
