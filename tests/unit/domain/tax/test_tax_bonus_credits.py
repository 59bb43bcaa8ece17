"""Bonus depreciation by acquisition date, §30C per port (rate, cap, tract, deadline), the asset register."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pipelet_app.domain.tax.assets import Asset, build_register
from pipelet_app.domain.tax.bonus import BonusElection, bonus_rate
from pipelet_app.domain.tax.credits import PortClaim, credits_for, port_credit
from pipelet_app.domain.tax.errors import TaxValidationError
from pipelet_app.domain.tax.rules import Convention


def rules_broken(exc: pytest.ExceptionInfo[TaxValidationError]) -> list[str]:
    return [v.rule for v in exc.value.violations]


@pytest.mark.parametrize(
    ("acquired", "placed", "expected"),
    [
        (date(2025, 1, 20), date(2025, 3, 1), "1.00"),  # acquired after 19 Jan 2025
        (date(2025, 1, 19), date(2025, 3, 1), "0.40"),  # acquired on the cut-off day: phase-down
        (date(2024, 11, 1), date(2026, 2, 1), "0.20"),
        (date(2024, 6, 1), date(2024, 9, 1), "0.60"),
        (date(2024, 6, 1), date(2027, 1, 5), "0.00"),
        (date(2025, 6, 1), date(2027, 1, 5), "1.00"),
    ],
)
def test_bonus_rate_by_acquisition_date(acquired: date, placed: date, expected: str) -> None:
    assert bonus_rate(acquired, placed).rate == Decimal(expected)


def test_bonus_elections() -> None:
    assert bonus_rate(date(2025, 2, 1), date(2025, 5, 1), BonusElection.REDUCED_40).rate == Decimal("0.40")
    assert bonus_rate(date(2025, 2, 1), date(2025, 5, 1), BonusElection.ELECT_OUT).rate == Decimal("0.00")
    with pytest.raises(TaxValidationError) as info:
        bonus_rate(date(2026, 2, 1), date(2026, 5, 1), BonusElection.REDUCED_40)
    assert rules_broken(info) == ["BONUS-ELECTION"]
    with pytest.raises(TaxValidationError) as info:
        bonus_rate(date(2025, 2, 1), date(2025, 1, 1))
    assert rules_broken(info) == ["PIS-AFTER-ACQUIRED"]
    with pytest.raises(TaxValidationError) as info:
        bonus_rate(date(2020, 2, 1), date(2020, 5, 1))
    assert rules_broken(info) == ["BONUS-DATE"]


def claim(**changes: object) -> PortClaim:
    base: dict[str, object] = {
        "port_id": "P1",
        "basis": Decimal("50000.00"),
        "placed_in_service": date(2025, 8, 1),
        "census_tract_geoid": "06037206300",
        "tract_eligible": True,
        "prevailing_wage_met": False,
    }
    base.update(changes)
    return PortClaim(**base)  # type: ignore[arg-type]


def test_30c_rates_and_basis_reduction() -> None:
    six = port_credit(claim())
    assert (six.rate, six.credit, six.reduced_basis) == (
        Decimal("0.06"),
        Decimal("3000.00"),
        Decimal("47000.00"),
    )
    thirty = port_credit(claim(prevailing_wage_met=True))
    assert (thirty.credit, thirty.reduced_basis) == (Decimal("15000.00"), Decimal("35000.00"))


def test_30c_cap_per_port() -> None:
    capped = port_credit(claim(basis=Decimal("400000.00"), prevailing_wage_met=True))
    assert capped.credit == Decimal("100000.00")
    assert capped.reduced_basis == Decimal("300000.00")
    ok = port_credit(
        claim(basis=Decimal("400000.00"), prevailing_wage_met=True, claimed_credit=Decimal("100000.00"))
    )
    assert ok.credit == Decimal("100000.00")
    with pytest.raises(TaxValidationError) as info:
        port_credit(
            claim(basis=Decimal("400000.00"), prevailing_wage_met=True, claimed_credit=Decimal("100000.01"))
        )
    assert rules_broken(info) == ["30C-CAP"]
    with pytest.raises(TaxValidationError) as info:
        port_credit(claim(claimed_credit=Decimal("3000.01")))
    assert rules_broken(info) == ["30C-CAP"]


def test_30c_deadline() -> None:
    assert port_credit(claim(placed_in_service=date(2026, 6, 30))).credit == Decimal("3000.00")
    with pytest.raises(TaxValidationError) as info:
        port_credit(claim(placed_in_service=date(2026, 7, 1)))
    assert rules_broken(info) == ["30C-DEADLINE"]
    assert "port P1" in info.value.violations[0].field


def test_30c_tract() -> None:
    with pytest.raises(TaxValidationError) as info:
        port_credit(claim(census_tract_geoid="0603720630"))
    assert rules_broken(info) == ["30C-TRACT"]
    with pytest.raises(TaxValidationError) as info:
        port_credit(claim(tract_eligible=False))
    assert rules_broken(info) == ["30C-TRACT"]


def test_30c_batch_reports_every_broken_port() -> None:
    with pytest.raises(TaxValidationError) as info:
        credits_for(
            [claim(port_id="A", placed_in_service=date(2026, 8, 1)), claim(port_id="B", tract_eligible=False)]
        )
    assert [(v.rule, v.field.split(".")[0]) for v in info.value.violations] == [
        ("30C-DEADLINE", "port A"),
        ("30C-TRACT", "port B"),
    ]


def test_register_credit_then_bonus_then_macrs() -> None:
    """One charger, two ports at 30 %: credit 2 x 15,000 reduces basis 120,000 -> 90,000; acquired before
    the cut-off and placed in service in 2025: 40 % bonus = 36,000; MACRS 5-year HY on 54,000."""
    ports = tuple(claim(port_id=f"P{i}", prevailing_wage_met=True) for i in (1, 2))
    asset = Asset("C1", "charger", Decimal("120000.00"), date(2024, 12, 1), date(2025, 8, 1), 5, ports)
    register = build_register([asset])
    (dep,) = register.assets
    assert dep.credit_total == Decimal("30000.00")
    assert dep.depreciable_basis == Decimal("90000.00")
    assert dep.bonus_rate == Decimal("0.40")
    assert dep.bonus_amount == Decimal("36000.00")
    assert dep.convention is Convention.HY
    assert register.depreciation(2025) == Decimal("36000.00") + Decimal("10800.00")  # 54,000 x 20 %
    assert register.depreciation(2026) == Decimal("17280.00")  # 54,000 x 32 %
    assert sum(register.depreciation(y) for y in range(2025, 2031)) == Decimal("90000.00")
    assert register.credits_placed_in(2025) == Decimal("30000.00")


def test_register_applies_mid_quarter_on_bases_after_credit() -> None:
    """Q4 cost 100,000 vs Q1 cost 140,000 would be 41.7 % (mid-quarter), but the Q1 asset's 6 % credit is
    on 0 port basis and the Q4 asset's 30 % credit on 100,000 leaves 85,000 / 225,000 = 37.8 %: half-year."""
    q1 = Asset("Q1", "site", Decimal("140000.00"), date(2025, 2, 1), date(2025, 2, 10), 7)
    q4_ports = (
        claim(
            port_id="Q4P",
            basis=Decimal("50000.00"),
            placed_in_service=date(2025, 11, 1),
            prevailing_wage_met=True,
        ),
    )
    q4 = Asset("Q4", "charger", Decimal("100000.00"), date(2025, 2, 1), date(2025, 11, 1), 5, q4_ports)
    register = build_register([q1, q4])
    choice = register.conventions[2025]
    assert choice.last_quarter_basis == Decimal("85000.00")
    assert not choice.mid_quarter


