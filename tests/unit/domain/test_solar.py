from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain.solar import SOURCES, session_solar, solar_share

energy = st.floats(min_value=0, max_value=200_000, allow_nan=False)
measured = st.none() | st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(st.sampled_from(SOURCES), energy, measured)
def test_solar_part_never_exceeds_the_session(source: str, energy_wh: float, solar: float | None) -> None:
    part = session_solar(source, energy_wh, solar)
    assert 0 <= part.solar_wh <= energy_wh


def test_rules_by_source() -> None:
    assert session_solar("pv-inverter", 10_000, None).estimated
    assert session_solar("pv-inverter", 10_000, None).solar_wh == 10_000
    assert session_solar("pv-inverter", 10_000, 6_000).solar_wh == 6_000
    assert session_solar("ocpp-wallbox", 10_000, None).solar_wh == 0
    assert session_solar("ocpp-wallbox", 10_000, 2_500).solar_wh == 2_500
    assert session_solar("ocpp-wallbox", 10_000, 2_500, measured_estimated=True).estimated
    assert not session_solar("ocpp-wallbox", 10_000, None, measured_estimated=True).estimated
    assert session_solar("public", 10_000, 9_000).solar_wh == 0


@given(energy, energy)
def test_share_is_a_fraction_or_none(total: float, solar: float) -> None:
    share = solar_share(total, solar)
    assert share is None if total <= 0 else 0 <= share <= 1
