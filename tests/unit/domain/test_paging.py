"""A paged list's first row: on a page boundary, never past the last page, 0 for an empty list."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain.paging import page_start


def test_a_page_past_the_end_moves_back_to_the_last_page() -> None:
    assert page_start(100, 50, 120) == 100  # rows 101-120
    assert page_start(150, 50, 120) == 100  # chargers were retired since the page was chosen
    assert page_start(100, 50, 100) == 50  # exactly two pages: the second starts at 50
    assert page_start(50, 50, 0) == 0
    assert page_start(-50, 50, 120) == 0
    assert page_start(70, None, 120) == 0  # not paged


@given(st.integers(-1000, 10_000), st.integers(1, 200), st.integers(0, 5000))
def test_the_start_is_a_page_boundary_inside_the_list(offset: int, rows: int, count: int) -> None:
    start = page_start(offset, rows, count)
    assert start % rows == 0 and start >= 0
    assert start < count or start == count == 0
