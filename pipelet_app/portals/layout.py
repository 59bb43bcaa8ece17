"""The app shell: header with role navigation, language choice and sign-out, around each page's content."""

from __future__ import annotations

import reflex as rx

from pipelet_app.i18n import LOCALES
from pipelet_app.portals.session_state import SessionState

BRAND_COLOR = "#0f766e"


def _nav_link(item: rx.Var) -> rx.Component:
    return rx.link(item["label"], href=item["href"], color="white", weight="medium", size="3")


def header() -> rx.Component:
    return rx.hstack(
        rx.hstack(
            rx.icon("sun", color="#fde047", size=22),
            rx.link(rx.heading("Pipelet", size="5", color="white"), href="/", underline="none"),
            spacing="2",
            align="center",
        ),
        rx.hstack(rx.foreach(SessionState.nav_items, _nav_link), spacing="5", align="center"),
        rx.spacer(),
        rx.hstack(
            rx.cond(
                SessionState.user_role != "",
                rx.text(SessionState.user_name, color="#ccfbf1", size="2", id="signed-in-user"),
            ),
            rx.select(
                list(LOCALES),
                value=SessionState.locale,
                on_change=SessionState.choose_locale,
                size="1",
                id="locale-select",
            ),
            rx.cond(
                SessionState.user_role != "",
                rx.button(
                    SessionState.tr["nav.logout"],
                    on_click=SessionState.logout,
                    size="1",
                    variant="surface",
                    color_scheme="gray",
                    high_contrast=True,
                    id="logout",
                ),
            ),
            spacing="3",
            align="center",
        ),
        width="100%",
        padding_x="2em",
        padding_y="0.9em",
        background=BRAND_COLOR,
        align="center",
        spacing="6",
    )


def denied_notice() -> rx.Component:
    return rx.callout(SessionState.denied, icon="shield-alert", color_scheme="red", id="denied")


def shell(title: rx.Var | str, *content: rx.Component) -> rx.Component:
    """A page: header, title, then either the content or the refusal when the role may not see it."""
    return rx.box(
        header(),
        rx.container(
            rx.vstack(
                rx.heading(title, size="7", margin_bottom="0.5em", id="page-title"),
                rx.cond(
                    SessionState.denied != "", denied_notice(), rx.vstack(*content, width="100%", spacing="5")
                ),
                width="100%",
                spacing="4",
            ),
            size="4",
            padding_y="2em",
        ),
        min_height="100vh",
        background="#f8fafc",
    )


def card(title: rx.Var | str, *content: rx.Component) -> rx.Component:
    return rx.card(rx.vstack(rx.heading(title, size="4"), *content, width="100%", spacing="3"), width="100%")


def coded_text(group: str, code: rx.Var) -> rx.Var:
    """An internal code (OCPP reason, error code, role) in the reader's words from the catalogue entry
    `group.code`, in the page's current language; a code without an entry is shown as it is."""
    key = group + "." + code.to(str)
    tr = SessionState.tr
    return rx.cond(tr.contains(key), tr[key], code)


def data_table(
    columns: list[tuple[rx.Var | str, str]],
    rows: rx.Var,
    table_id: str,
    coded: dict[str, str] | None = None,
) -> rx.Component:
    """A table over a list-of-dicts var; `columns` pairs a header label with the dict key. `coded` maps a
    key whose values are internal codes to its catalogue group (see `coded_text`)."""
    coded = coded or {}

    def cell(row: rx.Var, key: str) -> rx.Component:
        return rx.table.cell(coded_text(coded[key], row[key]) if key in coded else row[key])

    return rx.cond(
        rows.length() > 0,
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(label) for label, _ in columns])),
            rx.table.body(
                rx.foreach(rows, lambda row: rx.table.row(*[cell(row, key) for _, key in columns]))
            ),
            width="100%",
            variant="surface",
            id=table_id,
        ),
        rx.text(SessionState.tr["common.no_data"], color_scheme="gray"),
    )


def source_badge(source: rx.Var) -> rx.Component:
    return rx.match(
        source,
        ("pv-inverter", rx.badge(SessionState.tr["source.pv-inverter"], color_scheme="amber")),
        ("public", rx.badge(SessionState.tr["source.public"], color_scheme="violet")),
        rx.badge(SessionState.tr["source.ocpp-wallbox"], color_scheme="teal"),
    )


def charger_status_badge(status: rx.Var, **props) -> rx.Component:
    """A charger's summary status in words (EN/DE) and colour; an unrecognised OCPP value as it is."""
    return rx.badge(
        coded_text("charger_status", status),
        color_scheme=rx.match(
            status,
            ("Offline", "gray"),
            ("Faulted", "red"),
            ("Unavailable", "orange"),
            ("Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Preparing", "blue"),
            ("Available", "green"),
            "amber",
        ),
        **props,
    )
