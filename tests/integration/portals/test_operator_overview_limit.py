"""The landing page lists its chargers, sites and attention items a page at a time and says which rows
of how many it shows (benchmarks/operator: whole lists at 10,000 chargers took the page seconds)."""

from __future__ import annotations

from sqlmodel import select

from pipelet_app.auth import Principal
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, Site, User
from pipelet_app.portals.operator import attention_view, data


def test_the_chargers_and_sites_come_a_page_at_a_time(demo: dict, monkeypatch) -> None:
    with session_scope() as db:
        user = db.exec(select(User).where(User.email == "operator@sonnenstrom.demo")).one()
        principal = Principal.of(user)
        own = sorted(
            c.charge_point_id for c in db.exec(select(Charger).where(Charger.tenant_id == user.tenant_id))
        )
        sites = db.exec(select(Site).where(Site.tenant_id == user.tenant_id)).all()
        names = sorted(s.name for s in sites)
        assert len(own) > 2 and len(sites) > 1
        monkeypatch.setattr(data, "CHARGER_ROWS", 2)
        monkeypatch.setattr(data, "SITE_ROWS", 1)
        first = data.operator_overview(db, principal)
        second = data.operator_overview(db, principal, charger_offset=2, site_offset=1)
        beyond = data.operator_overview(db, principal, charger_offset=10_000, site_offset=10_000)
        monkeypatch.setattr(data, "CHARGER_ROWS", 10_000)
        monkeypatch.setattr(data, "SITE_ROWS", 10_000)
        whole = data.operator_overview(db, principal)
    assert [c["id"] for c in first["chargers"]] == own[:2] and [s["name"] for s in first["sites"]] == names[
        :1
    ]
    assert first["charger_count"] == len(own) and first["chargers_span"] == f"1\N{EN DASH}2 / {len(own)}"
    assert [c["id"] for c in second["chargers"]] == own[2:4] and second["charger_offset"] == 2
    assert [s["name"] for s in second["sites"]] == names[1:2] and second["sites_span"].startswith(
        "2\N{EN DASH}2 /"
    )
    # A page past the end (rows went away since it was chosen) shows the last page.
    assert beyond["charger_offset"] == (len(own) - 1) // 2 * 2 and beyond["chargers"]
    assert [s["name"] for s in beyond["sites"]] == names[-1:]
    assert [c["id"] for c in whole["chargers"]] == own and len(whole["sites"]) == len(sites)
    # A charger's site is named even when its site is not on the page of sites shown.
    assert all(c["site"] != "—" for c in second["chargers"] if c["id"].startswith("SON-"))


def test_the_attention_list_comes_a_page_at_a_time(demo: dict, monkeypatch) -> None:
    with session_scope() as db:
        principal = Principal.of(db.exec(select(User).where(User.email == "operator@sonnenstrom.demo")).one())
        monkeypatch.setattr(attention_view, "ATTENTION_ROWS", 10_000)
        whole = attention_view.attention_items(db, principal)
        monkeypatch.setattr(attention_view, "ATTENTION_ROWS", 1)
        pages = [attention_view.attention_items(db, principal, offset=i) for i in range(whole["total"])]
    assert whole["total"] >= 2, "the demo has things that need attention"
    assert [p["items"][0] for p in pages] == whole["items"]
    assert all(p["total"] == whole["total"] and p["counts"] == whole["counts"] for p in pages)
    assert pages[1]["span"] == f"2\N{EN DASH}2 / {whole['total']}"
