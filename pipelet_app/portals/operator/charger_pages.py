"""Charger detail (connectors, commands with the charger's answers, sessions with missing 2.0.1 messages
and unusual readings flagged, held sessions confirmed or corrected, reservations, monthly uptime, message
log, configuration) and the fault list of the operator console."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.layout import (
    card,
    charger_status_badge,
    coded_text,
    confirm_button,
    data_table,
    empty_state,
    online_badge,
    shell,
)
from pipelet_app.portals.operator.charger_screen import screen_cards
from pipelet_app.portals.operator.charger_state import (
    SHOWN_PASSWORD,
    SHOWN_PASSWORD_DISPLAY,
    ChargerState,
    FaultsState,
)
from pipelet_app.portals.operator.onboarding_pages import charger_setup_card

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


SESSION_COLUMNS = [
    (T["col.when"], "start"),
    (T["pv.end"], "end"),
    (T["col.token"], "id_tag"),
    (T["col.energy"], "energy_kwh"),
    (T["charger.power"], "power"),
    (T["col.cost"], "cost"),
    (T["fleet.reason"], "reason"),
]


def _missing_badge(count: rx.Var) -> rx.Component:
    """Flag a 2.0.1 transaction with seqNo gaps ("3 messages missing"); nothing when it is complete."""
    return rx.cond(
        count != "0",
        rx.badge(
            count,
            " ",
            rx.cond(count == "1", T["charger.missing_one"], T["charger.missing_many"]),
            color_scheme="orange",
            class_name="missing-messages",
        ),
    )


def _review_cell(row: rx.Var) -> rx.Component:
    """What was unusual about the readings; a held session gets Confirm and a kWh correction."""
    return rx.vstack(
        rx.cond(row["flags"] != "", rx.text(row["flags"], size="1", class_name="session-flags")),
        rx.cond(
            row["reported_kwh"] != "",
            rx.text(T["charger.reported"], ": ", row["reported_kwh"], " kWh", size="1", color_scheme="gray"),
        ),
        rx.cond(
            row["held"] == "1",
            rx.hstack(
                rx.badge(T["charger.held"], color_scheme="red", class_name="session-held"),
                rx.button(
                    T["charger.confirm"],
                    size="1",
                    variant="soft",
                    on_click=ChargerState.confirm_session(row["tx"]),
                    class_name="session-confirm",
                ),
                rx.form(
                    rx.hstack(
                        rx.input(type="hidden", name="transaction_id", value=row["tx"]),
                        rx.input(
                            name="energy_kwh",
                            placeholder=T["charger.corrected_kwh"],
                            aria_label=T["charger.corrected_kwh"],
                            size="1",
                            width="6em",
                            class_name="session-correct-kwh",
                        ),
                        rx.button(T["charger.correct"], size="1", variant="outline", type="submit"),
                        spacing="1",
                    ),
                    on_submit=ChargerState.correct_session,
                    reset_on_submit=True,
                ),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
        ),
        spacing="1",
    )


def _stop_button(tx: rx.Var, button_id: rx.Var | str) -> rx.Component:
    return rx.button(
        rx.icon("square", size=14),
        T["charger.stop"],
        size="2",
        color_scheme="red",
        variant="soft",
        disabled=ChargerState.sending,
        on_click=ChargerState.stop(tx),
        id=button_id,
        class_name="session-stop",
    )


def _session_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        *[
            rx.table.cell(coded_text("reason", row[key]) if key == "reason" else row[key])
            for _, key in SESSION_COLUMNS
        ],
        rx.table.cell(rx.cond(row["running"] == "1", _stop_button(row["tx"], "stop-" + row["tx"]))),
        rx.table.cell(_missing_badge(row["missing"])),
        rx.table.cell(_review_cell(row)),
        class_name=rx.cond(row["held"] == "1", "session-row held", "session-row"),
    )


def _sessions_table() -> rx.Component:
    """Like `data_table`, plus a cell that flags sessions whose transaction is missing messages."""
    return rx.cond(
        ChargerState.sessions.length() > 0,
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[rx.table.column_header_cell(label) for label, _ in SESSION_COLUMNS],
                    rx.table.column_header_cell(""),
                    rx.table.column_header_cell(T["charger.messages_col"]),
                    rx.table.column_header_cell(T["charger.flags_col"]),
                )
            ),
            rx.table.body(rx.foreach(ChargerState.sessions, _session_row)),
            width="100%",
            variant="surface",
            id="charger-sessions",
        ),
        empty_state(T["empty.charger_sessions"]),
    )


def _start_form(row: rx.Var) -> rx.Component:
    """Start on this connector with a token picked from the tenant's own (no typing, no JSON)."""
    return rx.form(
        rx.hstack(
            rx.input(type="hidden", name="connector", value=row["id"]),
            rx.el.select(
                rx.foreach(ChargerState.tokens, lambda t: rx.el.option(t, value=t)),
                name="id_tag",
                id="start-token-" + row["id"],
                aria_label=T["charger.token"],
                style={"minHeight": "2.25em", "padding": "0 0.5em"},
            ),
            rx.button(
                rx.icon("play", size=14),
                T["charger.start"],
                type="submit",
                size="2",
                variant="soft",
                color_scheme="green",
                disabled=ChargerState.sending,
                id="start-" + row["id"],
            ),
            spacing="2",
            align="center",
        ),
        on_submit=ChargerState.start,
    )


