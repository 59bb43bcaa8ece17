"""The map of the operator's sites, coloured by state, beside "Needs attention now" (issue 14).

Drawn as an SVG of the sites' own coordinates, no map tiles: it must work offline and on a phone, and
what an operator needs from it is where the red dots are relative to each other, not the streets.
Each dot links to its site page and names the site and its state (title, legend), so it is not colour
alone. Data from `operations.site_map` (role and tenant checked there on every load).

The dots and the lists of sites are written here as markup, once per load, in the page's language: as
components (a link, a badge and a title per site) a 1,000-site tenant's map was ~5,000 React elements
and most of the page's first render (benchmarks/operator); as markup the browser parses it natively.
Every name is escaped; the badges are Radix Themes' own badge markup, so they look like the others.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

import reflex as rx

from pipelet_app.domain.charger_status import urgency
from pipelet_app.i18n.formatting import current_locale
from pipelet_app.i18n.words import label
from pipelet_app.portals.layout import card, once_loaded
from pipelet_app.portals.session_state import SessionState

T = SessionState.tr
WIDTH, HEIGHT, PAD = 600.0, 300.0, 24.0
# Radix colours, the hues of the charger status badges (layout.charger_status_badge).
ACCENT = {
    "Offline": "gray",
    "Faulted": "red",
    "Unavailable": "orange",
    **dict.fromkeys(("Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Preparing"), "blue"),
    "Available": "green",
}
OTHER = "amber"  # reserved, occupied, unknown (a site without chargers)


def project(
    points: list[tuple[float, float]], width: float = WIDTH, height: float = HEIGHT, pad: float = PAD
) -> list[tuple[float, float]]:
    """(latitude, longitude) → (x, y) in the box: equirectangular with x shrunk by the cosine of the
    mean latitude (so a degree east is as long as it is there), the sites' bounding box scaled to fit
    inside the padding with its aspect kept, and centred. One site, or sites at one spot: the centre."""
    if not points:
        return []
    mean_lat = math.radians(sum(lat for lat, _ in points) / len(points))
    xs = [lon * math.cos(mean_lat) for _, lon in points]
    ys = [-lat for lat, _ in points]
    span_x, span_y = max(xs) - min(xs), max(ys) - min(ys)
    inner_w, inner_h = width - 2 * pad, height - 2 * pad
    scale = min(inner_w / span_x if span_x else math.inf, inner_h / span_y if span_y else math.inf)
    if math.isinf(scale):
        return [(width / 2, height / 2)] * len(points)
    off_x = pad + (inner_w - span_x * scale) / 2
    off_y = pad + (inner_h - span_y * scale) / 2
    return [
        (round(off_x + (x - min(xs)) * scale, 1), round(off_y + (y - min(ys)) * scale, 1))
        for x, y in zip(xs, ys, strict=True)
    ]


def map_view(sites: list[dict[str, Any]]) -> dict[str, str]:
    """The map (an SVG with a linked dot per site with a location) and two lists of the sites by state,
    each linked: those on the map, and those without a location (they still need to be seen). Markup in
    the current page language; "" for a part with nothing in it."""
    locale = current_locale()
    placed = [s for s in sites if s["latitude"] is not None and s["longitude"] is not None]
    unplaced = [s for s in sites if s["latitude"] is None or s["longitude"] is None]
    xy = project([(float(s["latitude"]), float(s["longitude"])) for s in placed])
    dots = "".join(
        f'<a href="/operator/sites/{int(s["id"])}" aria-label="{escape(s["name"])}">'
        f'<circle cx="{x}" cy="{y}" r="9" fill="var(--{ACCENT.get(s["state"], OTHER)}-9)" stroke="white"'
        f' stroke-width="2"><title>{escape(s["name"])}: {escape(label("charger_status", s["state"], locale))}'
        "</title></circle></a>"
        for s, (x, y) in zip(placed, xy, strict=True)
    )
    svg = (
        f'<svg id="site-map" viewBox="0 0 {WIDTH:g} {HEIGHT:g}" width="100%" role="group"'  # not "img": its
        f' aria-label="{escape(label("map", "title", locale))}">'  # dots are links (axe: nested-interactive)
        f'<rect x="0" y="0" width="{WIDTH:g}" height="{HEIGHT:g}" fill="var(--gray-2)"></rect>{dots}</svg>'
    )
    return {
        "svg": svg if placed else "",
        "legend": _site_list(placed, locale),
        "unplaced": _site_list(unplaced, locale),
    }


def _site_list(sites: list[dict[str, Any]], locale: str) -> str:
    """The sites by state, most urgent first (a badge, as layout.charger_status_badge words and colours
    it, then each site of that state by name, linking to its page): one badge per state, not per site."""
    by_state: dict[str, list[dict[str, Any]]] = {}
    for site in sites:
        by_state.setdefault(site["state"], []).append(site)
    return "".join(
        f'<div class="pl-site-state"><span data-accent-color="{ACCENT.get(state, OTHER)}"'
        f' class="rt-reset rt-Badge rt-r-size-1 rt-variant-soft">'
        f"{escape(label('charger_status', state, locale))}</span>"
        + "".join(f'<a href="/operator/sites/{int(s["id"])}">{escape(s["name"])}</a>' for s in members)
        + "</div>"
        for state, members in sorted(by_state.items(), key=lambda group: urgency(group[0]))
    )


def site_map_card(svg: rx.Var, legend: rx.Var, unplaced: rx.Var) -> rx.Component:
    return card(
        T["map.title"],
        once_loaded(
            rx.cond(svg != "", rx.html(svg)),
            rx.html(legend, id="site-map-legend"),
            rx.cond(
                unplaced != "",
                rx.vstack(
                    rx.text(T["map.unplaced"], size="2", weight="medium"),
                    rx.html(unplaced),
                    spacing="1",
                    id="site-map-unplaced",
                ),
            ),
        ),
    )
