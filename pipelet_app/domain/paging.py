"""Lists shown a page at a time (the operator console's tables and attention list, benchmarks/operator:
at 10,000 chargers, whole lists made the page's first render take seconds)."""

from __future__ import annotations


def page_start(offset: int, rows: int | None, count: int) -> int:
    """A page's first row: `offset` on a page boundary, moved back onto the last page when rows went away
    since it was chosen (chargers retired, a fault cleared); 0 when the list is not paged (`rows` None)."""
    if not rows or count <= 0:
        return 0
    return max(0, min(offset // rows * rows, (count - 1) // rows * rows))
