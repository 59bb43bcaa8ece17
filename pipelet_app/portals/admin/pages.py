"""Admin page: invite users and see open invitations."""

from __future__ import annotations

import reflex as rx

from pipelet_app.db.models import Role
from pipelet_app.portals.admin.state import AdminState
from pipelet_app.portals.layout import card, data_table, shell

T = AdminState.tr


def admin_page() -> rx.Component:
    form = rx.form(
        rx.vstack(
            rx.input(
                placeholder=T["col.email"], name="email", type="email", required=True, id="invite-email"
            ),
            rx.input(placeholder=T["col.name"], name="name", id="invite-name", width="24em"),
            rx.hstack(
                rx.select.root(
                    rx.select.trigger(placeholder=T["admin.role"], id="invite-role"),
                    rx.select.content(*[rx.select.item(T[f"role.{r.value}"], value=r.value) for r in Role]),
                    name="role",
                ),
                rx.select.root(
                    rx.select.trigger(placeholder=T["admin.tenant"], id="invite-tenant"),
                    rx.select.content(
                        rx.foreach(AdminState.tenants, lambda t: rx.select.item(t["label"], value=t["id"]))
                    ),
                    name="tenant",
                ),
                rx.select.root(
                    rx.select.trigger(placeholder=T["admin.partner"], id="invite-partner"),
                    rx.select.content(
                        rx.foreach(AdminState.partners, lambda p: rx.select.item(p["label"], value=p["id"]))
                    ),
                    name="spv_partner",
                ),
                spacing="3",
            ),
            rx.button(T["admin.send"], type="submit", id="invite-submit"),
            spacing="3",
            width="100%",
        ),
        on_submit=AdminState.send_invite,
        reset_on_submit=True,
    )
    return shell(
        T["admin.title"],
        card(
            T["admin.invite"],
            form,
            rx.cond(
                AdminState.invite_error != "",
                rx.callout(AdminState.invite_error, color_scheme="red", id="invite-error"),
            ),
            rx.cond(
                AdminState.invite_link != "",
                rx.callout(
                    rx.vstack(rx.text(T["admin.link"]), rx.code(AdminState.invite_link, id="invite-link")),
                    color_scheme="green",
                ),
            ),
        ),
        card(
            T["admin.pending"],
            data_table(
                [
                    (T["col.email"], "email"),
                    (T["admin.role"], "role"),
                    (T["admin.tenant"], "tenant"),
                    (T["col.expires"], "expires"),
                ],
                AdminState.invitations,
                "admin-invitations",
                coded={"role": "role"},
            ),
        ),
    )
