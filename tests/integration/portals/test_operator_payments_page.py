"""The operator's payments page's data layer on both databases: the list with filters (a bad filter names
the field), revenue with energy cost by site and its drill-down, a site's energy price; another tenant
sees nothing and cannot set a price, a driver is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from pipelet_app.auth import Forbidden, InvalidInput, NotFound, Principal
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, ChargingSession, Payment, PaymentState, Site, User
from pipelet_app.i18n.formatting import in_locale
from pipelet_app.portals.operator import payments_data as data


def _principal(email: str) -> Principal:
    with session_scope() as db:
        return Principal.of(db.exec(select(User).where(User.email == email)).one())


def _sonnenstrom_payments() -> tuple[str, str]:
    """Two payments at a demo charger of Sonnenstrom: one captured by card for a finished session, one
    authorised at a Payter terminal."""
    son = _principal("operator@sonnenstrom.demo")
    with session_scope() as db:
        charger = db.exec(
            select(Charger).where(Charger.tenant_id == son.tenant_id, Charger.site_id.is_not(None))  # type: ignore[union-attr]
        ).first()
        session = db.exec(
            select(ChargingSession).where(
                ChargingSession.charger_id == charger.id,
                ChargingSession.end_utc.is_not(None),  # type: ignore[union-attr]
            )
        ).first()
        site = db.get(Site, charger.site_id)
        common = {
            "tenant_id": son.tenant_id,
            "charger_id": charger.id,
            "connector_id": 1,
            "currency": site.currency,
        }
        card = Payment(
            **common, id_tag="PAYCARD", request_key="page-card", public_token="page-card-t",
            authorized_amount=Decimal(50), captured_amount=Decimal("4.50"), state=PaymentState.CAPTURED,
            session_id=session.id, provider_ref="pi_page",
        )  # fmt: skip
        terminal = Payment(
            **common, id_tag="PTR-PAGE", request_key="page-ptr", public_token="page-ptr-t",
            authorized_amount=Decimal(30), state=PaymentState.AUTHORIZED, provider="payter",
            provider_ref="PTR-PAGE",
        )  # fmt: skip
        db.add(card)
        db.add(terminal)
        return charger.charge_point_id, site.name


def test_payments_with_filters_and_next_steps_for_the_own_tenant_only(demo: dict) -> None:
    cp_id, _ = _sonnenstrom_payments()
    son = _principal("operator@sonnenstrom.demo")
    north = _principal("operator@northwind.demo")
    with session_scope() as db:
        everything = data.payments(db, son, {})
        captured = data.payments(db, son, {"state": "captured"})
        terminals = data.payments(db, son, {"provider": "payter", "charger": cp_id.lower()[-3:]})
        with pytest.raises(InvalidInput, match=r"^state:"):
            data.payments(db, son, {"state": "paid"})
        with pytest.raises(InvalidInput, match=r"^provider:"):
            data.payments(db, son, {"provider": "cash"})
        assert data.payments(db, north, {}) == []
        with pytest.raises(Forbidden):
            data.payments(db, _principal("driver@acme.demo"), {})
    assert len(everything) == 2
    assert [(r["provider"], r["refundable"]) for r in captured] == [("stripe", "yes")]
    assert [r["state"] for r in terminals] == ["authorized"]
    assert "terminal" in terminals[0]["next_step"] and terminals[0]["refundable"] == ""
    with in_locale("de"), session_scope() as db:  # the page's language, not the API's English
        (german,) = data.payments(db, son, {"provider": "payter", "charger": cp_id.lower()[-3:]})
    assert german["next_step"].startswith("wartet auf das Ende des Ladevorgangs und die Abrechnung")


def test_revenue_energy_cost_drill_down_and_the_sites_energy_price(demo: dict) -> None:
    _, site_name = _sonnenstrom_payments()
    son = _principal("operator@sonnenstrom.demo")
    north = _principal("operator@northwind.demo")
    with session_scope() as db:
        site = db.exec(select(Site).where(Site.name == site_name)).one()
        before = next(r for r in data.revenue(db, son) if r["site"] == site_name)
        with pytest.raises(InvalidInput, match=r"^per_kwh:"):
            data.set_energy_price(db, son, str(site.id), "cheap")
        with pytest.raises(NotFound):
            data.set_energy_price(db, north, str(site.id), "0.10")
        data.set_energy_price(db, son, str(site.id), "0.25")
        after = next(r for r in data.revenue(db, son) if r["site"] == site_name)
        behind = data.sessions(db, son, site_name, site.currency)
        assert data.sessions(db, north, site_name, site.currency) == []
    assert before["complete"] == "" and after["complete"] == "yes"  # unknown until a price is set
    assert len(behind) == int(after["sessions"]) and all(s["energy_cost"] for s in behind)
    assert any(s["collected"] for s in behind)  # the card payment's capture is on its session
