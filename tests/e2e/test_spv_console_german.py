"""The SPV console in German at phone width: the compliance alerts' sentences are German (overdue, due
soon, the Form 1065 title), not the rules' English, and a refused phase advance says why in German.

The alerts are made certain whatever the day: two open lifecycle steps are written into the server's
database, one three days late and one due in five days (removed afterwards)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import create_engine
from sqlmodel import Session, select

from pipelet_app.db.models import Spv, SpvLifecycleStep
from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.test_solar_charging import _choose_locale

KEYS = ("e2e-de-1", "e2e-de-2")  # overdue, due soon
ENGLISH = re.compile(r"day\(s\)|\blate\b|\bdue in\b|K-1s for|deadline for port|must be in service|planned ")


def _open_steps(server: dict, add: bool) -> None:
    engine = create_engine(server["env"]["DATABASE_URL"])
    with Session(engine) as db:
        for step in db.exec(select(SpvLifecycleStep).where(SpvLifecycleStep.step_key.in_(KEYS))).all():
            db.delete(step)
        if add:
            spv = db.exec(select(Spv).where(Spv.id == server["demo"]["spvs"][0]["id"])).one()
            for key, days in zip(KEYS, (-3, 5), strict=True):
                db.add(
                    SpvLifecycleStep(
                        spv_id=spv.id,
                        step_key=key,
                        phase=spv.lifecycle_phase,
                        title=f"Prüfschritt {key}",
                        owner="Otto",
                        due=datetime.now(UTC).date() + timedelta(days=days),  # the server's day
                    )
                )
        db.commit()
    engine.dispose()


def test_spv_alerts_and_refusals_are_german_on_the_german_page(page: Page, server: dict) -> None:
    _open_steps(server, add=True)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, server, "operator@sonnenstrom.demo")
    page.wait_for_url(re.compile("/operator"), timeout=20_000)
    page.goto(f"{server['base']}/operator/spvs")
    _choose_locale(page, "Deutsch", "de")
    try:
        alerts = page.locator("#spv-alerts")
        expect(alerts).to_contain_text("Prüfschritt e2e-de-1", timeout=30_000)
        expect(alerts).to_contain_text("3 Tag(e) überfällig")
        expect(alerts).to_contain_text("fällig in 5 Tag(en)")
        assert not ENGLISH.search(alerts.inner_text()), alerts.inner_text()
        assert not ENGLISH.search(page.locator("#spv-years").inner_text())

        page.locator("[id^=advance-]").first.click()  # the phase still has open steps: refused, in German
        page.click("#confirm-action")
        error = page.locator("#spv-error")
        expect(error).to_contain_text("sind noch Schritte offen", timeout=20_000)
        expect(error).to_contain_text("Prüfschritt e2e-de-2")
        assert "still has open steps" not in error.inner_text()
        screenshot(page, "operator-spvs-de-390")
    finally:
        _choose_locale(page, "English", "en")
        _open_steps(server, add=False)
