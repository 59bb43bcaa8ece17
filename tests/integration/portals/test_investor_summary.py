"""The investor's first screen: one summary per partnership, its history for the chart, honest port counts."""

from __future__ import annotations

from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, Connector
from pipelet_app.i18n.catalogue import MESSAGES
from pipelet_app.i18n.formatting import in_locale
from pipelet_app.services.investors import investor_overview
from tests.integration.api.charger_facts import principal


def test_summary_history_and_ports(demo: dict) -> None:
    with session_scope() as db:  # connected chargers report connector 0 (the charger itself) too
        for cp_id in ("SON-CP-001", "SON-CP-002"):
            charger = db.exec(select(Charger).where(Charger.charge_point_id == cp_id)).one()
            db.add(Connector(charger_id=charger.id, connector_id=0, status="Available"))
    with session_scope() as db:
        mine = investor_overview(db, principal("investor@pipelet.demo"))
        other = investor_overview(db, principal("investor2@pipelet.demo"))
    [summary] = mine["summary"]
    analytics = mine["analytics"][0]
    assert (summary["contributed"], summary["distributed"], summary["irr"]) == (
        analytics["contributed"],
        analytics["distributed"],
        analytics["irr"],
    )
    assert summary["capital"] == mine["distributions"][-1]["capital"]
    assert [h["year"] for h in mine["history"]] == [d["year"] for d in mine["distributions"]]
    assert all(isinstance(h["contributed"], float) for h in mine["history"])
    assert other["summary"] != mine["summary"]  # each investor's own capital account
    # the asset list's "2 ports" per charger: two chargers at the depot are 4 ports, not 6
    ports = {u["site"]: u["ports"] for u in mine["utilisation"]}
    assert ports == {"Depot München": "4", "Solarpark Freising": "2"}


def test_partner_kind_and_macrs_convention_in_words(demo: dict) -> None:
    """The partnership's kind stays its code (GP/LP) for the page to word; the depreciation class names its
    convention in words in the page's language (`half-year`, `Halbjahr`), not `HY`."""
    with session_scope() as db:
        mine = investor_overview(db, principal("investor@pipelet.demo"))
    with in_locale("de"), session_scope() as db:
        german = investor_overview(db, principal("investor@pipelet.demo"))
    for locale in ("en", "de"):
        for row in mine["partnerships"]:
            assert f"partner_kind.{row['kind']}" in MESSAGES[locale]
    classes = {row["class"] for row in mine["depreciation"]}
    assert classes and all(", half-year" in c or ", mid-quarter (Q" in c for c in classes), classes
    german_classes = {row["class"] for row in german["depreciation"]}
    assert all(", Halbjahr" in c or ", Quartalsmitte (Q" in c for c in german_classes), german_classes
