"""The map of the operator's sites, coloured by state, beside "Needs attention now" (issue 14).

Drawn as an SVG of the sites' own coordinates, no map tiles: it must work offline and on a phone, and
what an operator needs from it is where the red dots are relative to each other, not the streets.
Each dot links to its site page and names the site and its state (title, legend), so it is not colour
alone. Data from `operations.site_map` (role and tenant checked there on every load).
"""

from __future__ import annotations

import math
from typing import Any

import reflex as rx

from pipelet_app.portals.layout import card, charger_status_badge, coded_text
from pipelet_app.portals.session_state import SessionState

T = SessionState.tr
WIDTH, HEIGHT, PAD = 600.0, 300.0, 24.0
# Radix colour steps, the hues of the charger status badges (layout.charger_status_badge).
FILL = {
    "Offline": "var(--gray-9)",
    "Faulted": "var(--red-9)",
    "Unavailable": "var(--orange-9)",
    **dict.fromkeys(("Charging", "SuspendedEV", "SuspendedEVSE", "Finishing", "Preparing"), "var(--blue-9)"),
    "Available": "var(--green-9)",
}
OTHER = "var(--amber-9)"  # reserved, occupied, unknown (a site without chargers)


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


def map_view(sites: list[dict[str, Any]]) -> dict[str, list[dict[str, str]]]:
    """Pins for the sites with a location, a list for those without (they still need to be seen)."""
    placed = [s for s in sites if s["latitude"] is not None and s["longitude"] is not None]
    xy = project([(float(s["latitude"]), float(s["longitude"])) for s in placed])
    pins = [
        {
            "x": str(x),
            "y": str(y),
            "name": s["name"],
            "state": s["state"],
            "fill": FILL.get(s["state"], OTHER),
            "link": f"/operator/sites/{s['id']}",
        }
        for s, (x, y) in zip(placed, xy, strict=True)
    ]
    unplaced = [
        {"name": s["name"], "state": s["state"], "link": f"/operator/sites/{s['id']}"}
        for s in sites
        if s not in placed
    ]
    return {"pins": pins, "unplaced": unplaced}


def _pin(pin: rx.Var) -> rx.Component:
    return rx.el.svg.a(
        rx.el.svg.circle(
            rx.el.svg.title(pin["name"], ": ", coded_text("charger_status", pin["state"])),
            cx=pin["x"],
            cy=pin["y"],
            r="9",
            fill=pin["fill"],
            stroke="white",
            stroke_width="2",
        ),
        href=pin["link"],
        aria_label=pin["name"],
    )


def _legend_row(site: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.link(site["name"], href=site["link"]),
        charger_status_badge(site["state"]),
        spacing="2",
        wrap="wrap",
    )


def site_map_card(pins: rx.Var, unplaced: rx.Var) -> rx.Component:
    return card(
        T["map.title"],
        rx.cond(
            pins.length() > 0,
            rx.el.svg(
                rx.el.svg.rect(x="0", y="0", width=str(WIDTH), height=str(HEIGHT), fill="var(--gray-2)"),
                rx.foreach(pins, _pin),
                view_box=f"0 0 {WIDTH:g} {HEIGHT:g}",
                width="100%",
                role="group",  # not "img": its dots are links (axe: nested-interactive)
                aria_label=T["map.title"],
                id="site-map",
            ),
        ),
        rx.vstack(rx.foreach(pins, _legend_row), spacing="1", id="site-map-legend"),
        rx.cond(
            unplaced.length() > 0,
            rx.vstack(
                rx.text(T["map.unplaced"], size="2", weight="medium"),
                rx.foreach(unplaced, _legend_row),
                spacing="1",
                id="site-map-unplaced",
            ),
        ),
    )
