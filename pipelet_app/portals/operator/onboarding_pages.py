"""Onboarding pages of the operator console: claim a charger, id tokens, fleet customers, and the setup
card of a charger's page (with its firmware history and audit trail). Thin over `onboarding_state`."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.layout import (
    card,
    coded_text,
    data_table,
    error_callout,
    field,
    form_row,
    row_table,
    shell,
    when_empty,
)
from pipelet_app.portals.operator.charger_state import SHOWN_PASSWORD, SHOWN_PASSWORD_DISPLAY
from pipelet_app.portals.operator.onboarding_state import (
    ChargerSetupState,
    ClaimState,
    CustomersState,
    TokensState,
)
from pipelet_app.portals.session_state import SessionState

T = SessionState.tr
TOKEN_TYPES = ["ISO14443", "ISO15693", "Central", "eMAID", "KeyCode", "Local", "MacAddress"]
NETWORKS = ["direct", "loop", "chargepoint", "evrange", "helios", "tesla", "other"]


def history_table(rows: rx.Var, table_id: str) -> rx.Component:
    """An object's audit trail: when, who, what, and what changed."""
    return data_table(
        [
            (T["onb.when"], "at"),
            (T["onb.who"], "actor"),
            (T["onb.what"], "action"),
            (T["onb.changes"], "changes"),
        ],
        rows,
        table_id,
    )


def _labelled(label: rx.Var | str, control: rx.Component) -> rx.Component:
    return field(label, control, width="100%")  # the frame's <label>: names the control for screen readers


# ------------------------------------------------------------------------------------ claim


def claim_page() -> rx.Component:
    return shell(
        T["claim.title"],
        card(
            T["claim.title"],
            rx.text(T["claim.hint"], size="2", color_scheme="gray"),
            error_callout(ClaimState.error, "claim-error"),
            form_row(
                _labelled(T["claim.cp_id"], rx.input(name="charge_point_id", required=True, id="claim-cp")),
                _labelled(
                    T["claim.site"],
                    rx.el.select(
                        rx.foreach(ClaimState.sites, lambda s: rx.el.option(s["name"], value=s["id"])),
                        name="site_id",
                        id="claim-site",
                    ),
                ),
                rx.button(T["claim.submit"], type="submit", id="claim-submit"),
                on_submit=ClaimState.claim,
            ),
            # Filled by the claim's one-off script, never from state (docs/security.md).
            rx.box(
                rx.callout(
                    rx.vstack(rx.text(T["claim.done"]), rx.el.code(SHOWN_PASSWORD, id="new-password")),
                    color_scheme="amber",
                ),
                rx.cond(
                    ClaimState.claimed_id != "",
                    rx.link(
                        T["claim.open"], href="/operator/chargers/" + ClaimState.claimed_id, id="claim-open"
                    ),
                ),
                id="new-password-box",
                display=SHOWN_PASSWORD_DISPLAY,
                width="100%",
            ),
        ),
    )


# ------------------------------------------------------------------------------------ charger setup


