"""The sign-in page and the invitation page."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.layout import header
from pipelet_app.portals.public.state import InviteState, LoginState

T = LoginState.tr


def _centered(*children: rx.Component) -> rx.Component:
    return rx.box(
        header(),
        rx.center(
            rx.card(rx.vstack(*children, spacing="4", width="100%"), width="26em", size="4"),
            padding_top="5em",
        ),
        min_height="100vh",
        background="#f8fafc",
    )


def login_page() -> rx.Component:
    return _centered(
        rx.heading(T["login.title"], size="6"),
        rx.text(T["app.tagline"], color_scheme="gray", size="2"),
        rx.cond(
            LoginState.demo,
            rx.callout(T["login.demo_notice"], color_scheme="amber", icon="info", id="login-demo-notice"),
        ),
        # A plain form post to the route that sets the HttpOnly cookie. Reflex forms always prevent the
        # default submit, so a browser-side script submits natively: the password never enters an event.
        rx.el.form(
            rx.vstack(
                rx.input(
                    placeholder=T["login.email"],
                    name="email",
                    type="email",
                    required=True,
                    id="email",
                    width="100%",
                ),
                rx.input(
                    placeholder=T["login.password"],
                    name="password",
                    type="password",
                    required=True,
                    id="password",
                    width="100%",
                ),
                rx.button(T["login.submit"], type="submit", width="100%", id="login-submit"),
                spacing="3",
            ),
            action="/auth/login",
            method="post",
            id="login-form",
            on_submit=rx.call_script("document.getElementById('login-form').submit()"),
            width="100%",
        ),
        rx.cond(
            LoginState.error != "",
            rx.callout(LoginState.error, color_scheme="red", icon="triangle-alert", id="login-error"),
        ),
    )


def invite_page() -> rx.Component:
    t = InviteState.tr
    return _centered(
        rx.heading(t["invite.title"], size="6"),
        rx.cond(
            InviteState.invite_done,
            rx.vstack(
                rx.callout(t["invite.done"], color_scheme="green", id="invite-done"),
                rx.link(t["login.submit"], href="/login"),
            ),
            rx.vstack(
                rx.cond(InviteState.invite_email != "", rx.text(InviteState.invite_email, weight="bold")),
                rx.cond(
                    InviteState.invite_email != "",
                    rx.form(
                        rx.vstack(
                            rx.input(
                                placeholder=t["invite.name"], name="name", id="invite-name", width="100%"
                            ),
                            rx.input(
                                placeholder=t["invite.password"],
                                name="password",
                                type="password",
                                id="invite-password",
                                width="100%",
                            ),
                            rx.button(t["invite.submit"], type="submit", width="100%", id="invite-accept"),
                            spacing="3",
                        ),
                        on_submit=InviteState.accept,
                        width="100%",
                    ),
                ),
                rx.cond(
                    InviteState.invite_error != "",
                    rx.callout(InviteState.invite_error, color_scheme="red", id="invite-page-error"),
                ),
                width="100%",
            ),
        ),
    )
