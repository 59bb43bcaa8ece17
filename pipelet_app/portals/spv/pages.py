"""/operator/spvs: the sponsor's partnerships, lifecycle, compliance alerts, returns and audit trail."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.layout import card, coded_text, confirm_button, data_table, shell, when_empty
from pipelet_app.portals.spv.state import SpvConsoleState as S

T = S.tr


def _spv_row(row: rx.Var) -> rx.Component:
    following = coded_text("spv_phase", row["next"])
    return rx.table.row(
        rx.table.cell(row["name"]),
        rx.table.cell(rx.badge(coded_text("spv_phase", row["phase"]))),
        rx.table.cell(
            rx.cond(
                row["next"] != "",
                confirm_button(
                    rx.button(T["spv.advance"], " ", following, size="1", id="advance-" + row["id"]),
                    S.advance(row["id"]),
                    T["spv.advance_confirm"],
                    rx.text(T["spv.advance"], " ", following, as_="span"),
                ),
            )
        ),
    )


def _year_row(row: rx.Var) -> rx.Component:
    def action(target: str) -> rx.Component:
        return rx.button(
            T[f"spv.to_{target}"],
            on_click=S.set_status(row["spv_id"], row["year"], target),
            size="1",
            variant="soft",
            id="spv-" + row["spv_id"] + "-" + row["year"] + "-" + target,
        )

    return rx.table.row(
        rx.table.cell(row["spv"]),
        rx.table.cell(row["year"]),
        rx.table.cell(rx.badge(coded_text("return_status", row["status"]))),
        rx.table.cell(rx.text(row["violations"], size="1")),
        rx.table.cell(
            rx.hstack(
                rx.match(
                    row["status"],
                    ("draft", action("released")),
                    ("released", rx.hstack(action("filed"), action("draft"))),
                    rx.fragment(),
                )
            )
        ),
    )


def spv_console_page() -> rx.Component:
    headers = ["col.spv", "spv.year", "spv.status", "spv.violations", "spv.actions"]
    return shell(
        T["spv.title"],
        rx.cond(S.error != "", rx.callout(S.error, color_scheme="red", id="spv-error")),
        rx.cond(S.message != "", rx.callout(S.message, color_scheme="green", id="spv-message")),
        card(
            T["spv.partnerships"],
            rx.table.root(
                rx.table.body(rx.foreach(S.spvs, _spv_row)), width="100%", variant="surface", id="spv-list"
            ),
            when_empty(S.spvs, T["empty.spvs"]),
        ),
        card(
            T["spv.alerts"],
            data_table(
                [(T["col.spv"], "spv"), (T["spv.severity"], "severity"), (T["spv.step"], "title"),
                 (T["spv.owner"], "owner"), (T["spv.due"], "due"), (T["spv.note"], "message")],
                S.alerts,
                "spv-alerts",
                coded={"severity": "severity"},
            ),
        ),
        card(
            T["spv.returns"],
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(T[h]) for h in headers])),
                rx.table.body(rx.foreach(S.years, _year_row)),
                width="100%",
                variant="surface",
                id="spv-years",
            ),
            when_empty(S.years, T["empty.spv_years"]),
        ),
        card(
            T["spv.steps"],
            data_table(
                [(T["col.spv"], "spv"), (T["spv.phase"], "phase"), (T["spv.step"], "title"),
                 (T["spv.owner"], "owner"), (T["spv.due"], "due"), (T["spv.done"], "done")],
                S.steps,
                "spv-steps",
                coded={"phase": "spv_phase"},
            ),
        ),
        card(
            T["spv.audit"],
            data_table(
                [(T["col.spv"], "spv"), (T["spv.year"], "year"), (T["spv.change"], "change"),
                 (T["spv.actor"], "actor"), (T["spv.at"], "at"), (T["spv.note"], "note")],
                S.audit,
                "spv-audit",
            ),
        ),
    )  # fmt: skip
