"""The app shell: header with role navigation, language choice and sign-out, around each page's content."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import reflex as rx
from reflex.utils.imports import ImportVar
from reflex.vars import VarData

from pipelet_app.portals.session_state import SessionState

BRAND_COLOR = "#0f766e"


LANGUAGE_NAMES = {"en": "English", "de": "Deutsch"}  # each language in its own words, never a code


def _nav_link(item: rx.Var) -> rx.Component:
    return rx.link(item["label"], href=item["href"], color="white", weight="medium", size="3")


# Radix wraps every table in a scroll area; one that scrolls must be reachable by keyboard (WCAG 2.1.1).
# An input a component renders itself (rx.upload's file input) takes its name from `data-input-label`.
_FOCUSABLE_SCROLL_AREAS = """useEffect(() => {
    const mark = () => {
        document.querySelectorAll('.rt-ScrollAreaViewport:not([tabindex])')
            .forEach((el) => el.setAttribute('tabindex', '0'));
        document.querySelectorAll('[data-input-label] input:not([aria-label])')
            .forEach((el) => el.setAttribute(
                'aria-label', el.closest('[data-input-label]').dataset.inputLabel));
    };
    mark();
    const watcher = new MutationObserver(mark);
    watcher.observe(document.body, { childList: true, subtree: true });
    return () => watcher.disconnect();
}, [])"""


class _FrameEffects(rx.Fragment):
    """Keeps `<html lang>` on the reader's language (screen readers, hyphenation, the browser's own
    number inputs): the static build says `en`, this corrects it as soon as the page knows the locale.
    Also makes scrolling table areas focusable."""

    def add_hooks(self) -> list[str | rx.Var]:
        locale = SessionState.locale
        use_effect = VarData(imports={"react": [ImportVar(tag="useEffect")]})
        return [
            rx.Var(
                f"useEffect(() => {{ document.documentElement.lang = {locale!s}; }}, [{locale!s}])",
                _var_data=VarData.merge(locale._get_all_var_data(), use_effect),
            ),
            rx.Var(_FOCUSABLE_SCROLL_AREAS, _var_data=use_effect),
        ]


def language_select() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(id="locale-select", aria_label=SessionState.tr["common.language"]),
        rx.select.content(*[rx.select.item(name, value=code) for code, name in LANGUAGE_NAMES.items()]),
        value=SessionState.locale,
        on_change=SessionState.choose_locale,
        size="2",
    )


def header() -> rx.Component:
    """One header for every size: at phone widths the links and tools fold behind the menu button."""
    tr = SessionState.tr
    return rx.el.header(
        _FrameEffects.create(),
        rx.link(
            rx.hstack(
                rx.icon("sun", color="#fde047", size=22, aria_hidden="true"),
                rx.text("Pipelet", size="5", weight="bold", color="white"),
                spacing="2",
                align="center",
            ),
            href="/",
            underline="none",
            aria_label="Pipelet",
        ),
        rx.icon_button(
            rx.icon(rx.cond(SessionState.menu_open, "x", "menu")),
            on_click=SessionState.toggle_menu,
            variant="ghost",
            color_scheme="gray",
            high_contrast=True,
            size="3",
            style={"color": "white"},
            class_name="pl-menu-toggle",
            aria_label=tr["nav.menu"],
            aria_expanded=rx.cond(SessionState.menu_open, "true", "false"),
            id="menu-toggle",
        ),
        rx.el.nav(
            rx.box(rx.foreach(SessionState.nav_items, _nav_link), class_name="pl-nav-links"),
            rx.box(
                rx.cond(
                    SessionState.user_role != "",
                    rx.text(SessionState.user_name, color="#ccfbf1", size="2", id="signed-in-user"),
                ),
                language_select(),
                rx.cond(
                    SessionState.user_role != "",
                    rx.button(
                        tr["nav.logout"],
                        on_click=SessionState.logout,
                        size="2",
                        variant="surface",
                        color_scheme="gray",
                        high_contrast=True,
                        id="logout",
                    ),
                ),
                class_name="pl-nav-tools",
            ),
            class_name=rx.cond(SessionState.menu_open, "pl-nav pl-nav-open", "pl-nav"),
            aria_label=tr["nav.menu"],
            id="main-nav",
        ),
        class_name="pl-header",
        style={"background": BRAND_COLOR, "padding": "0.9em 2em", "width": "100%"},
    )


def denied_notice() -> rx.Component:
    return rx.callout(SessionState.denied, icon="shield-alert", color_scheme="red", id="denied")


def shell(title: rx.Var | str, *content: rx.Component) -> rx.Component:
    """A page: header, its one `<h1>`, then either the content or the refusal when the role may not see
    it. Everything below the title uses `card` (h2) or `section_heading`; numbers are never headings."""
    return rx.box(
        header(),
        rx.el.main(
            rx.vstack(
                rx.heading(title, as_="h1", size="7", margin_bottom="0.5em", id="page-title"),
                rx.cond(
                    SessionState.denied != "", denied_notice(), rx.vstack(*content, width="100%", spacing="5")
                ),
                width="100%",
                spacing="4",
            ),
            class_name="pl-main",
            style={"max_width": "1136px", "margin": "0 auto", "padding": "2em 1.5em"},
        ),
        min_height="100vh",
        background="#f8fafc",
    )


def section_heading(text: rx.Var | str, **props) -> rx.Component:
    """A heading inside a page (h2); the page's own title is the only h1."""
    return rx.heading(text, **{"as_": "h2", "size": "4", **props})


