"""`domain.durations.duration_text`: short faults no longer read "0.0 h"."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain.durations import duration_text


def test_examples() -> None:
    assert duration_text(0) == "0 s"
    assert duration_text(59.9) == "59 s"
    assert duration_text(60) == "1 min"
    assert duration_text(3599) == "59 min"
    assert duration_text(3600) == "1 h 00 min"
    assert duration_text(52 * 3600 + 10 * 60 + 5) == "52 h 10 min"
    assert duration_text(None) == duration_text(-1) == duration_text(float("nan")) == "—"


@given(st.floats(min_value=0, max_value=10**9, allow_nan=False))
def test_the_text_gives_back_the_duration_to_its_unit(seconds: float) -> None:
    text = duration_text(seconds)
    if m := re.fullmatch(r"(\d+) s", text):
        assert int(m[1]) == int(seconds) < 60
    elif m := re.fullmatch(r"(\d+) min", text):
        assert 60 <= seconds < 3600 and int(m[1]) == int(seconds) // 60
    else:
        m = re.fullmatch(r"(\d+) h (\d\d) min", text)
        assert m is not None and seconds >= 3600
        assert int(m[1]) * 60 + int(m[2]) == int(seconds) // 60
