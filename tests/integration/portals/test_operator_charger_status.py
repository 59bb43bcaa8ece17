"""The operator list and charger page show one summary status per charger: a Faulted connector, a
charging one or a lost connection is not hidden behind the charger's own "Available"."""

from __future__ import annotations

import pytest
from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, Connector
from pipelet_app.portals.operator.charger_data import charger_view
from pipelet_app.portals.operator.data import operator_overview
from tests.integration.api.charger_facts import CHARGER, principal


def _set(online: bool, connector_statuses: dict[int, tuple[str, str]]) -> None:
    """The charger itself reports Available (connector 0); its connectors report their own states."""
    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == CHARGER)).one()
        charger.status, charger.is_online = "Available", online
        db.add(charger)
        for old in db.exec(select(Connector).where(Connector.charger_id == charger.id)).all():
            db.delete(old)
        db.flush()
        for number, (status, error) in connector_statuses.items():
            db.add(Connector(charger_id=charger.id, connector_id=number, status=status, error_code=error))


def _shown() -> tuple[str, str]:
    who = principal("operator@sonnenstrom.demo")
    with session_scope() as db:
        listed = {row["id"]: row["status"] for row in operator_overview(db, who)["chargers"]}
        page = charger_view(db, who, CHARGER)["summary"]["status"]
    return listed[CHARGER], page


@pytest.mark.parametrize(
    ("online", "connectors", "expected"),
    [
        (True, {1: ("Faulted", "GroundFailure"), 2: ("Available", "NoError")}, "Faulted"),
        (True, {1: ("Available", "NoError"), 2: ("Charging", "NoError")}, "Charging"),
        (False, {1: ("Charging", "NoError"), 2: ("Available", "NoError")}, "Offline"),
        (True, {1: ("Available", "NoError"), 2: ("Available", "NoError")}, "Available"),
    ],
)
def test_list_and_page_show_the_worst_state(
    demo: dict, online: bool, connectors: dict, expected: str
) -> None:
    _set(online, connectors)
    assert _shown() == (expected, expected)