def field(label: rx.Var | str, control: rx.Component, **props) -> rx.Component:
    """An input with its visible label: the label element wraps the control, so it names it for screen
    readers and a tap on the words focuses it (a placeholder is no label)."""
    return rx.el.label(
        rx.vstack(rx.text(label, size="2", weight="medium"), control, spacing="1", width="100%"),
        **props,
    )


def _dashed(name: str) -> str:
    """`api_key` -> `api-key`, `userName` -> `user-name`: an id per field name, where lower-casing alone
    gave Huawei's `userName` and Victron's `username` the same id on one form."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).replace("_", "-").lower()


def credential_inputs(
    inputs: Sequence[tuple[str, list[str], bool]],
    label: Callable[[str], rx.Var | str],
    id_prefix: str,
    **props,
) -> list[rx.Component]:
    """One labelled input per credential field of a connect form (`credential_fields.merged_fields`): the
    label is `label(name)` and the adapters that ask for it, a secret one is masked; `id_prefix`-name as id
    (dashed, lower case) for the tests; `props` go to every input."""
    return [
        field(
            label(name) + f" ({', '.join(adapters)})",
            rx.input(
                name=name,
                type="password" if secret else "text",
                id=f"{id_prefix}-{_dashed(name)}",
                **props,
            ),
        )
        for name, adapters, secret in inputs
    ]


def error_callout(message: rx.Var, element_id: str) -> rx.Component:
    """A form's error in red, shown only while there is one (the message names the field)."""
    return rx.cond(
        message != "", rx.callout(message, color_scheme="red", icon="triangle-alert", id=element_id)
    )


def form_row(
    *controls: rx.Component, on_submit: rx.EventHandler | rx.EventSpec, **form_props
) -> rx.Component:
    """The console's one-line form: labelled controls (`field`) and the submit button side by side,
    aligned on their bottom edge, across the card's width. `form_props`: `key`, `reset_on_submit`."""
    return rx.form(
        rx.hstack(*controls, align="end", width="100%"), on_submit=on_submit, width="100%", **form_props
    )


def confirm_button(
    trigger: rx.Component,
    on_confirm: rx.EventHandler | rx.EventSpec,
    message: rx.Var | str,
    confirm_label: rx.Var | str,
) -> rx.Component:
    """An irreversible action asks once more: `trigger` (a button) opens a dialog saying what will happen;
    only its red `#confirm-action` button sends `on_confirm`, Cancel (or Escape) sends nothing."""
    tr = SessionState.tr
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(tr["common.confirm_title"]),
            rx.alert_dialog.description(message),
            rx.flex(
                rx.alert_dialog.cancel(
                    rx.button(tr["common.cancel"], variant="soft", color_scheme="gray", id="confirm-cancel")
                ),
                rx.alert_dialog.action(
                    rx.button(confirm_label, color_scheme="red", on_click=on_confirm, id="confirm-action")
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
                wrap="wrap",
            ),
            max_width="28em",
        ),
    )


