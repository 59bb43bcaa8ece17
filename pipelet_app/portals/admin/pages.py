"""Admin page: invite users and see open invitations."""

from __future__ import annotations

import reflex as rx

from pipelet_app.auth import Role
from pipelet_app.portals.admin.state import AdminState
from pipelet_app.portals.layout import card, coded_text, confirm_button, data_table, field, shell

T = AdminState.tr


def admin_page() -> rx.Component:
    form = rx.form(
        rx.vstack(
            field(T["col.email"], rx.input(name="email", type="email", required=True, id="invite-email")),
            field(T["col.name"], rx.input(name="name", id="invite-name", width="24em", max_width="100%")),
            rx.hstack(
                field(
                    T["admin.role"],
                    rx.select.root(
                        rx.select.trigger(placeholder=T["admin.role"], id="invite-role"),
                        rx.select.content(
                            *[rx.select.item(T[f"role.{r.value}"], value=r.value) for r in Role]
                        ),
                        name="role",
                        on_change=AdminState.choose_role,
                    ),
                ),
                rx.cond(
                    AdminState.role_tenants.length() > 0,
                    field(
                        T["admin.tenant"],
                        rx.select.root(
                            rx.select.trigger(placeholder=T["admin.tenant"], id="invite-tenant"),
                            rx.select.content(
                                rx.foreach(
                                    AdminState.role_tenants,
                                    lambda t: rx.select.item(t["label"], value=t["id"]),
                                )
                            ),
                            name="tenant",
                        ),
                    ),
                ),
                field(
                    T["admin.partner"],
                    rx.select.root(
                        rx.select.trigger(placeholder=T["admin.partner"], id="invite-partner"),
                        rx.select.content(
                            rx.foreach(
                                AdminState.partners, lambda p: rx.select.item(p["label"], value=p["id"])
                            )
                        ),
                        name="spv_partner",
                    ),
                ),
                spacing="3",
                wrap="wrap",
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
            rx.cond(
                AdminState.no_public_url,
                rx.callout(
                    T["admin.no_public_url"], color_scheme="orange", icon="link", id="admin-no-public-url"
                ),
            ),
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
            rx.cond(
                AdminState.invitations.length() > 0,
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h)
                                for h in (
                                    T["col.email"],
                                    T["admin.role"],
                                    T["admin.tenant"],
                                    T["col.expires"],
                                    "",
                                )
                            ]
                        )
                    ),
                    rx.table.body(rx.foreach(AdminState.invitations, _invitation_row)),
                    width="100%",
                    variant="surface",
                    id="admin-invitations",
                ),
                rx.text(T["admin.no_invitations"], color_scheme="gray"),
            ),
        ),
        card(
            T["admin.users"],
            data_table(
                [
                    (T["col.email"], "email"),
                    (T["col.name"], "name"),
                    (T["admin.role"], "role"),
                    (T["admin.tenant"], "tenant"),
                    (T["admin.since"], "since"),
                ],
                AdminState.users,
                "admin-users",
                coded={"role": "role"},
            ),
        ),
    )


def _invitation_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["email"]),
        rx.table.cell(coded_text("role", row["role"])),
        rx.table.cell(row["tenant"]),
        rx.table.cell(row["expires"]),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    T["admin.resend"],
                    size="2",
                    variant="soft",
                    on_click=AdminState.resend(row["id"]),
                    id="resend-" + row["id"],
                ),
                confirm_button(
                    rx.button(
                        T["admin.revoke"],
                        size="2",
                        variant="soft",
                        color_scheme="red",
                        id="revoke-" + row["id"],
                    ),
                    AdminState.revoke(row["id"]),
                    T["admin.revoke_confirm"],
                    T["admin.revoke"],
                ),
                spacing="2",
            )
        ),
    )
