"""The sites map's projection: every site inside the box, aspect kept, east to the right and north up."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.i18n.formatting import in_locale
from pipelet_app.portals.operator.site_map_view import HEIGHT, PAD, WIDTH, map_view, project

coords = st.tuples(st.floats(-70, 70), st.floats(-179, 179))


@given(st.lists(coords, min_size=1, max_size=30))
def test_every_site_lands_inside_the_padding(points: list[tuple[float, float]]) -> None:
    for x, y in project(points):
        assert PAD - 0.1 <= x <= WIDTH - PAD + 0.1
        assert PAD - 0.1 <= y <= HEIGHT - PAD + 0.1


def test_east_is_right_and_north_is_up() -> None:
    berlin, munich, hamburg = (52.52, 13.40), (48.14, 11.58), (53.55, 9.99)
    (bx, by), (mx, my), (hx, hy) = project([berlin, munich, hamburg])
    assert bx > mx > hx  # Berlin is east of Munich, which is east of Hamburg
    assert hy < by < my  # Hamburg is north of Berlin, which is north of Munich


def test_one_spot_is_the_centre() -> None:
    assert project([(48.1, 11.5), (48.1, 11.5)]) == [(WIDTH / 2, HEIGHT / 2)] * 2
    assert project([]) == []


def test_the_aspect_is_kept() -> None:
    # Two sites one degree of latitude apart at the equator and one of longitude: the same distance.
    (ax, ay), (_, by), (cx, _) = project([(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)])
    assert abs(abs(ay - by) - abs(cx - ax)) < 0.5


def test_sites_without_a_location_are_listed_not_dropped() -> None:
    sites = [
        {"id": 1, "name": "Nord", "latitude": 53.5, "longitude": 10.0, "state": "Faulted"},
        {"id": 2, "name": "Ohne Ort", "latitude": None, "longitude": None, "state": "Available"},
    ]
    view = map_view(sites)
    assert view["svg"].count("<circle") == 1 and 'fill="var(--red-9)"' in view["svg"]
    assert '<a href="/operator/sites/1" aria-label="Nord">' in view["svg"]
    assert '<a href="/operator/sites/1">Nord</a>' in view["legend"] and "Ohne Ort" not in view["legend"]
    assert '<a href="/operator/sites/2">Ohne Ort</a>' in view["unplaced"] and "Nord" not in view["unplaced"]
    assert map_view([sites[1]])["svg"] == ""  # no site with a location: no empty map


def test_the_lists_group_sites_by_state_most_urgent_first_in_the_page_language() -> None:
    sites = [
        {"id": i, "name": name, "latitude": None, "longitude": None, "state": state}
        for i, (name, state) in enumerate(
            [("A", "Available"), ("B", "Faulted"), ("C", "Available"), ("D", "Offline"), ("E", "Unknown")]
        )
    ]
    with in_locale("de"):
        listed = map_view(sites)["unplaced"]
    groups = re.findall(r'data-accent-color="(\w+)"[^>]*>([^<]+)</span>((?:<a [^>]*>[^<]*</a>)*)', listed)
    assert [(colour, words) for colour, words, _ in groups] == [
        ("gray", "Offline"),
        ("red", "Störung"),
        ("green", "Verfügbar"),
        ("amber", "Unbekannt"),
    ]
    assert re.findall(r">(\w)</a>", groups[2][2]) == ["A", "C"]  # one badge for both, each name linked


def test_names_are_escaped_markup_never_passes_through() -> None:
    evil = '<img src=x onerror="alert(1)">&'
    view = map_view(
        [
            {"id": 7, "name": evil, "latitude": 1.0, "longitude": 2.0, "state": "<b>"},
            {"id": 8, "name": evil, "latitude": None, "longitude": None, "state": "Available"},
        ]
    )
    for part in view.values():
        assert "<img" not in part and "<b>" not in part and "&amp;" in part
