"""The public pay page `/pay/[cp_id]/[connector]`: made for a phone (390 px wide), one column."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.pay.state import PayState

T = PayState.tr
STATES = ("pending", "authorized", "captured", "cancelled", "failed")


def _offer() -> rx.Component:
    return rx.vstack(
        rx.text(PayState.site, weight="bold", size="4", id="pay-site"),
        rx.text(
            T["pay.connector"], " ", PayState.connector, " · ", PayState.charge_point, color_scheme="gray"
        ),
        rx.heading(T["pay.tariff"], as_="h2", size="3"),
        rx.foreach(PayState.tariff, lambda line: rx.text(line, size="2")),
        rx.hstack(
            rx.text(T["pay.hold"]),
            rx.text(PayState.preauth, " ", PayState.currency, weight="bold", id="pay-hold"),
            justify="between",
            width="100%",
        ),
        rx.text(T["pay.hold_note"], size="1", color_scheme="gray"),
        spacing="2",
        width="100%",
    )


def _form() -> rx.Component:
    """E-mail (for the receipt) and the pay button go to our server; the card goes into Stripe's
    Element, mounted into #pay-card by Stripe.js (state.MOUNT_JS), and from there to Stripe only."""
    return rx.form(
        rx.vstack(
            rx.input(
                name="email",
                placeholder=T["pay.email"],
                aria_label=T["pay.email"],
                required=True,
                id="pay-email",
                width="100%",
                size="3",
                type="email",
                auto_complete="email",
            ),
            rx.text(T["pay.card"], size="2", as_="label", html_for="pay-card"),
            rx.box(
                id="pay-card",
                width="100%",
                min_height="2.75em",
                padding="0.6em",
                border="1px solid #cbd5e1",
                border_radius="6px",
                background="white",
                overflow_x="hidden",
            ),
            rx.cond(
                PayState.error != "",
                rx.callout(PayState.error, color_scheme="red", id="pay-error", width="100%"),
            ),
            rx.button(
                T["pay.submit"],
                type="submit",
                size="4",
                width="100%",
                loading=PayState.busy,
                disabled=PayState.busy | ~PayState.available | ~PayState.card_ready,
                id="pay-submit",
            ),
            spacing="3",
            width="100%",
        ),
        on_submit=PayState.pay,
        width="100%",
    )


def _status() -> rx.Component:
    return rx.vstack(
        rx.heading(T["pay.status"], as_="h2", size="4"),
        rx.match(
            PayState.state,
            *[(s, rx.callout(T[f"pay.state.{s}"], id="pay-state", width="100%")) for s in STATES],
            rx.text(PayState.state),
        ),
        rx.cond(PayState.note != "", rx.text(PayState.note, size="1", color_scheme="gray", id="pay-note")),
        rx.cond(
            PayState.energy_kwh != "",
            rx.hstack(
                rx.text(T["pay.energy"]),
                rx.text(PayState.energy_kwh, id="pay-energy"),
                justify="between",
                width="100%",
            ),
        ),
        rx.foreach(
            PayState.lines,
            lambda line: rx.hstack(
                rx.text(line["label"], size="2"),
                rx.text(line["amount"], size="2"),
                justify="between",
                width="100%",
            ),
        ),
        rx.cond(
            PayState.total != "",
            rx.hstack(
                rx.text(T["pay.total"], weight="bold"),
                rx.text(PayState.total, " ", PayState.currency, weight="bold", id="pay-total"),
                justify="between",
                width="100%",
            ),
        ),
        rx.cond(
            PayState.captured != "",
            rx.hstack(
                rx.text(T["pay.captured"]),
                rx.text(PayState.captured, " ", PayState.currency, id="pay-captured"),
                justify="between",
                width="100%",
            ),
        ),
        rx.button(
            T["pay.refresh"], on_click=PayState.refresh, variant="soft", width="100%", id="pay-refresh"
        ),
        spacing="3",
        width="100%",
    )


def pay_page() -> rx.Component:
    return rx.box(
        rx.vstack(
            rx.heading(T["pay.title"], as_="h1", size="6"),
            rx.cond(
                PayState.found,
                rx.vstack(
                    _offer(),
                    rx.cond(
                        PayState.token != "",
                        _status(),
                        rx.vstack(
                            rx.cond(
                                ~PayState.available,
                                rx.callout(T["pay.unavailable"], color_scheme="amber", id="pay-unavailable"),
                            ),
                            rx.cond(
                                ~PayState.card_ready,
                                rx.callout(T["pay.card_off"], color_scheme="amber", id="pay-card-off"),
                            ),
                            _form(),
                            width="100%",
                        ),
                    ),
                    spacing="5",
                    width="100%",
                ),
                rx.text(T["pay.not_found"], id="pay-not-found"),
            ),
            spacing="4",
            width="100%",
            max_width="28em",
            margin_x="auto",
            padding="1em",
        ),
        min_height="100vh",
        background="#f8fafc",
    )