def test_register_refuses_bad_assets_with_all_rules_named() -> None:
    bad = Asset(
        "X",
        "charger",
        Decimal("1000.00"),
        date(2025, 5, 1),
        date(2025, 4, 1),
        10,
        (claim(basis=Decimal("5000.00")),),
    )
    with pytest.raises(TaxValidationError) as info:
        build_register([bad])
    assert set(rules_broken(info)) == {"MACRS-CLASS", "PIS-AFTER-ACQUIRED", "30C-BASIS"}


def test_port_in_service_in_another_year_than_its_asset_is_refused() -> None:
    port = claim(placed_in_service=date(2026, 1, 5))
    asset = Asset("C1", "charger", Decimal("120000.00"), date(2025, 2, 1), date(2025, 12, 20), 5, (port,))
    with pytest.raises(TaxValidationError) as info:
        build_register([asset])
    assert [(v.rule, v.field) for v in info.value.violations] == [
        ("PIS-IN-YEAR", "port P1.placed_in_service")
    ]


def test_depreciation_table_rows_sum_to_basis() -> None:
    from pipelet_app.domain.tax.assets import depreciation_table
    from pipelet_app.domain.tax.sample import sample_assets

    rows = depreciation_table(build_register(sample_assets(2025, chargers=4)))
    assert [r.asset_id for r in rows] == ["CH001", "CH002", "CH003", "CH004"]
    for row in rows:
        assert sum(row.by_year.values()) == row.depreciable_basis == row.cost_basis - row.credit
        assert row.bonus_rate == Decimal("1.00")
        assert row.by_year[2025] == row.depreciable_basis  # 100 % bonus: all in the first year


def test_bonus_election_is_one_per_class_and_year() -> None:
    a = Asset("A", "charger", Decimal("1000.00"), date(2025, 2, 1), date(2025, 3, 1), 5)
    b = Asset(
        "B",
        "charger",
        Decimal("1000.00"),
        date(2025, 2, 1),
        date(2025, 4, 1),
        5,
        bonus_election=BonusElection.ELECT_OUT,
    )
    c = Asset(
        "C",
        "site",
        Decimal("1000.00"),
        date(2025, 2, 1),
        date(2025, 4, 1),
        7,
        bonus_election=BonusElection.ELECT_OUT,
    )
    with pytest.raises(TaxValidationError) as info:
        build_register([a, b, c])
    assert [(v.rule, v.field) for v in info.value.violations] == [
        ("BONUS-ELECTION", "assets[2025, 5-year].bonus_election")
    ]
    register = build_register([a, c])
    assert register.depreciation(2025) == Decimal("1000.00") + Decimal(
        "142.90"
    )  # 100 % bonus; 7-year HY 14.29 %
