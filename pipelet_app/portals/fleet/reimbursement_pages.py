"""Reimbursement (rates, monthly statements) and public-session import pages of the fleet portal."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.fleet.reimbursement_state import ImportState, ReimbursementState
from pipelet_app.portals.layout import card, confirm_button, data_table, row_table, shell, when_empty

T = ReimbursementState.tr
SOURCES = (
    ("ocpp-wallbox", "source.ocpp-wallbox"),
    ("pv-inverter", "source.pv-inverter"),
    ("public", "source.public"),
)


def _rate_input(source: str, label_key: str) -> rx.Component:
    return rx.vstack(
        rx.text(T[label_key], size="2"),
        rx.input(
            name=source,
            default_value=ReimbursementState.rates[source],
            key=ReimbursementState.rates[source],
            placeholder=T["reimb.no_rate"],
            id=f"rate-{source}",
            width="9em",
        ),
        spacing="1",
    )


def _status(status: rx.Var) -> rx.Component:
    return rx.match(
        status,
        ("approved", rx.badge(T["reimb.approved"], color_scheme="green")),
        ("exported", rx.badge(T["reimb.exported"], color_scheme="gray")),
        rx.badge(T["reimb.draft"], color_scheme="amber"),
    )


def _statement_row(row: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row["driver"]),
        rx.table.cell(row["sessions"]),
        rx.table.cell(row["energy_kwh"]),
        rx.table.cell(row["total"]),
        rx.table.cell(_status(row["status"])),
        rx.table.cell(
            rx.hstack(
                rx.cond(
                    row["status"] == "draft",
                    confirm_button(
                        rx.button(T["reimb.approve"], size="1", id="approve-" + row["id"]),
                        ReimbursementState.approve(row["id"]),
                        T["reimb.approve_confirm"],
                        T["reimb.approve"],
                    ),
                ),
                rx.cond(
                    row["status"] == "approved",
                    rx.button(
                        T["reimb.reopen"],
                        on_click=ReimbursementState.reopen(row["id"]),
                        size="1",
                        variant="outline",
                        id="reopen-" + row["id"],
                    ),
                ),
                rx.link(
                    "PDF",
                    href="/api/v1/fleet/reimbursement/statements/" + row["id"] + ".pdf",
                    is_external=True,
                    id="pdf-" + row["id"],
                ),
                spacing="3",
                align="center",
            )
        ),
    )


def reimbursement_page() -> rx.Component:
    return shell(
        T["reimb.title"],
        card(
            T["reimb.rates"],
            rx.form(
                rx.hstack(
                    *[_rate_input(s, k) for s, k in SOURCES],
                    rx.button(T["reimb.save"], type="submit", id="rates-save"),
                    align="end",
                    spacing="4",
                ),
                on_submit=ReimbursementState.save_rates,
            ),
            rx.text(T["reimb.rates_hint"], size="1", color_scheme="gray"),
        ),
        rx.cond(
            ReimbursementState.error != "",
            rx.callout(ReimbursementState.error, color_scheme="red", id="reimb-error"),
        ),
        card(
            T["reimb.statements"],
            rx.hstack(
                rx.form(
                    rx.hstack(
                        rx.input(
                            type="month",
                            name="month",
                            default_value=ReimbursementState.month,
                            key=ReimbursementState.month,
                            id="reimb-month",
                            aria_label=T["reimb.month"],
                            on_change=ReimbursementState.pick_month,
                        ),
                        rx.button(T["reimb.compute"], type="submit", variant="soft", id="reimb-compute"),
                    ),
                    on_submit=ReimbursementState.choose_month,
                ),
                rx.spacer(),
                confirm_button(
                    rx.button(T["reimb.export"], variant="outline", id="reimb-export"),
                    ReimbursementState.export,
                    T["reimb.export_confirm"],
                    T["reimb.export"],
                ),
                width="100%",
            ),
            row_table(
                ("col.driver", "reimb.sessions", "col.energy", "reimb.amount", "col.status", "reimb.actions"),
                ReimbursementState.statements,
                _statement_row,
                "statements",
            ),
            when_empty(ReimbursementState.statements, T["reimb.none"]),
        ),
    )


def import_page() -> rx.Component:
    t = ImportState.tr
    return shell(
        t["import.title"],
        card(
            t["import.upload"],
            rx.text(t["import.columns"], size="2", color_scheme="gray"),
            rx.upload(
                rx.vstack(rx.icon("upload"), rx.text(t["import.drop"]), align="center"),
                id="public-csv",
                custom_attrs={"data-input-label": t["import.drop"]},
                accept={"text/csv": [".csv"], "text/plain": [".txt"]},
                max_files=1,
                on_drop=ImportState.upload(rx.upload_files(upload_id="public-csv")),
                border="1px dashed #94a3b8",
                padding="2em",
                width="100%",
            ),
        ),
        rx.cond(
            ImportState.file_name != "",
            card(
                ImportState.file_name,
                rx.hstack(
                    rx.badge(
                        ImportState.new_count.to_string() + " " + t["import.new"],
                        color_scheme="green",
                        id="import-new",
                    ),
                    rx.badge(
                        ImportState.already.to_string() + " " + t["import.already"], color_scheme="gray"
                    ),
                    rx.badge(
                        ImportState.error_count.to_string() + " " + t["import.errors"],
                        color_scheme="red",
                        id="import-errors",
                    ),
                ),
                data_table(
                    [
                        ("#", "line"),
                        (t["col.driver"], "driver"),
                        (t["col.when"], "start"),
                        (t["col.station"], "station"),
                        (t["col.energy"], "energy_kwh"),
                        ("", "provider"),
                    ],
                    ImportState.new_rows,
                    "import-preview",
                ),
                rx.foreach(ImportState.errors, lambda e: rx.text(e, color_scheme="red", size="2")),
                rx.button(
                    t["import.apply"],
                    on_click=ImportState.apply,
                    disabled=ImportState.new_count == 0,
                    id="import-apply",
                ),
            ),
        ),
        rx.cond(
            ImportState.result != "", rx.callout(ImportState.result, color_scheme="green", id="import-result")
        ),
    )
