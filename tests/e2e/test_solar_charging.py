"""Solar charging in the browser: the operator turns the controller on for a site and sees the energy
flows, today's chart and what the controller decided and why; a driver chooses how their running session
charges. Against the `pipelet run` under test; the site's measurements and a decision are written into
its database first (as the MQTT consumer and the loop would), except in the live test, where a
measurement goes through the real broker (Mosquitto on 127.0.0.1:1883) and the consumer inside `pipelet
run` while the page stays open."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from pipelet_app.db import reset_engine, session_scope
from pipelet_app.db.models import (
    Charger,
    ChargingSession,
    Driver,
    SessionPreference,
    SessionSource,
    Site,
    SiteDevice,
    SiteEnergyMinute,
    SiteSurplus,
    SurplusDecision,
    User,
)
from pipelet_app.portals.driver.surplus_data import form_key
from pipelet_app.services.zones import session_zones
from tests.e2e.conftest import screenshot, sign_in
from tests.e2e.test_operator_sites import _publish, gateway_login


@pytest.fixture
def db(server: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", server["env"]["DATABASE_URL"])
    reset_engine()
    yield
    reset_engine()


def _sonnenstrom_site() -> int:
    with session_scope() as s:
        tenant_id = s.exec(select(User.tenant_id).where(User.email == "operator@sonnenstrom.demo")).one()
        site = s.exec(select(Site).where(Site.tenant_id == tenant_id).order_by(Site.id)).first()
        assert site is not None
        site.grid_limit_a = 63
        site.timezone = "UTC"
        return site.id  # type: ignore[return-value]


def test_operator_sees_flows_and_decisions_and_turns_solar_charging_on(
    page: Page, server: dict, db: None
) -> None:
    site_id = _sonnenstrom_site()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    with session_scope() as s:
        for minutes in range(0, 31, 5):
            s.merge(
                SiteEnergyMinute(
                    site_id=site_id,
                    minute=now - timedelta(minutes=minutes),
                    pv_w=5200.0,
                    grid_w=-1300.0,
                    battery_w=-400.0,
                    load_w=800.0,
                    ev_w=2700.0,
                    samples=3,
                )
            )
        s.add(
            SurplusDecision(
                site_id=site_id,
                time_utc=now,
                mode="pv-only",
                available_w=4000.0,
                grid_w=-1300.0,
                pv_w=5200.0,
                reason="4000 W available for the cars",
                chargers=[
                    {
                        "charger": "SON-CP-001/1",
                        "limit_a": 5.8,
                        "phases": 1,
                        "charging": True,
                        "reason": "pv-only: 5.8 A on 1 phase; surplus 1.4 kW",
                        "purpose": "TxProfile",
                        "unit": "A",
                        "sent": "fallback:TxDefaultProfile@0",
                    },
                    {  # a charger that rejected every profile on an earlier cycle
                        "charger": "SON-CP-002/1",
                        "limit_a": 6.0,
                        "phases": 3,
                        "charging": True,
                        "reason": "pv-priority: 6.0 A on 3 phases; "
                        "at the minimum on a surplus covering most of it (limited grid use)",
                        "purpose": "TxProfile",
                        "unit": "A",
                        "sent": "unchanged (Rejected)",
                    },
                ],
            )
        )

    sign_in(page, server, "operator@sonnenstrom.demo")
    expect(page.locator("#operator-sites")).to_be_visible(timeout=20_000)
    page.goto(f"{server['base']}/operator/sites/{site_id}")
    page.locator("#site-surplus").click()
    expect(page).to_have_url(re.compile(f"/operator/sites/{site_id}/surplus$"), timeout=20_000)
    expect(page.locator("#flow-pv")).to_have_text("5.2 kW", timeout=20_000)
    expect(page.locator("#flow-house")).to_have_text("0.8 kW")
    expect(page.locator("#flow-cars")).to_have_text("2.7 kW")
    expect(page.locator("#flow-grid")).to_have_text("1.3 kW")
    expect(page.locator("#energy-flows")).to_contain_text("exporting")
    expect(page.locator("#energy-flows")).to_contain_text("charging")  # the home battery
    expect(page.locator("#surplus-chart .recharts-line")).to_have_count(4)  # PV, house, cars, grid
    decisions = page.locator("#surplus-decisions")
    expect(decisions).to_contain_text("SON-CP-001/1")
    expect(decisions).to_contain_text("Solar only: 5.8 A on 1 phase; surplus 1.4 kW")  # the mode by name
    expect(page.locator("#surplus-mode")).to_have_text("Solar only")
    expect(decisions).to_contain_text("5.8 A, 1 phase")  # the limit sent, on how many phases
    expect(decisions).to_contain_text("4,000 W available for the cars")
    expect(decisions).to_contain_text("fallback:TxDefaultProfile@0")

    # The chart's numbers are written by the browser (portals/charts.py): hovering shows the values in the
    # page's language, 5.2 here and 5,2 in German below.
    tooltip = page.locator("#surplus-chart .recharts-tooltip-wrapper")
    page.locator("#surplus-chart .recharts-wrapper").hover()
    expect(tooltip).to_contain_text("5.2", timeout=20_000)

    # In German the stored English reasons read German, with German numbers (i18n/surplus_reasons.py), and
    # the controller's settings show words, not their ids (pv-only, off, none, de).
    page.click("#locale-select")
    with page.expect_navigation(timeout=20_000):
        page.get_by_role("option", name="Deutsch").click()
    expect(page.locator("html")).to_have_attribute("lang", "de", timeout=20_000)
    try:
        expect(decisions).to_contain_text("Nur Sonne: 5,8 A auf 1 Phase; Überschuss 1,4 kW", timeout=20_000)
        expect(decisions).to_contain_text("Sonne zuerst, Netz ergänzt: 6,0 A auf 3 Phasen")
        expect(decisions).not_to_contain_text("pv-")
        expect(decisions).to_contain_text("5,8 A, 1 Phase")
        expect(decisions).to_contain_text("6,0 A, 3 Phasen")
        expect(page.locator("#surplus-mode")).to_have_text("Nur Sonne")
        expect(page.locator("#surplus-enabled")).to_have_text("Aus")
        expect(page.locator("#surplus-tariff-source")).to_have_text("Keine")
        expect(page.locator("#surplus-tariff-region")).to_have_text("Deutschland")
        page.locator("#surplus-mode").click()
        expect(page.get_by_role("option")).to_have_text(
            ["Nur Sonne", "Sonne zuerst, Netz ergänzt", "Sonne und günstigste Stunden"]
        )
        page.keyboard.press("Escape")
        expect(decisions).to_contain_text("4.000 W verfügbar für die Autos")
        expect(decisions).to_contain_text("Ausweichprofil TxDefaultProfile@0 angenommen")
        expect(decisions).to_contain_text(
            "am Minimum mit einem Überschuss, der es größtenteils deckt (begrenzter Netzbezug)"
        )
        expect(decisions).to_contain_text("unverändert (abgelehnt (Rejected))")
        expect(page.locator("#surplus-tariff-status")).to_have_text(
            "keine Preisquelle: „Sonne und günstigste Stunden“ plant wie „Sonne zuerst, Netz ergänzt“"
        )
        # A phone (390 px): nothing sticks out of the page (wide tables scroll inside their card).
        page.set_viewport_size({"width": 390, "height": 844})
        expect(page.locator("#flow-pv")).to_have_text("5,2 kW")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "operator-solar-charging-de-390")
        page.set_viewport_size({"width": 1280, "height": 720})
        page.locator("#surplus-chart .recharts-wrapper").hover()
        expect(tooltip).to_contain_text("5,2", timeout=20_000)
        expect(tooltip).not_to_contain_text("5.2")
        screenshot(page, "operator-solar-charging-de")
    finally:
        page.click("#locale-select")
        with page.expect_navigation(timeout=20_000):
            page.get_by_role("option", name="English").click()
        expect(page.locator("html")).to_have_attribute("lang", "en", timeout=20_000)

    page.locator("#surplus-enabled").click()
    page.get_by_role("option", name="On", exact=True).click()
    page.locator("#surplus-mode").click()
    page.get_by_role("option", name="Solar first, grid tops up").click()
    page.fill("#surplus-interval", "5")
    page.click("#surplus-save")
    expect(page.locator("#surplus-error")).to_contain_text("interval_s:", timeout=20_000)
    page.fill("#surplus-interval", "15")
    page.click("#surplus-save")
    expect(page.locator("#surplus-saved")).to_be_visible(timeout=20_000)
    with session_scope() as s:
        row = s.get(SiteSurplus, site_id)
        assert row is not None and (row.enabled, row.mode, row.interval_s) == (True, "pv-priority", 15)
    screenshot(page, "operator-solar-charging")

    # Another operator's site is not there for them.
    page.context.clear_cookies()
    sign_in(page, server, "operator@northwind.demo")
    expect(page.locator("#operator-sites")).to_be_visible(timeout=20_000)
    page.goto(f"{server['base']}/operator/sites/{site_id}/surplus")
    expect(page.locator("#denied")).to_be_visible(timeout=20_000)
    expect(page.locator("body")).not_to_contain_text("5.8 A on 1 phase")


def test_driver_chooses_how_the_running_session_charges(page: Page, server: dict, db: None) -> None:
    """Two sessions running: one form each, every element id in the page once (they end in the
    session's key), and saving one form changes that session only."""
    with session_scope() as s:
        user = s.exec(select(User).where(User.email == "driver@acme.demo")).one()
        driver = s.exec(select(Driver).where(Driver.user_id == user.id)).one()
        charger = s.exec(select(Charger).order_by(Charger.id)).first()
        assert charger is not None
        sessions = [
            ChargingSession(
                transaction_id=f"ocpp16:E2E-SUN:{connector}",
                station_id=charger.charge_point_id,
                source=SessionSource.OCPP_WALLBOX,
                driver_id=driver.id,
                charger_id=charger.id,
                connector_id=connector,
                start_utc=datetime.now(UTC) - timedelta(minutes=10 + connector),
            )
            for connector in (1, 2)
        ]
        s.add_all(sessions)
        s.flush()
        session_id, other_id = (row.id for row in sessions)
        key, other_key = (form_key(row.transaction_id) for row in sessions)

    sign_in(page, server, "driver@acme.demo")
    form = page.locator("form").filter(has=page.locator(f"#prefs-save-{key}"))
    expect(form).to_contain_text(charger.charge_point_id, timeout=20_000)
    expect(page.locator(f"#prefs-save-{other_key}")).to_be_visible()
    duplicated = page.evaluate(
        """() => {
            const seen = {};
            for (const e of document.querySelectorAll("[id]")) seen[e.id] = (seen[e.id] || 0) + 1;
            return Object.keys(seen).filter((id) => seen[id] > 1);
        }"""
    )
    assert duplicated == []
    page.locator(f"#prefs-mode-{key}").click()
    page.get_by_role("option", name="Solar first, grid tops up").click()
    departure = (datetime.now(UTC) + timedelta(days=1)).replace(hour=7, minute=30)
    page.fill(f"#prefs-departure-{key}", departure.strftime("%Y-%m-%dT%H:%M"))
    page.fill(f"#prefs-energy-{key}", "12.5")
    page.click(f"#prefs-save-{key}")
    expect(page.locator("#prefs-saved")).to_be_visible(timeout=20_000)
    with session_scope() as s:
        row = s.get(SessionPreference, session_id)
        assert row is not None
        assert (row.mode, row.energy_wh) == ("pv-priority", 12500.0)
        assert row.departure_utc is not None
        zone = ZoneInfo(session_zones(s, [session_id]).get(session_id, "UTC"))  # the site's: where they are
        assert row.departure_utc.astimezone(zone).strftime("%Y-%m-%dT%H:%M") == departure.strftime(
            "%Y-%m-%dT%H:%M"
        )
        assert s.get(SessionPreference, other_id) is None  # the other session's form was not sent
    expect(page.locator(f"#prefs-energy-{key}")).to_have_value("12.5")
    expect(page.locator(f"#prefs-energy-{other_key}")).to_have_value("")

    page.fill(f"#prefs-energy-{key}", "-3")
    page.click(f"#prefs-save-{key}")
    expect(page.locator("#prefs-error")).to_contain_text("energy_wh:", timeout=20_000)
    screenshot(page, "driver-solar-preferences")

    # On a phone in German: the field reads 12,5 (not 12.5), a German 7,5 is taken as 7.5 kWh, the
    # modes are German words, and nothing sticks out of the 390 px page.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    _choose_locale(page, "Deutsch", "de")
    try:
        expect(page.locator(f"#prefs-energy-{key}")).to_have_value("12,5", timeout=20_000)
        expect(page.locator(f"#prefs-mode-{key}")).to_have_text("Sonne zuerst, Netz ergänzt")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.fill(f"#prefs-energy-{key}", "7,5")
        page.click(f"#prefs-save-{key}")
        expect(page.locator("#prefs-saved")).to_be_visible(timeout=20_000)
        with session_scope() as s:
            row = s.get(SessionPreference, session_id)
            assert row is not None and row.energy_wh == 7500.0
        screenshot(page, "driver-solar-preferences-de-390")
    finally:
        _choose_locale(page, "English", "en")


def _choose_locale(page: Page, name: str, lang: str) -> None:
    """The language menu; on a phone it sits behind the menu button."""
    if not page.locator("#locale-select").is_visible():
        page.click("#menu-toggle")
    page.click("#locale-select")
    with page.expect_navigation(timeout=20_000):
        page.get_by_role("option", name=name).click()
    expect(page.locator("html")).to_have_attribute("lang", lang, timeout=20_000)


def test_energy_flows_follow_a_new_mqtt_measurement_without_reload(
    page: Page, server: dict, db: None
) -> None:
    site_id = _sonnenstrom_site()
    asset = f"pv-live-{uuid.uuid4().hex[:8]}"
    earlier = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    with session_scope() as s:
        s.add(SiteDevice(site_id=site_id, asset_id=asset, kind="pv"))
        s.merge(SiteEnergyMinute(site_id=site_id, minute=earlier, pv_w=5200.0, samples=1))

    sign_in(page, server, "operator@sonnenstrom.demo")
    expect(page.locator("#operator-sites")).to_be_visible(timeout=20_000)
    page.goto(f"{server['base']}/operator/sites/{site_id}/surplus")
    expect(page.locator("#flow-pv")).to_have_text("5.2 kW", timeout=20_000)
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads or navigates
    page.wait_for_timeout(6_000)  # the consumer's device map reloads on a miss at most every 5 s

    _publish(
        f"pipelet/sites/{site_id}/measurements",
        [
            {
                "assetId": asset,
                "timestamp": datetime.now(UTC).isoformat(),
                "energyValue": 10.0,
                "powerValue": 7300.0,
            }
        ],
        gateway_login(server["base"], site_id),
    )
    expect(page.locator("#flow-pv")).to_have_text("7.3 kW", timeout=20_000)  # pushed every 5 s
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
    assert "/surplus" in page.url