def empty_state(message: rx.Var | str, action: rx.Component | None = None) -> rx.Component:
    """What a list shows when it has nothing yet: one sentence, and the next step where there is one."""
    return rx.vstack(
        rx.text(message, color_scheme="gray"),
        *([action] if action is not None else []),
        spacing="2",
        padding_y="0.5em",
        class_name="pl-empty",
    )


def when_empty(rows: rx.Var, message: rx.Var | str, action: rx.Component | None = None) -> rx.Component:
    """Under a hand-built table: the empty state, shown only while `rows` is empty (the table stays, so
    its id and header do too)."""
    return rx.cond(rows.length() == 0, empty_state(message, action))


def once_loaded(*children: rx.Component) -> rx.Component:
    """Rendered once all of the page's loaders have run (Reflex's `is_hydrated`), nothing before: on a
    return visit the state still holds the last visit's rows, and rendering that stale copy of long lists
    in the same task as the first card delayed the card by as much (benchmarks/operator)."""
    return rx.cond(rx.State.is_hydrated, rx.fragment(*children))


def pager(span: rx.Var, offset: rx.Var, count: rx.Var, rows: int, turn, list_id: str) -> rx.Component:
    """Previous / `51-100 / 1,000` / next under a list shown a page at a time (`domain.paging`), only
    when there is more than one page; `turn(-1)` / `turn(1)` is the event that loads the other page."""
    return rx.cond(
        count > rows,
        rx.hstack(
            rx.button(
                SessionState.tr["pager.previous"],
                on_click=turn(-1),
                disabled=offset == 0,
                variant="soft",
                id=f"{list_id}-previous",
            ),
            rx.text(span, size="2", color_scheme="gray", id=f"{list_id}-span"),
            rx.button(
                SessionState.tr["pager.next"],
                on_click=turn(1),
                disabled=offset + rows >= count,
                variant="soft",
                id=f"{list_id}-next",
            ),
            spacing="3",
            align="center",
            wrap="wrap",
        ),
    )


def card(title: rx.Var | str, *content: rx.Component) -> rx.Component:
    return rx.card(rx.vstack(section_heading(title), *content, width="100%", spacing="3"), width="100%")


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
        empty_state(SessionState.tr["common.no_data"]),
    )


def row_table(
    headers: Sequence[str], rows: rx.Var, row: Callable[[rx.Var], rx.Component], table_id: str
) -> rx.Component:
    """A table whose rows are components of their own (`row` draws one: buttons, badges, selects) under
    header cells named by catalogue keys ("" for a column without a label, such as the actions); where
    plain cells do, `data_table` is shorter."""
    cells = [rx.table.column_header_cell(SessionState.tr[key] if key else "") for key in headers]
    return rx.table.root(
        rx.table.header(rx.table.row(*cells)),
        rx.table.body(rx.foreach(rows, row)),
        width="100%",
        variant="surface",
        id=table_id,
    )


def source_badge(source: rx.Var) -> rx.Component:
    return rx.match(
        source,
        ("pv-inverter", rx.badge(SessionState.tr["source.pv-inverter"], color_scheme="amber")),
        ("public", rx.badge(SessionState.tr["source.public"], color_scheme="violet")),
        rx.badge(SessionState.tr["source.ocpp-wallbox"], color_scheme="teal"),
    )


def online_badge(online: rx.Var, **props) -> rx.Component:
    """A connection state ("online"/"offline") in words and colour, never a bare symbol."""
    return rx.cond(
        online == "online",
        rx.badge(
            rx.icon("wifi", size=14, aria_hidden="true"),
            SessionState.tr["common.online"],
            color_scheme="green",
            **props,
        ),
        rx.badge(
            rx.icon("wifi-off", size=14, aria_hidden="true"),
            SessionState.tr["common.offline"],
            color_scheme="gray",
            **props,
        ),
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
