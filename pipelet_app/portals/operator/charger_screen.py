"""Two cards on the charger page for OCPP 2.0.1 stations: the messages on the charger's screen (list,
ask the station, set, clear with a confirmation) and customer information (request a report, clear a
customer's data with a confirmation, the reports the station sent back).

Every handler checks role and tenant itself (`own_charger` inside the guarded call) before it builds a
payload, and payloads are built and checked in `operations.charger_screen` (errors name the field).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import reflex as rx

from pipelet_app.auth import Principal
from pipelet_app.i18n.words import command_error_text
from pipelet_app.ocpp.errors import CommandError
from pipelet_app.operations import charger_screen as screen
from pipelet_app.operations import chargers as operations
from pipelet_app.portals.layout import card, confirm_button, data_table, field
from pipelet_app.portals.session_state import SessionState
from pipelet_app.services.session import Session

_SELECT_STYLE = {"minHeight": "2.25em", "padding": "0 0.5em"}


class ChargerScreenState(SessionState):
    is_201: bool = False
    display_messages: list[dict[str, str]] = []
    customer_reports: list[dict[str, str]] = []
    screen_answer: str = ""
    screen_error: str = ""
    screen_sending: bool = False
    # The customer form is held in state: the Clear button sends it through a confirmation dialog.
    ci_kind: str = "idToken"
    ci_value: str = ""
    ci_token_type: str = "ISO14443"

    def _cp_id(self) -> str:
        return str(self.router.page.params.get("cp_id", ""))

    async def _reload(self):
        cp_id = self._cp_id()
        result = await self._guarded_off_loop(lambda db, p: screen.screen_view(db, p, cp_id))
        view = result.value or {}
        self.is_201 = bool(view.get("is_201", False))
        self.display_messages = view.get("messages", [])
        self.customer_reports = view.get("reports", [])
        return result

    @rx.event
    async def load(self):
        self.screen_answer = self.screen_error = ""
        return (await self._reload()).redirect

    async def _send(self, name: str, build: Callable[[Session, Principal], dict[str, Any]]):
        """Role and tenant, then the payload (its own checks), then the charger's answer or why none."""
        self.screen_answer = self.screen_error = ""
        cp_id = self._cp_id()
        allowed = await self._guarded_off_loop(
            lambda db, p: (operations.own_charger(db, p, cp_id), build(db, p), p)[1:]
        )
        if allowed.value is None:
            self.screen_error = allowed.error or allowed.denied
            self.denied = ""
            if allowed.redirect:
                yield allowed.redirect
            return
        self.screen_sending = True
        yield
        try:
            payload, principal = allowed.value
            answer = await operations.command(cp_id, name, payload, by=principal)
            self.screen_answer = f"{name}: {json.dumps(answer)}"
        except CommandError as exc:
            self.screen_error = command_error_text(name, type(exc).__name__, str(exc), self.locale)
        finally:
            self.screen_sending = False
        await self._reload()

    @rx.event
    async def set_message(self, form: dict):
        cp_id = self._cp_id()

        def build(db: Session, p: Principal) -> dict[str, Any]:
            _, zone = screen.charger_zone(db, p, cp_id)
            return screen.display_message_payload(form, zone)

        async for update in self._send("set-display-message", build):
            yield update

    @rx.event
    async def clear_message(self, message_id: str):
        cp_id = self._cp_id()
        async for update in self._send(
            "clear-display-message",
            lambda db, p: {"id": screen.existing_message_id(db, p, cp_id, str(message_id))},
        ):
            yield update

    @rx.event
    async def ask_messages(self):
        """GetDisplayMessages: the station reports what it shows (NotifyDisplayMessages, stored)."""
        async for update in self._send("get-display-messages", lambda _db, _p: {}):
            yield update

    @rx.event
    def set_ci_kind(self, value: str):
        self.ci_kind = value

    @rx.event
    def set_ci_value(self, value: str):
        self.ci_value = value

    @rx.event
    def set_ci_token_type(self, value: str):
        self.ci_token_type = value

    async def _customer(self, *, report: bool, clear: bool):
        kind, value, token_type = self.ci_kind, self.ci_value, self.ci_token_type
        async for update in self._send(
            "customer-information",
            lambda _db, _p: screen.customer_information_payload(
                kind, value, token_type, report=report, clear=clear
            ),
        ):
            yield update

    @rx.event
    async def request_report(self):
        async for update in self._customer(report=True, clear=False):
            yield update

    @rx.event
    async def clear_customer(self):
        async for update in self._customer(report=True, clear=True):
            yield update


S = ChargerScreenState
T = S.tr


def _select(name: str, options: tuple[str, ...], labels: dict[str, Any], **props: Any) -> rx.Component:
    return rx.el.select(
        *[rx.el.option(labels.get(option, option), value=option) for option in options],
        name=name,
        style=_SELECT_STYLE,
        **props,
    )


def _priorities() -> dict[str, Any]:
    return {"AlwaysFront": T["dm.p_always"], "InFront": T["dm.p_front"], "NormalCycle": T["dm.p_normal"]}


def _states() -> dict[str, Any]:
    return {
        "": T["dm.s_any"],
        "Charging": T["dm.s_charging"],
        "Faulted": T["dm.s_faulted"],
        "Idle": T["dm.s_idle"],
        "Unavailable": T["dm.s_unavailable"],
    }


def _worded(code: rx.Var, words: dict[str, Any]) -> rx.Var:
    """An OCPP value (`AlwaysFront`, `Charging`) in the words the set form uses; an unknown one as it is."""
    return rx.match(code, *words.items(), code)


