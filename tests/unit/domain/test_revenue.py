"""Revenue roll-ups: nothing lost or double counted, currencies never mixed."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.domain.revenue import SessionMoney, rollup

money = st.decimals(min_value=0, max_value=500, places=2)
rows = st.lists(
    st.builds(
        SessionMoney,
        site=st.sampled_from(["Harbour", "Depot"]),
        month=st.sampled_from(["2026-11", "2026-12"]),
        charger=st.sampled_from(["CP-1", "CP-2", "CP-3"]),
        currency=st.sampled_from(["EUR", "CHF"]),
        energy_wh=st.integers(0, 100_000).map(float),
        price=st.none() | money,
        collected=money,
        shortfall=money,
        energy_price=st.none() | st.decimals(min_value=0, max_value=1, places=4),
    ),
    max_size=40,
)


@given(rows=rows, by=st.sampled_from(["site", "month", "charger"]))
def test_every_grouping_keeps_every_amount_in_its_currency(rows, by) -> None:
    totals = rollup(rows, by)
    for currency in ("EUR", "CHF"):
        mine = [r for r in rows if r.currency == currency]
        grouped = [t for t in totals if t.currency == currency]
        assert sum(t.sessions for t in grouped) == len(mine)
        assert sum((t.revenue for t in grouped), Decimal(0)) == sum((r.price or 0 for r in mine), Decimal(0))
        assert sum((t.collected for t in grouped), Decimal(0)) == sum((r.collected for r in mine), Decimal(0))
        assert sum((t.shortfall for t in grouped), Decimal(0)) == sum((r.shortfall for r in mine), Decimal(0))
    assert len({(t.key, t.currency) for t in totals}) == len(totals)


def test_a_small_month() -> None:
    rows = [
        SessionMoney("Harbour", "2026-12", "CP-1", "EUR", 10_000, Decimal("4.50"), Decimal("4.50")),
        SessionMoney("Harbour", "2026-12", "CP-2", "EUR", 1_500, None),
        SessionMoney("Depot", "2026-12", "CP-3", "CHF", 30_000, Decimal("12.5"), Decimal(5), Decimal("7.5")),
    ]
    by_site = {(t.key, t.currency): t for t in rollup(rows, "site")}
    assert by_site["Harbour", "EUR"].revenue == Decimal("4.50") and by_site["Harbour", "EUR"].sessions == 2
    assert by_site["Harbour", "EUR"].energy_kwh == Decimal("11.5")
    assert by_site["Depot", "CHF"].shortfall == Decimal("7.5")


@given(rows=rows, by=st.sampled_from(["site", "month", "charger"]))
def test_energy_cost_and_margin_add_up_and_the_drill_down_is_the_group(rows, by) -> None:
    from pipelet_app.domain.revenue import members

    for total in rollup(rows, by):  # type: ignore[arg-type]
        behind = members(rows, by, total.key, total.currency)  # type: ignore[arg-type]
        assert len(behind) == total.sessions
        known = [r.energy_cost for r in behind if r.energy_cost is not None]
        assert total.energy_cost == sum(known, Decimal(0))
        assert total.energy_cost_complete == (len(known) == len(behind))
        assert total.margin == total.revenue - total.energy_cost