def _connector_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["id"]),
        rx.table.cell(charger_status_badge(row["status"], id="connector-status-" + row["id"])),
        rx.table.cell(coded_text("error_code", row["error"])),
        rx.table.cell(row["since"]),
        rx.table.cell(
            rx.cond(
                row["running_tx"] != "",
                _stop_button(row["running_tx"], "stop-connector-" + row["id"]),
                _start_form(row),
            )
        ),
    )


def _connectors_table() -> rx.Component:
    """Each connector's status with its command next to it: Stop for the session running there, else
    Start with a token picker."""
    return rx.table.root(
        rx.table.header(
            rx.table.row(
                *[
                    rx.table.column_header_cell(h)
                    for h in ("#", T["col.status"], T["charger.error"], T["charger.since"], "")
                ]
            )
        ),
        rx.table.body(rx.foreach(ChargerState.connectors, _connector_row)),
        width="100%",
        variant="surface",
        id="charger-connectors",
    )


def _security_card(s: rx.Var) -> rx.Component:
    """How the charger authenticates, a warning when it does not, and a new password shown once."""
    return card(
        T["charger.security"],
        rx.hstack(
            _fact(
                T["charger.auth_mode"],
                rx.cond(s["auth_mode"] == "none", T["charger.auth_none"], T["charger.auth_basic"]),
            ),
            confirm_button(  # the old password stops working at once: the charger is refused until set
                rx.button(
                    T["charger.rotate_password"], size="2", variant="soft", id="charger-rotate-password"
                ),
                ChargerState.rotate_password,
                T["charger.rotate_confirm"],
                T["charger.rotate_password"],
            ),
            rx.cond(
                s["auth_mode"] == "none",
                rx.button(
                    T["charger.require_password"],
                    size="2",
                    variant="outline",
                    on_click=ChargerState.set_auth_mode("basic"),
                    id="charger-require-password",
                ),
                rx.button(
                    T["charger.allow_no_auth"],
                    size="2",
                    variant="outline",
                    color_scheme="red",
                    on_click=ChargerState.set_auth_mode("none"),
                    id="charger-allow-no-auth",
                ),
            ),
            spacing="4",
            align="end",
            wrap="wrap",
        ),
        rx.cond(
            s["auth_mode"] == "none",
            rx.callout(
                T["charger.auth_none_warning"],
                color_scheme="red",
                icon="shield-alert",
                id="charger-auth-warning",
            ),
            rx.cond(
                s["password"] == "missing",
                rx.callout(
                    T["charger.password_missing"],
                    color_scheme="orange",
                    icon="key-round",
                    id="charger-auth-warning",
                ),
            ),
        ),
        # Filled by rotate_password's one-off script, never from state (see ChargerState).
        rx.box(
            rx.callout(
                rx.vstack(
                    rx.text(T["charger.password_shown_once"]), rx.el.code(SHOWN_PASSWORD, id="new-password")
                ),
                color_scheme="green",
            ),
            id="new-password-box",
            display=SHOWN_PASSWORD_DISPLAY,
        ),
    )