def charger_setup_card() -> rx.Component:
    """On the charger's page: name, network, security profile, retirement, firmware and history."""
    s = ChargerSetupState
    return rx.cond(
        s.cp != "",
        card(
            T["cadmin.title"],
            error_callout(s.error, "setup-error"),
            rx.cond(s.retired, rx.callout(T["cadmin.retired"], color_scheme="gray", id="setup-retired")),
            rx.text(T["cadmin.maker"], ": ", s.maker, size="2", id="setup-maker"),
            form_row(
                _labelled(
                    T["cadmin.name"],
                    rx.input(name="display_name", default_value=s.form["display_name"], id="setup-name"),
                ),
                _labelled(
                    T["cadmin.network"],
                    rx.el.select(
                        *[rx.el.option(T[f"charger_network.{n}"], value=n) for n in NETWORKS],
                        name="network",
                        default_value=s.form["network"],
                        id="setup-network",
                    ),
                ),
                rx.button(T["cadmin.save"], type="submit", id="setup-save"),
                rx.cond(s.saved, rx.text(T["cadmin.saved"], color_scheme="green", id="setup-saved")),
                on_submit=s.save,
                key=s.cp + s.form["display_name"] + s.form["network"],
            ),
            form_row(
                _labelled(
                    T["cadmin.profile"],
                    rx.el.select(
                        rx.el.option(T["cadmin.profile_0"], value="0"),
                        rx.el.option(T["cadmin.profile_1"], value="1"),
                        rx.el.option(T["cadmin.profile_2"], value="2"),
                        rx.el.option(T["cadmin.profile_3"], value="3"),
                        name="security_profile",
                        default_value=s.form["security_profile"],
                        id="setup-profile",
                    ),
                ),
                rx.button(T["cadmin.set_profile"], type="submit", variant="soft", id="setup-profile-set"),
                on_submit=s.set_profile,
                key=s.cp + s.form["security_profile"],
            ),
            rx.cond(
                ~s.retired,
                rx.cond(
                    s.confirm_retire,
                    rx.button(
                        T["cadmin.retire_confirm"],
                        color_scheme="red",
                        on_click=s.retire,
                        id="setup-retire-yes",
                    ),
                    rx.button(
                        T["cadmin.retire"],
                        color_scheme="red",
                        variant="soft",
                        on_click=s.ask_retire,
                        id="setup-retire",
                    ),
                ),
            ),
            rx.heading(T["cadmin.firmware"], as_="h3", size="3"),
            data_table(
                [(T["cadmin.version"], "version"), (T["cadmin.first_seen"], "seen")],
                s.firmware,
                "setup-firmware",
            ),
            rx.heading(T["onb.history"], as_="h3", size="3"),
            history_table(s.history, "setup-history"),
        ),
    )


# ------------------------------------------------------------------------------------ id tokens


def _token_action(token: rx.Var, action: str, color_scheme: str | None = None) -> rx.Component:
    """A token row's button for `TokensState.act(token, action)`: the label `tokens.<action>`, the id
    `token-<action>-<token>` (one shape for block, unblock, expire and delete)."""
    colour = {} if color_scheme is None else {"color_scheme": color_scheme}
    return rx.button(
        T[f"tokens.{action}"],
        size="1",
        variant="soft",
        **colour,
        on_click=TokensState.act(token, action),
        id=f"token-{action}-" + token,
    )


def _token_row(row: rx.Var) -> rx.Component:
    token = row["token"]
    return rx.table.row(
        rx.table.cell(token),
        rx.table.cell(coded_text("token_type", row["type"])),
        rx.table.cell(row["driver"]),
        rx.table.cell(row["expires"]),
        rx.table.cell(coded_text("token_status", row["status"]), id="token-status-" + token),
        rx.table.cell(
            rx.hstack(
                rx.cond(
                    row["blocked"] != "",
                    _token_action(token, "unblock"),
                    _token_action(token, "block", color_scheme="orange"),
                ),
                rx.button(
                    T["onb.history"],
                    size="1",
                    variant="outline",
                    on_click=TokensState.show_history(token),
                    id="token-history-" + token,
                ),
                _token_action(token, "expire"),
                _token_action(token, "delete", color_scheme="red"),
                spacing="2",
            )
        ),
    )


