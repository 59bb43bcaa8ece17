from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain.reimbursement import SOURCES, SessionEnergy, compute_statement

sessions = st.lists(
    st.builds(
        SessionEnergy, st.sampled_from(SOURCES), st.floats(min_value=0, max_value=150_000, allow_nan=False)
    ),
    max_size=60,
)
rates = st.fixed_dictionaries(
    {s: st.none() | st.decimals(min_value=0, max_value=2, places=4) for s in SOURCES}
)


@given(sessions, rates)
def test_statement_adds_up_and_counts_every_session_once(items: list[SessionEnergy], rate_map: dict) -> None:
    statement = compute_statement(items, rate_map)
    assert statement.total == sum(line.amount for line in statement.lines)
    assert sum(line.sessions for line in statement.lines) == len(items)
    assert statement.energy_kwh == pytest.approx(
        Decimal(str(sum(i.energy_wh for i in items))) / 1000, abs=Decimal("0.001") * (len(items) + 1)
    )
    for line in statement.lines:
        expected = Decimal(0) if line.rate_per_kwh is None else line.energy_kwh * line.rate_per_kwh
        assert abs(line.amount - expected) <= Decimal("0.005")
        assert line.amount >= 0 and line.amount.as_tuple().exponent == -2


def test_worked_example() -> None:
    items = [
        SessionEnergy("ocpp-wallbox", 10_500),
        SessionEnergy("ocpp-wallbox", 4_250),
        SessionEnergy("pv-inverter", 7_333),
        SessionEnergy("public", 20_000),
    ]
    statement = compute_statement(items, {"ocpp-wallbox": Decimal("0.30"), "pv-inverter": Decimal("0.125")})
    by = {line.source: line for line in statement.lines}
    assert by["ocpp-wallbox"].energy_kwh == Decimal("14.750") and by["ocpp-wallbox"].amount == Decimal("4.43")
    assert by["pv-inverter"].amount == Decimal("0.92")  # 7.333 kWh * 0.125 = 0.916625 → 0.92
    assert by["public"].rate_per_kwh is None and by["public"].amount == Decimal("0.00")
    assert statement.total == Decimal("5.35")


@pytest.mark.parametrize(
    "items,rate_map,message",
    [
        ([SessionEnergy("solar-car", 1)], {}, "source"),
        ([], {"public": Decimal("-0.1")}, "rate"),
    ],
)
def test_bad_input_names_the_field(items: list, rate_map: dict, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}"):
        compute_statement(items, rate_map)


@given(
    sessions,
    st.lists(
        st.sampled_from([float("inf"), float("-inf"), float("nan"), -1.0, 1e306, 99_999_999_000.0]),
        min_size=1,
        max_size=5,
    ),
)
def test_implausible_sessions_are_left_out_and_counted(items: list[SessionEnergy], bad: list[float]) -> None:
    """A non-finite, negative or absurd session never breaks the month: it is excluded and counted."""
    rate_map = dict.fromkeys(SOURCES, Decimal("0.30"))
    clean = compute_statement(items, rate_map)
    mixed = compute_statement([*items, *(SessionEnergy("public", wh) for wh in bad)], rate_map)
    assert mixed.excluded == len(bad) and clean.excluded == 0
    assert mixed.lines == clean.lines and mixed.total == clean.total