def _message_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["id"]),
        rx.table.cell(row["content"]),
        rx.table.cell(_worded(row["priority"], _priorities())),
        rx.table.cell(_worded(row["state"], _states())),
        rx.table.cell(row["start"]),
        rx.table.cell(row["end"]),
        rx.table.cell(rx.cond(row["source"] == "set", T["dm.source_set"], T["dm.source_reported"])),
        rx.table.cell(
            confirm_button(
                rx.button(
                    T["dm.clear"],
                    size="1",
                    color_scheme="red",
                    variant="soft",
                    disabled=S.screen_sending,
                    id="dm-clear-" + row["id"],
                ),
                S.clear_message(row["id"]),
                T["dm.clear_confirm"],
                T["dm.clear"],
            )
        ),
        class_name="display-message-row",
    )


def _messages_table() -> rx.Component:
    headers = (
        "#",
        T["dm.text"],
        T["dm.priority"],
        T["dm.state"],
        T["dm.start"],
        T["dm.end"],
        T["dm.source"],
        "",
    )
    return rx.cond(
        S.display_messages.length() > 0,
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
            rx.table.body(rx.foreach(S.display_messages, _message_row)),
            width="100%",
            variant="surface",
            id="display-messages",
        ),
        rx.text(T["dm.none"], color_scheme="gray", id="display-messages-empty"),
    )


def _set_form() -> rx.Component:
    priorities, states = _priorities(), _states()
    return rx.form(
        rx.flex(
            field(T["dm.id"], rx.input(name="message_id", id="dm-id", width="6em", required=True)),
            field(
                T["dm.text"],
                rx.input(name="content", id="dm-content", min_width="16em", required=True, max_length=512),
                flex_grow="1",
            ),
            field(T["dm.language"], rx.input(name="language", id="dm-language", width="5em")),
            field(T["dm.priority"], _select("priority", screen.PRIORITIES, priorities, id="dm-priority")),
            field(T["dm.state"], _select("state", screen.STATES, states, id="dm-state")),
            field(T["dm.start"], rx.input(name="start", type="datetime-local", id="dm-start")),
            field(T["dm.end"], rx.input(name="end", type="datetime-local", id="dm-end")),
            rx.button(T["dm.set"], type="submit", disabled=S.screen_sending, id="dm-set"),
            spacing="3",
            align="end",
            wrap="wrap",
        ),
        on_submit=S.set_message,
        reset_on_submit=False,
    )


def _customer_card() -> rx.Component:
    kinds = {
        "idToken": T["ci.kind_token"],
        "customerIdentifier": T["ci.kind_identifier"],
        "customerCertificate": T["ci.kind_certificate"],
    }
    return card(
        T["ci.title"],
        rx.text(T["ci.hint"], size="1", color_scheme="gray"),
        rx.flex(
            field(
                T["ci.kind"],
                rx.el.select(
                    *[rx.el.option(kinds[k], value=k) for k in screen.CUSTOMER_KINDS],
                    value=S.ci_kind,
                    on_change=S.set_ci_kind,
                    id="ci-kind",
                    style=_SELECT_STYLE,
                ),
            ),
            field(
                T["ci.customer"],
                rx.input(value=S.ci_value, on_change=S.set_ci_value, id="ci-customer", min_width="16em"),
                flex_grow="1",
            ),
            rx.cond(
                S.ci_kind == "idToken",
                field(
                    T["ci.token_type"],
                    rx.el.select(
                        *[rx.el.option(t, value=t) for t in screen.TOKEN_TYPES],
                        value=S.ci_token_type,
                        on_change=S.set_ci_token_type,
                        id="ci-token-type",
                        style=_SELECT_STYLE,
                    ),
                ),
            ),
            rx.button(T["ci.request"], on_click=S.request_report, disabled=S.screen_sending, id="ci-request"),
            confirm_button(
                rx.button(
                    T["ci.clear"],
                    color_scheme="red",
                    variant="soft",
                    disabled=S.screen_sending,
                    id="ci-clear",
                ),
                S.clear_customer,
                T["ci.clear_confirm"],
                T["ci.clear"],
            ),
            spacing="3",
            align="end",
            wrap="wrap",
        ),
        rx.heading(T["ci.reports"], size="2", as_="h3", margin_top="0.5em"),
        data_table(
            [
                (T["ci.request_id"], "request"),
                (T["ci.generated"], "generated"),
                (T["ci.data"], "data"),
                (T["ci.parts"], "parts"),
            ],
            S.customer_reports,
            "customer-reports",
        ),
    )


def screen_cards() -> rx.Component:
    """Both cards, only for a 2.0.1 charger (1.6 has neither use case)."""
    return rx.cond(
        S.is_201,
        rx.vstack(
            card(
                T["dm.title"],
                rx.hstack(
                    rx.button(
                        T["dm.ask"],
                        size="2",
                        variant="soft",
                        on_click=S.ask_messages,
                        disabled=S.screen_sending,
                        id="dm-ask",
                    ),
                    spacing="2",
                ),
                _messages_table(),
                rx.heading(T["dm.new"], size="2", as_="h3", margin_top="0.5em"),
                _set_form(),
            ),
            _customer_card(),
            rx.cond(S.screen_sending, rx.hstack(rx.spinner(), rx.text(T["charger.waiting"]))),
            rx.cond(
                S.screen_answer != "", rx.callout(S.screen_answer, color_scheme="green", id="screen-answer")
            ),
            rx.cond(S.screen_error != "", rx.callout(S.screen_error, color_scheme="red", id="screen-error")),
            width="100%",
            spacing="4",
        ),
    )
