""" "Needs attention now", the first card of the operator's landing page: faulted connectors, offline
chargers, flagged and stuck sessions, overdue lifecycle steps, each linking to the page where it is
fixed. Data from `operations.attention` (role and tenant checked there on every load)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from pipelet_app.auth import Principal
from pipelet_app.i18n.formatting import when
from pipelet_app.operations.attention import attention
from pipelet_app.operations.site_map import site_states
from pipelet_app.portals.layout import card
from pipelet_app.portals.operator.site_map_view import map_view, site_map_card
from pipelet_app.portals.session_state import SessionState
from pipelet_app.services.session import Session

T = SessionState.tr
COLOURS = {"faulted": "red", "offline": "gray", "flagged": "amber", "stuck": "orange", "overdue": "purple"}


def attention_rows(db: Session, principal: Principal) -> dict[str, Any]:
    """The card's items and counts, and the map's pins (what the page shows on load)."""
    return {**map_rows(db, principal), **attention_items(db, principal)}


def map_rows(db: Session, principal: Principal) -> dict[str, Any]:
    return map_view(site_states(db, principal))


def attention_items(db: Session, principal: Principal) -> dict[str, Any]:
    found = attention(db, principal)
    return {
        "counts": {k: str(v) for k, v in found["counts"].items()},
        "items": [
            {
                "kind": i["kind"],
                "cp": i["charge_point_id"],
                "site": i["site"],
                "since": when(i["since_utc"]) if i["since_utc"] else "—",
                "what": i["what"],
                "link": i["link"],
            }
            for i in found["items"]
        ],
    }


class AttentionState(SessionState):
    attention_items: list[dict[str, str]] = []
    attention_counts: dict[str, str] = {}
    map_pins: list[dict[str, str]] = []
    map_unplaced: list[dict[str, str]] = []

    @rx.event
    async def load(self):
        """The card alone, so it renders before the map and the overview are computed (those take
        most of the time for a large tenant: benchmarks/operator)."""
        result = await self._guarded_off_loop(attention_items)
        view = result.value or {}
        self.attention_items = view.get("items", [])
        self.attention_counts = view.get("counts", {})
        return result.redirect

    @rx.event
    async def load_map(self):
        result = await self._guarded_off_loop(map_rows)
        view = result.value or {}
        self.map_pins, self.map_unplaced = view.get("pins", []), view.get("unplaced", [])
        return result.redirect


def _row(item: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.badge(
                T["attention." + item["kind"].to(str)],
                color_scheme=rx.match(item["kind"], *COLOURS.items(), "gray"),
            )
        ),
        rx.table.cell(rx.link(rx.cond(item["cp"] != "", item["cp"], T["attention.open"]), href=item["link"])),
        rx.table.cell(item["site"]),
        rx.table.cell(item["what"]),
        rx.table.cell(item["since"]),
    )


def attention_card() -> rx.Component:
    s = AttentionState
    return card(
        T["attention.title"],
        rx.hstack(
            *[
                rx.badge(
                    T[f"attention.{kind}"],
                    ": ",
                    s.attention_counts[kind],
                    color_scheme=colour,
                    id=f"attention-count-{kind}",
                )
                for kind, colour in COLOURS.items()
            ],
            spacing="3",
            wrap="wrap",
        ),
        rx.cond(
            s.attention_items.length() > 0,
            rx.table.root(
                rx.table.body(rx.foreach(s.attention_items, _row)),
                width="100%",
                variant="surface",
                id="attention",
            ),
            rx.text(T["attention.none"], color_scheme="green", id="attention-none"),
        ),
    )


def sites_map_card() -> rx.Component:
    return site_map_card(AttentionState.map_pins, AttentionState.map_unplaced)