def tokens_page() -> rx.Component:
    s = TokensState
    return shell(
        T["tokens.title"],
        error_callout(s.error, "tokens-error"),
        card(
            T["tokens.issue"],
            form_row(
                _labelled(T["tokens.token"], rx.input(name="token", required=True, id="token-new")),
                _labelled(
                    T["tokens.type"],
                    rx.el.select(
                        *[rx.el.option(t, value=t) for t in TOKEN_TYPES], name="type", id="token-type"
                    ),
                ),
                _labelled(
                    T["tokens.driver"],
                    rx.el.select(
                        rx.el.option(T["tokens.no_driver"], value=""),
                        rx.foreach(s.drivers, lambda d: rx.el.option(d["label"], value=d["id"])),
                        name="driver_id",
                        id="token-driver",
                    ),
                ),
                _labelled(
                    T["tokens.expires"],
                    rx.input(name="expires_utc", placeholder="2027-12-31", id="token-expires"),
                ),
                rx.button(T["tokens.submit"], type="submit", id="token-issue"),
                on_submit=s.issue,
                reset_on_submit=True,
            ),
        ),
        card(
            T["tokens.title"],
            row_table(
                ("tokens.token", "tokens.type", "tokens.driver", "tokens.expires", "tokens.status", ""),
                s.tokens,
                _token_row,
                "tokens-table",
            ),
            when_empty(s.tokens, T["empty.tokens"]),
        ),
        rx.cond(
            s.history_of != "",
            card(T["onb.history"] + ": " + s.history_of, history_table(s.history, "token-history")),
        ),
        card(
            T["tokens.import"],
            rx.text(T["tokens.import_hint"], size="2", color_scheme="gray"),
            rx.form(
                rx.vstack(
                    rx.text_area(
                        name="csv",
                        rows="6",
                        width="100%",
                        id="token-csv",
                        font_family="monospace",
                        aria_label=T["tokens.import"],
                    ),
                    rx.button(T["tokens.import_submit"], type="submit", id="token-import"),
                    width="100%",
                ),
                on_submit=s.import_csv,
                width="100%",
            ),
            rx.cond(
                s.summary.contains("created"),
                rx.text(
                    T["tokens.imported"],
                    ": ",
                    s.summary["created"],
                    " ",
                    T["tokens.created"],
                    ", ",
                    s.summary["updated"],
                    " ",
                    T["tokens.updated"],
                    ", ",
                    s.summary["unchanged"],
                    " ",
                    T["tokens.unchanged"],
                    id="token-import-summary",
                ),
            ),
            rx.cond(
                s.import_errors.length() > 0,
                data_table(
                    [
                        (T["tokens.row"], "row"),
                        (T["tokens.field"], "field"),
                        (T["tokens.problem"], "message"),
                        ("", "value"),
                    ],
                    s.import_errors,
                    "token-import-errors",
                ),
            ),
        ),
    )


# ------------------------------------------------------------------------------------ fleet customers


def customers_page() -> rx.Component:
    s = CustomersState
    return shell(
        T["customers.title"],
        error_callout(s.error, "customers-error"),
        card(
            T["customers.title"],
            data_table(
                [
                    (T["customers.name"], "name"),
                    (T["customers.drivers"], "drivers"),
                    (T["onb.history"], "history"),
                ],
                s.customers,
                "customers-table",
            ),
        ),
        card(
            T["customers.new"],
            form_row(
                rx.input(
                    name="name",
                    placeholder=T["customers.name"],
                    aria_label=T["customers.name"],
                    required=True,
                    id="customer-name",
                ),
                rx.button(T["customers.create"], type="submit", id="customer-create"),
                on_submit=s.create,
                reset_on_submit=True,
            ),
        ),
        card(
            T["customers.add_driver"],
            form_row(
                rx.el.select(
                    rx.foreach(s.customers, lambda c: rx.el.option(c["name"], value=c["id"])),
                    name="fleet_id",
                    id="driver-fleet",
                    aria_label=T["customers.new"],
                ),
                rx.input(
                    name="name",
                    placeholder=T["customers.driver_name"],
                    aria_label=T["customers.driver_name"],
                    required=True,
                    id="driver-name",
                ),
                rx.input(
                    name="email",
                    placeholder=T["customers.driver_email"],
                    aria_label=T["customers.driver_email"],
                    id="driver-email",
                ),
                rx.button(T["customers.add_driver"], type="submit", id="driver-add"),
                on_submit=s.add_driver,
                reset_on_submit=True,
            ),
        ),
    )
