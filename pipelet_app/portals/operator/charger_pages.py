"""Charger detail (connectors, commands with the charger's answers, sessions, message log, configuration)
and the fault list of the operator console."""

from __future__ import annotations

import reflex as rx

from pipelet_app.components.layout import card, data_table, shell
from pipelet_app.portals.operator.charger_state import ChargerState, FaultsState

T = ChargerState.tr


def _fact(label: rx.Var | str, value: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"), rx.text(value, weight="medium"), spacing="0"
    )


def _quick_button(cmd: rx.Var) -> rx.Component:
    return rx.button(
        T[cmd["label"]],
        size="2",
        variant="soft",
        disabled=ChargerState.sending,
        on_click=ChargerState.send(cmd["name"], cmd["payload"]),
    )


def charger_page() -> rx.Component:
    s = ChargerState.summary
    return shell(
        rx.hstack(
            rx.text(s["id"]),
            rx.badge(
                s["online"],
                color_scheme=rx.cond(s["online"] == "online", "green", "gray"),
                id="charger-online",
            ),
            align="center",
            spacing="3",
        ),
        rx.link("← ", T["operator.title"], href="/operator"),
        card(
            T["charger.facts"],
            rx.hstack(
                _fact(T["col.model"], s["model"]),
                _fact("Serial", s["serial"]),
                _fact("Firmware", s["firmware"]),
                _fact("OCPP", s["ocpp"]),
                _fact(T["col.status"], s["status"]),
                _fact(T["charger.last_seen"], s["last_seen"]),
                spacing="6",
                wrap="wrap",
            ),
            data_table(
                [
                    ("#", "id"),
                    (T["col.status"], "status"),
                    (T["charger.error"], "error"),
                    (T["charger.since"], "since"),
                ],
                ChargerState.connectors,
                "charger-connectors",
            ),
        ),
        card(
            T["charger.commands"],
            rx.hstack(rx.foreach(ChargerState.quick, _quick_button), wrap="wrap", spacing="2"),
            rx.form(
                rx.hstack(
                    rx.input(name="name", placeholder="remote-start", id="command-name", width="14em"),
                    rx.input(
                        name="payload",
                        placeholder='{"idTag": "ACME0001", "connectorId": 1}',
                        id="command-payload",
                        width="28em",
                    ),
                    rx.button(
                        T["charger.send"], type="submit", disabled=ChargerState.sending, id="command-send"
                    ),
                    spacing="2",
                ),
                on_submit=ChargerState.send_custom,
            ),
            rx.cond(ChargerState.sending, rx.hstack(rx.spinner(), rx.text(T["charger.waiting"]))),
            rx.cond(
                ChargerState.answer != "",
                rx.callout(ChargerState.answer, color_scheme="green", id="command-answer"),
            ),
            rx.cond(
                ChargerState.answer_error != "",
                rx.callout(ChargerState.answer_error, color_scheme="red", id="command-error"),
            ),
        ),
        card(
            T["driver.recent"],
            data_table(
                [
                    (T["col.when"], "start"),
                    (T["pv.end"], "end"),
                    (T["col.token"], "id_tag"),
                    (T["col.energy"], "energy_kwh"),
                    (T["fleet.reason"], "reason"),
                ],
                ChargerState.sessions,
                "charger-sessions",
            ),
        ),
        card(
            T["charger.messages"],
            data_table(
                [
                    (T["col.when"], "at"),
                    ("", "direction"),
                    ("Action", "action"),
                    ("Payload", "payload"),
                    (T["charger.answer"], "answer"),
                ],
                ChargerState.messages,
                "charger-messages",
            ),
        ),
        card(
            T["charger.configuration"],
            data_table(
                [(T["col.name"], "name"), ("Value", "value"), ("", "mutability")],
                ChargerState.configuration,
                "charger-configuration",
            ),
        ),
    )


def faults_page() -> rx.Component:
    t = FaultsState.tr
    return shell(
        t["faults.title"],
        card(
            t["faults.title"],
            data_table(
                [
                    (t["operator.chargers"], "charger"),
                    ("#", "connector"),
                    (t["col.status"], "status"),
                    (t["charger.error"], "error"),
                    ("Info", "info"),
                    (t["charger.since"], "since"),
                    (t["faults.until"], "until"),
                    (t["faults.duration"], "duration"),
                ],
                FaultsState.faults,
                "faults",
            ),
        ),
    )
