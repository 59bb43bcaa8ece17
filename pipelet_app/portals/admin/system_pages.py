"""`/admin/system`: is everything up — database, Redis, CSMS nodes, workers, integrations — and a
diagnostics file to send to whoever helps (secrets redacted). Thin over `SystemState`."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.admin.system_state import SystemState
from pipelet_app.portals.layout import card, data_table, shell

T = SystemState.tr
S = SystemState


def _fact(fact: rx.Var) -> rx.Component:
    return rx.table.row(rx.table.cell(T[fact["label"].to(str)]), rx.table.cell(fact["value"]))


def system_page() -> rx.Component:
    return shell(
        T["diag.title"],
        rx.hstack(
            rx.el.a(
                rx.button(T["diag.download"], variant="outline", id="diag-download"),
                href="/api/v1/diagnostics/download",
                download="pipelet-diagnostics.json",
                reload_document=True,
            ),
            rx.text(T["diag.download_hint"], size="2", color_scheme="gray"),
            align="center",
            wrap="wrap",
        ),
        rx.cond(
            S.loaded,
            rx.vstack(
                card(
                    T["diag.services"],
                    rx.table.root(rx.table.body(rx.foreach(S.facts, _fact)), width="100%", id="diag-facts"),
                    rx.cond(
                        S.migration_behind,
                        rx.callout(T["diag.migration_behind"], color_scheme="red", id="diag-migration"),
                    ),
                ),
                card(
                    T["diag.nodes"],
                    data_table(
                        [
                            (T["diag.node"], "node"),
                            (T["diag.status"], "status"),
                            (T["diag.connections"], "connections"),
                            ("OCPP", "versions"),
                        ],
                        S.nodes,
                        "diag-nodes",
                    ),
                    rx.text(T["diag.workers"], ": ", S.workers.join(", "), size="2", id="diag-workers"),
                ),
                card(
                    T["diag.integrations"],
                    data_table(
                        [
                            (T["diag.integration"], "name"),
                            (T["diag.accounts"], "accounts"),
                            (T["diag.failing"], "failing"),
                            (T["diag.last_success"], "last_success"),
                        ],
                        S.integrations,
                        "diag-integrations",
                    ),
                ),
                card(
                    T["diag.data"],
                    data_table([(T["diag.table"], "table"), (T["diag.rows"], "count")], S.rows, "diag-rows"),
                    data_table(
                        [(T["diag.package"], "package"), (T["diag.version"], "version")],
                        S.versions,
                        "diag-versions",
                    ),
                ),
                width="100%",
                spacing="4",
            ),
            rx.spinner(),
        ),
    )
