""" "Needs attention now", the first card of the operator's landing page: faulted connectors, offline
chargers, flagged and stuck sessions, overdue lifecycle steps, each linking to the page where it is
fixed. Data from `operations.attention` (role and tenant checked there on every load)."""

from __future__ import annotations

from functools import partial
from typing import Any

import reflex as rx

from pipelet_app.auth import Principal
from pipelet_app.domain.paging import page_start
from pipelet_app.i18n.catalogue import translate
from pipelet_app.i18n.formatting import current_locale, page_span, when
from pipelet_app.i18n.words import label
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
                "what": what_text(i["kind"], i["detail"], i["what"]),
                "link": i["link"],
            }
            for i in shown
        ],
    }


def what_text(kind: str, detail: dict[str, Any], english: str) -> str:
    """An item in the reader's language (the page's, `current_locale`): codes through the catalogue,
    names and transaction ids as they are. The service's `english` words serve an unknown shape."""
    locale = current_locale()
    if kind == "faulted":
        error = detail["error_code"]
        text = translate("attention.what.faulted", locale).format(
            connector=detail["connector"], status=label("charger_status", detail["status"], locale)
        )
        return text if error in ("", "NoError") else f"{text} · {label('error_code', error, locale)}"
    if kind == "offline":
        return translate("attention.what.offline", locale)
    if kind == "flagged":
        flags = detail["flags"] or translate("attention.what.review", locale)
        return f"{detail['transaction_id']}: {flags}"
    if kind == "stuck":
        return translate("attention.what.stuck", locale).format(tx=detail["transaction_id"])
    if kind == "overdue" and "lifecycle_state" in detail:
        state = label("lifecycle", detail["lifecycle_state"], locale)
        return translate("attention.what.commissioning", locale).format(state=state)
    if kind == "overdue":
        return f"{detail['step']} ({detail['owner']})"
    return english


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
