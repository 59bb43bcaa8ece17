""" "Needs attention now", the first card of the operator's landing page: faulted connectors, offline
chargers, flagged and stuck sessions, overdue lifecycle steps, each linking to the page where it is
fixed. Data from `operations.attention` (role and tenant checked there on every load)."""

from __future__ import annotations

from functools import partial
from typing import Any

import reflex as rx

from pipelet_app.auth import Principal
from pipelet_app.domain.paging import page_start
from pipelet_app.i18n.formatting import page_span, when
from pipelet_app.operations.attention import attention
from pipelet_app.operations.site_map import site_states
from pipelet_app.portals.layout import card, pager
from pipelet_app.portals.operator.site_map_view import map_view, site_map_card
from pipelet_app.portals.session_state import SessionState
from pipelet_app.services.session import Session

T = SessionState.tr
ATTENTION_ROWS = 25  # a page of the list; the oldest first within each kind
COLOURS = {"faulted": "red", "offline": "gray", "flagged": "amber", "stuck": "orange", "overdue": "purple"}


def attention_rows(db: Session, principal: Principal) -> dict[str, Any]:
    """The card's counts and first items, and the map (what the page shows on load)."""
    return {**map_rows(db, principal), **attention_items(db, principal)}


def map_rows(db: Session, principal: Principal) -> dict[str, str]:
    return map_view(site_states(db, principal))


def attention_items(db: Session, principal: Principal, offset: int = 0) -> dict[str, Any]:
    """The counts, and the page of items from `offset` (a list of hundreds took most of the page's first
    render in the browser; the counts say how many of each kind there are)."""
    found = attention(db, principal)
    total = len(found["items"])
    offset = page_start(offset, ATTENTION_ROWS, total)
    shown = found["items"][offset : offset + ATTENTION_ROWS]
    return {
        "counts": {k: str(v) for k, v in found["counts"].items()},
        "total": total,
        "offset": offset,
        "span": page_span(offset, len(shown), total),
        "items": [
            {
                "kind": i["kind"],
                "cp": i["charge_point_id"],
                "site": i["site"],
                "since": when(i["since_utc"]) if i["since_utc"] else "—",
                "what": i["what"],
                "link": i["link"],
            }
            for i in shown
        ],
    }


class AttentionState(SessionState):
    attention_items: list[dict[str, str]] = []
    attention_counts: dict[str, str] = {}
    attention_total: int = 0
    attention_offset: int = 0
    attention_span: str = ""
    map_svg: str = ""  # markup built in site_map_view (one string: the browser parses it natively)
    map_legend: str = ""
    map_unplaced: str = ""

    @rx.event
    async def load(self):
        """The card alone, so it renders before the map and the overview are computed (those take
        most of the time for a large tenant: benchmarks/operator); a visit starts on its first page."""
        self.attention_offset = 0
        return await self._load_items()

    @rx.event
    async def attention_page(self, step: int):
        """The next (1) or previous (-1) page of the list."""
        self.attention_offset = max(0, self.attention_offset + step * ATTENTION_ROWS)
        return await self._load_items()

    async def _load_items(self):
        result = await self._guarded_off_loop(partial(attention_items, offset=self.attention_offset))
        view = result.value or {}
        self.attention_items = view.get("items", [])
        self.attention_counts = view.get("counts", {})
        self.attention_total = view.get("total", 0)
        self.attention_offset = view.get("offset", 0)
        self.attention_span = view.get("span", "")
        return result.redirect

    @rx.event
    async def load_map(self):
        result = await self._guarded_off_loop(map_rows)
        view = result.value or {}
        self.map_svg, self.map_legend = view.get("svg", ""), view.get("legend", "")
        self.map_unplaced = view.get("unplaced", "")
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
        pager(
            s.attention_span,
            s.attention_offset,
            s.attention_total,
            ATTENTION_ROWS,
            s.attention_page,
            "attention",
        ),
    )


def sites_map_card() -> rx.Component:
    return site_map_card(AttentionState.map_svg, AttentionState.map_legend, AttentionState.map_unplaced)
