"""The sign-in page, the password-reset pages and the invitation page."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.layout import error_callout, field, header, shell
from pipelet_app.portals.public.state import InviteState, LoginState, ResetState

T = LoginState.tr


def _centered(*children: rx.Component) -> rx.Component:
    return rx.box(
        header(),
        rx.el.main(
            rx.card(
                rx.vstack(*children, spacing="4", width="100%"), width="26em", max_width="100%", size="4"
            ),
            padding="5em 0.75em 0",
            display="flex",
            justify_content="center",
        ),
        min_height="100vh",
        background="#f8fafc",
    )


def login_page() -> rx.Component:
    return _centered(
        rx.heading(T["login.title"], as_="h1", size="6"),
        rx.text(T["app.tagline"], color_scheme="gray", size="2"),
        rx.cond(
            LoginState.demo,
            rx.callout(T["login.demo_notice"], color_scheme="amber", icon="info", id="login-demo-notice"),
        ),
        # A plain form post to the route that sets the HttpOnly cookie: the password never enters an event.
        _post_form(
            "login-form",
            "/auth/login",
            field(
                T["login.email"],
                rx.input(name="email", type="email", required=True, id="email", width="100%"),
                width="100%",
            ),
            field(
                T["login.password"],
                rx.input(name="password", type="password", required=True, id="password", width="100%"),
                width="100%",
            ),
            rx.button(T["login.submit"], type="submit", width="100%", id="login-submit"),
        ),
        error_callout(LoginState.error, "login-error"),
        rx.cond(
            LoginState.notice != "",
            rx.callout(LoginState.notice, color_scheme="green", icon="info", id="login-notice"),
        ),
        rx.link(T["reset.forgot"], href="/forgot-password", id="forgot-link", size="2"),
    )


def _post_form(form_id: str, action: rx.Var | str, *fields: rx.Component) -> rx.Component:
    """A native form post to one of the `/auth/...` routes, which answer with a redirect. Reflex forms always
    prevent the default submit, so a browser-side script submits natively: nothing typed enters an event."""
    return rx.el.form(
        rx.vstack(*fields, spacing="3", width="100%"),
        action=action,
        method="post",
        id=form_id,
        on_submit=rx.call_script(f"document.getElementById('{form_id}').submit()"),
        width="100%",
    )


def _reset_step(
    title: rx.Var,
    shown: rx.Var,
    lead: rx.Component,
    form_id: str,
    action: rx.Var | str,
    label: rx.Var,
    control: rx.Component,
    submit: tuple[rx.Var, str],
    back: tuple[rx.Var, str],
) -> rx.Component:
    """A step of the password reset (ask for a link, set the new password): heading, then while the step
    is possible a lead line and a one-field native post form, the error, and a link back."""
    return _centered(
        rx.heading(title, as_="h1", size="6"),
        rx.cond(
            shown,
            rx.vstack(
                lead,
                _post_form(
                    form_id,
                    action,
                    field(label, control, width="100%"),
                    rx.button(submit[0], type="submit", width="100%", id=submit[1]),
                ),
                width="100%",
            ),
        ),
        error_callout(ResetState.error, "reset-error"),
        rx.link(back[0], href=back[1]),
    )


def forgot_password_page() -> rx.Component:
    t = ResetState.tr
    return _reset_step(
        t["reset.ask_title"],
        ResetState.available,
        rx.text(t["reset.ask_intro"], size="2"),
        "reset-ask-form",
        "/auth/password-reset",
        t["login.email"],
        rx.input(name="email", type="email", required=True, id="reset-email", width="100%"),
        (t["reset.ask_submit"], "reset-ask-submit"),
        (t["login.submit"], "/login"),
    )


def reset_password_page() -> rx.Component:
    t = ResetState.tr
    return _reset_step(
        t["reset.title"],
        ResetState.link_ok,
        rx.text(ResetState.reset_email, weight="bold", id="reset-for"),
        "reset-form",
        "/auth/password-reset/" + ResetState.router.page.params.get("reset_token", "").to(str),
        t["reset.password"],
        rx.input(name="password", type="password", required=True, id="reset-password", width="100%"),
        (t["reset.submit"], "reset-submit"),
        (t["reset.ask_title"], "/forgot-password"),
    )


def invite_page() -> rx.Component:
    t = InviteState.tr
    return _centered(
        rx.heading(t["invite.title"], as_="h1", size="6"),
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
                    _post_form(
                        "invite-form",
                        "/auth/invitations/" + InviteState.router.page.params.get("invite_token", "").to(str),
                        field(
                            t["invite.name"],
                            rx.input(name="name", id="invite-name", width="100%"),
                            width="100%",
                        ),
                        field(
                            t["invite.password"],
                            rx.input(name="password", type="password", id="invite-password", width="100%"),
                            width="100%",
                        ),
                        rx.button(t["invite.submit"], type="submit", width="100%", id="invite-accept"),
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


def not_found_page() -> rx.Component:
    """An address with no page: say so in the reader's language and offer the way back."""
    return shell(
        T["notfound.title"],
        rx.text(T["notfound.text"], id="not-found"),
        rx.link(T["notfound.home"], href="/", size="4", weight="medium", id="not-found-home"),
    )
