"""The operator console's lists a page at a time: an operator of 60 chargers and 60 sites, in German on a
390 px phone, turns the pages of both lists with Previous / Next ("Zurück" / "Weiter").

The operator's tenant is new (the demo tenants' lists are shorter than a page and other tests count
them): its tenant row, the operator and 60 chargers as auto-registration leaves them (unclaimed) are
written to the server's database; the sites are created and the chargers claimed through the API.
"""

from __future__ import annotations

import json
import re
import urllib.request

from playwright.sync_api import Page, expect
from sqlalchemy import create_engine
from sqlmodel import Session

from pipelet_app import audit
from pipelet_app.auth.api_keys import create_api_key
from pipelet_app.auth.secrets import hash_password
from pipelet_app.db.models import Charger, Role, Tenant, TenantKind, User
from tests.e2e.conftest import screenshot

EMAIL, PASSWORD = "pager-operator@pager.test", "pager-password-1234"
COUNT = 60  # one full page of 50 and a second of 10


def _api(server: dict, key: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{server['base']}/api/v1{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _operator_with_60_chargers_and_sites(server: dict) -> None:
    engine = create_engine(server["env"]["DATABASE_URL"])
    with Session(engine) as db:
        tenant = Tenant(name="Pager Laden GmbH", slug="pager-laden", kind=TenantKind.OPERATOR)
        db.add(tenant)
        db.flush()
        user = User(
            email=EMAIL,
            name="Pia Pager",
            role=Role.OPERATOR,
            tenant_id=tenant.id,
            password_hash=hash_password(PASSWORD),
            locale="de",
        )
        db.add(user)
        db.flush()
        for i in range(1, COUNT + 1):
            db.add(Charger(charge_point_id=f"PAGER-CP-{i:03d}"))  # auto-registered, nobody's yet
        _, key = create_api_key(db, user, "pager test", actor=audit.Named("test"))
        db.commit()
    engine.dispose()
    for i in range(1, COUNT + 1):
        site = _api(server, key, "/sites", {"name": f"Pager-Standort {i:02d}", "timezone": "Europe/Berlin"})
        _api(server, key, f"/chargers/PAGER-CP-{i:03d}/claim", {"site_id": site["id"]})


def test_operator_turns_the_pages_of_chargers_and_sites_in_german_at_390_px(page: Page, server: dict) -> None:
    _operator_with_60_chargers_and_sites(server)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{server['base']}/login")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")

    chargers, sites = page.locator("#operator-chargers"), page.locator("#operator-sites")
    expect(chargers).to_contain_text("PAGER-CP-001", timeout=20_000)
    for name, first, last in (
        ("operator-chargers", "PAGER-CP-001", "PAGER-CP-060"),
        ("operator-sites", "Pager-Standort 01", "Pager-Standort 60"),
    ):
        table, span = page.locator(f"#{name}"), page.locator(f"#{name}-span")
        previous, following = page.locator(f"#{name}-previous"), page.locator(f"#{name}-next")
        expect(span).to_have_text("1\N{EN DASH}50 / 60")
        expect(previous).to_have_text("Zurück")
        expect(following).to_have_text("Weiter")
        expect(previous).to_be_disabled()
        expect(table.locator("tbody tr")).to_have_count(50)
        expect(table).not_to_contain_text(last)

        following.click()
        expect(span).to_have_text("51\N{EN DASH}60 / 60")
        expect(table.locator("tbody tr")).to_have_count(10)
        expect(table).to_contain_text(last)
        expect(table).not_to_contain_text(first)
        expect(following).to_be_disabled()
        screenshot(page, f"{name}-page-2-de-390")

        previous.click()
        expect(span).to_have_text("1\N{EN DASH}50 / 60")
        expect(table).to_contain_text(first)
    # the two lists page independently: the chargers' second page leaves the sites on their first
    page.locator("#operator-chargers-next").click()
    expect(page.locator("#operator-chargers-span")).to_have_text("51\N{EN DASH}60 / 60")
    expect(page.locator("#operator-sites-span")).to_have_text("1\N{EN DASH}50 / 60")
    expect(sites).to_contain_text("Pager-Standort 01")
    # a charger row's site is its own (the sites of the page's chargers, not the page of sites)
    expect(chargers.locator("tr", has_text="PAGER-CP-060")).to_contain_text("Pager-Standort 60")
    assert re.search(r"/operator/?$", page.url)
