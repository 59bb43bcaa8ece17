"""`/operator/notifications`: which e-mails this operator gets, for which sites (docs/health.md)."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.layout import card, field, shell
from pipelet_app.portals.operator.notifications_state import NotificationsState

T = NotificationsState.tr
S = NotificationsState


def _flag(name: str) -> rx.Component:
    return rx.el.label(
        rx.hstack(
            # Radix renders a <button role="checkbox">: its own name, the wrapping label is not enough for axe
            rx.checkbox(
                name=name, default_checked=S.flags[name], id=f"notify-{name}", aria_label=T[f"notify.{name}"]
            ),
            rx.text(T[f"notify.{name}"]),
            align="center",
            min_height="44px",
        )
    )


def _site(site: rx.Var) -> rx.Component:
    return rx.el.label(
        rx.hstack(
            rx.checkbox(
                name="site-" + site["id"].to(str),
                default_checked=site["chosen"].to(bool),
                id="notify-site-" + site["id"].to(str),
                aria_label=site["name"],
            ),
            rx.text(site["name"]),
            align="center",
            min_height="44px",
        )
    )


def notifications_page() -> rx.Component:
    return shell(
        T["notify.title"],
        card(
            T["notify.title"],
            rx.text(T["notify.intro"], size="2"),
            # Mounted once the subscription is loaded: the controls take their stored values as defaults.
            rx.cond(S.loaded, _form(), rx.spinner()),
        ),
    )


def _form() -> rx.Component:
    return rx.form(
        rx.vstack(
            _flag("faults"),
            _flag("recoveries"),
            _flag("daily_digest"),
            field(
                T["notify.digest_hour"],
                rx.el.select(
                    *[rx.el.option(f"{h:02d}:00", value=str(h)) for h in range(24)],
                    name="digest_hour",
                    default_value=S.digest_hour,
                    id="notify-digest-hour",
                ),
            ),
            field(
                T["notify.timezone"],
                rx.input(
                    name="timezone",
                    default_value=S.timezone,
                    placeholder=S.effective_timezone,
                    id="notify-timezone",
                ),
            ),
            rx.text(T["notify.sites"], size="2", weight="medium"),
            rx.text(T["notify.sites_hint"], size="1", color_scheme="gray"),
            rx.foreach(S.sites, _site),
            rx.button(T["notify.save"], type="submit", id="notify-save"),
            rx.cond(S.error != "", rx.callout(S.error, color_scheme="red", id="notify-error")),
            rx.cond(S.saved, rx.callout(T["notify.saved"], color_scheme="green", id="notify-saved")),
            spacing="2",
            align="start",
        ),
        on_submit=S.save,
    )
