"""An operator links a SolarEdge account (the loopback fake `pipelet run` is pointed at) as a site's PV
source on the site page: the credentials are tested live and never shown again, and the worker inside
`pipelet run` polls the link on its own (status `connected`, the production stored)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from pipelet_app.db import reset_engine, session_scope
from pipelet_app.db.models import Site, SiteInverter, User
from tests.e2e.conftest import screenshot, sign_in
from tests.fakes.inverters import solaredge as solaredge_fake


@pytest.fixture
def db(server: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", server["env"]["DATABASE_URL"])
    reset_engine()
    yield
    reset_engine()


def test_operator_links_an_inverter_cloud_and_the_worker_polls_it(page: Page, server: dict, db: None) -> None:
    with session_scope() as s:
        tenant_id = s.exec(select(User.tenant_id).where(User.email == "operator@sonnenstrom.demo")).one()
        site = Site(tenant_id=tenant_id, name=f"Scheune {uuid.uuid4().hex[:6]}", timezone="Europe/Berlin")
        s.add(site)
        s.flush()
        site_id = site.id

    sign_in(page, server, "operator@sonnenstrom.demo")
    page.locator("#signed-in-user").wait_for(timeout=20_000)
    page.goto(f"{server['base']}/operator/sites/{site_id}")
    expect(page.locator("#site-inverters")).to_be_visible(timeout=30_000)
    page.fill("#inverter-api-key", solaredge_fake.API_KEY)
    page.click("#inverter-link")  # the account has two systems: the error names the field
    expect(page.locator("#site-error")).to_contain_text("system_id", timeout=30_000)
    page.fill("#inverter-api-key", solaredge_fake.API_KEY)
    page.fill("#inverter-system", str(solaredge_fake.SITE_ID))
    page.click("#inverter-link")
    table = page.locator("#site-inverters")
    expect(table).to_contain_text("solaredge-pv", timeout=30_000)
    expect(page.locator("#site-devices")).to_contain_text("solaredge-pv")
    assert solaredge_fake.API_KEY not in page.content()

    for _ in range(12):  # the embedded worker polls due links every SITE_ENERGY_TICK_S (15 s)
        with session_scope() as s:
            link = s.exec(select(SiteInverter).where(SiteInverter.site_id == site_id)).one()
            if link.status == "connected":
                break
        page.wait_for_timeout(5_000)
    assert link.status == "connected", (link.status, link.message)
    assert link.stored_until_utc is not None
    page.reload()
    expect(table).to_contain_text("Connected", timeout=30_000)  # the state in words (pv.status.*)
    expect(table).to_contain_text("SolarEdge")  # the brand by name, not its id
    screenshot(page, "site-inverter-link")