def charger_page() -> rx.Component:
    s = ChargerState.summary
    return shell(
        rx.hstack(
            rx.text(s["id"]),
            online_badge(s["online"], id="charger-online"),
            align="center",
            spacing="3",
        ),
        rx.link("← ", T["operator.title"], href="/operator"),
        rx.box(on_unmount=ChargerState.unfollow, display="none"),  # leaving the page ends its live follower
        card(
            T["charger.facts"],
            rx.hstack(
                _fact(T["col.model"], s["model"]),
                _fact(T["charger.serial"], s["serial"]),
                _fact("Firmware", s["firmware"]),
                _fact("OCPP", s["ocpp"]),
                rx.vstack(
                    rx.text(T["col.status"], size="1", color_scheme="gray"),
                    charger_status_badge(s["status"], id="charger-status"),
                    rx.text(
                        T["charger.since"], " ", s["since"], size="1", color_scheme="gray", id="charger-since"
                    ),
                    spacing="1",
                ),
                _fact(T["charger.last_seen"], s["last_seen"]),
                _fact(T["charger.timezone"], s["timezone"]),
                spacing="6",
                wrap="wrap",
            ),
            _connectors_table(),
        ),
        _security_card(s),
        charger_setup_card(),
        card(
            T["charger.commands"],
            rx.hstack(rx.foreach(ChargerState.quick, _quick_button), wrap="wrap", spacing="2"),
            rx.heading(T["charger.advanced"], size="2", as_="h3", margin_top="0.5em"),
            rx.text(T["charger.advanced_hint"], size="1", color_scheme="gray"),
            rx.form(
                rx.flex(
                    rx.vstack(
                        rx.el.label(T["charger.command"], html_for="command-name"),
                        rx.input(name="name", placeholder="trigger-message", id="command-name", width="14em"),
                        spacing="1",
                    ),
                    rx.vstack(
                        rx.el.label(T["charger.payload"], html_for="command-payload"),
                        rx.input(
                            name="payload",
                            placeholder='{"requestedMessage": "StatusNotification"}',
                            id="command-payload",
                            width="100%",
                            min_width="16em",
                        ),
                        spacing="1",
                        flex_grow="1",
                    ),
                    rx.button(
                        T["charger.send"], type="submit", disabled=ChargerState.sending, id="command-send"
                    ),
                    spacing="2",
                    align="end",
                    wrap="wrap",
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
        screen_cards(),
        card(T["driver.recent"], _sessions_table()),
        card(
            T["charger.reservations"],
            data_table(
                [
                    ("#", "id"),
                    (T["charger.connector"], "connector"),
                    (T["col.token"], "id_tag"),
                    (T["col.expires"], "expires"),
                    (T["col.status"], "status"),
                    (T["charger.session"], "session"),
                ],
                ChargerState.reservations,
                "charger-reservations",
                coded={"status": "reservation_status"},
            ),
        ),
        card(
            T["charger.uptime"],
            data_table(
                [
                    (T["charger.month"], "month"),
                    (T["col.online"], "online"),
                    (T["charger.degraded"], "degraded"),
                    (T["charger.offline"], "offline"),
                ],
                ChargerState.uptime,
                "charger-uptime",
            ),
        ),
        card(
            T["charger.messages"],
            data_table(
                [
                    (T["col.when"], "at"),
                    ("", "direction"),
                    (T["charger.action"], "action"),
                    (T["charger.payload_col"], "payload"),
                    (T["charger.answer"], "answer"),
                ],
                ChargerState.messages,
                "charger-messages",
                coded={"direction": "direction"},
            ),
        ),
        card(
            T["charger.configuration"],
            data_table(
                [(T["col.name"], "name"), (T["charger.value"], "value"), ("", "mutability")],
                ChargerState.configuration,
                "charger-configuration",
                coded={"mutability": "mutability"},
            ),
        ),
    )


def faults_page() -> rx.Component:
    t = FaultsState.tr
    return shell(
        t["faults.title"],
        rx.box(on_unmount=FaultsState.unfollow, display="none"),  # leaving the page ends its live follower
        card(
            t["faults.title"],
            data_table(
                [
                    (t["operator.chargers"], "charger"),
                    ("#", "connector"),
                    (t["col.status"], "status"),
                    (t["charger.error"], "error"),
                    (t["charger.info"], "info"),
                    (t["charger.since"], "since"),
                    (t["faults.until"], "until"),
                    (t["faults.duration"], "duration"),
                ],
                FaultsState.faults,
                "faults",
                coded={"status": "charger_status", "error": "error_code"},
            ),
        ),
    )
