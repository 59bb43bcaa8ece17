"""`/api/v1/reports/portfolio` (JSON, sessions, CSV, PDF) on SQLite and PostgreSQL: DST days in
Europe/Berlin and America/New_York, totals equal to the sessions behind them (the PostgreSQL path sums in
SQL, SQLite in Python: both must give the same figures), stored uptime, portfolios by SPV, and tenant
isolation (another tenant's site is 404, its SPV no portfolio)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pypdf
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app.api import build_api
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, ChargingSession, HealthMonth, SessionSource, Site, Spv, Tenant
from tests.integration.api.onboarding_helpers import NORTH, SONNEN, key_of


@pytest.fixture
def client(demo: dict) -> Iterator[TestClient]:
    with TestClient(build_api(), raise_server_exceptions=False) as test_client:
        yield test_client


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def sites(demo: dict) -> dict[str, int]:
    """A new SPV of Sonnenstrom with a Berlin and a New York site, one charger each, and sessions around
    both DST changes of autumn 2026 (Berlin: 25 Oct, 25 h; New York: 1 Nov, 25 h; spring: 29 Mar / 8 Mar,
    23 h)."""
    with session_scope() as db:
        sonnen = db.exec(select(Tenant).where(Tenant.slug == "sonnenstrom")).one()
        spv = Spv(sponsor_tenant_id=sonnen.id, name="Report Test Fund", formed_year=2026)
        db.add(spv)
        db.flush()
        berlin = Site(tenant_id=sonnen.id, name="R Berlin", timezone="Europe/Berlin", spv_id=spv.id)
        ny = Site(
            tenant_id=sonnen.id, name="R Brooklyn", timezone="America/New_York", spv_id=spv.id, currency="USD"
        )
        db.add(berlin)
        db.add(ny)
        db.flush()
        cb = Charger(charge_point_id="R-BER-1", tenant_id=sonnen.id, site_id=berlin.id)
        cn = Charger(charge_point_id="R-NY-1", tenant_id=sonnen.id, site_id=ny.id)
        db.add(cb)
        db.add(cn)
        db.flush()
        rows = [
            # Berlin, 25 Oct 2026: local day = 22:00Z on the 24th .. 23:00Z on the 25th.
            ("RB-1", cb, "2026-10-24T21:00", "2026-10-24T21:59", 10_000.4, "4.200", "EUR"),
            ("RB-2", cb, "2026-10-25T20:00", "2026-10-25T22:59", 5_000, None, "EUR"),
            ("RB-3", cb, "2026-10-25T22:00", "2026-10-25T23:00", 7_000, "2.100", "EUR"),  # the 26th
            ("RB-4", cb, "2026-03-28T22:00", "2026-03-28T23:00", 1_000, "1.000", "EUR"),  # 29 Mar 00:00 CET
            ("RB-5", cb, "2026-10-20T10:00", None, 3_000, None, "EUR"),  # running: counts nowhere
            # New York, 1 Nov 2026: local day = 04:00Z on the 1st .. 05:00Z on the 2nd.
            ("RN-1", cn, "2026-11-01T03:00", "2026-11-01T03:59", 2_000, "1.500", "USD"),  # 31 Oct
            ("RN-2", cn, "2026-11-02T03:00", "2026-11-02T04:30", 6_000, "3.000", "USD"),  # 1 Nov
            ("RN-3", cn, "2026-11-02T04:00", "2026-11-02T05:00", 8_000, "4.000", "USD"),  # 2 Nov
        ]
        for tx, charger, start, end, wh, cost, cur in rows:
            db.add(
                ChargingSession(
                    transaction_id=tx,
                    station_id=charger.charge_point_id,
                    source=SessionSource.OCPP_WALLBOX,
                    charger_id=charger.id,
                    start_utc=_utc(start),
                    end_utc=_utc(end) if end else None,
                    energy_wh=wh,
                    cost=Decimal(cost) if cost else None,
                    currency=cur,
                )
            )
        db.add(
            HealthMonth(
                scope="site",
                object_id=berlin.id,
                month="2026-10",
                tenant_id=sonnen.id,
                online_s=900,
                degraded_s=0,
                offline_s=100,
                fault_s=0,
                faults=0,
                availability=0.9,
            )
        )
        db.add(
            HealthMonth(
                scope="site",
                object_id=ny.id,
                month="2026-10",
                tenant_id=sonnen.id,
                online_s=500,
                degraded_s=0,
                offline_s=500,
                fault_s=0,
                faults=1,
                availability=0.5,
            )
        )
        db.commit()
        return {"spv": spv.id, "berlin": berlin.id, "ny": ny.id}


def _days(body: dict, site_id: int) -> dict[str, dict]:
    site = next(s for s in body["sites"] if s["site_id"] == site_id)
    return {p["period"]: p for p in site["periods"]}


def test_day_report_in_local_days_with_dst_lengths(client: TestClient, sites: dict[str, int]) -> None:
    key = key_of(SONNEN)
    spv = f"spv:{sites['spv']}"
    answer = client.get(
        "/api/v1/reports/portfolio",
        params={"portfolio": spv, "from": "2026-10-24", "to": "2026-11-03", "step": "day"},
        headers=key,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["portfolio"] == {"key": spv, "name": "Report Test Fund"}
    assert [s["name"] for s in body["sites"]] == ["R Berlin", "R Brooklyn"]
    berlin, ny = _days(body, sites["berlin"]), _days(body, sites["ny"])
    assert berlin["2026-10-25"]["hours"] == 25 and berlin["2026-10-24"]["hours"] == 24
    assert ny["2026-11-01"]["hours"] == 25 and ny["2026-10-25"]["hours"] == 24
    assert (
        berlin["2026-10-24"]["sessions"],
        berlin["2026-10-25"]["sessions"],
        berlin["2026-10-26"]["sessions"],
    ) == (
        1,
        1,
        1,
    )
    assert berlin["2026-10-25"]["energy_kwh"] == "5" and berlin["2026-10-25"]["revenue"] == {}
    assert berlin["2026-10-24"]["energy_kwh"] == "10" and berlin["2026-10-24"]["revenue"] == {"EUR": "4.200"}
    assert ny["2026-10-31"]["sessions"] == 1 and ny["2026-11-01"]["revenue"] == {"USD": "3.000"}
    assert ny["2026-11-02"]["energy_kwh"] == "8"
    assert body["totals"]["sessions"] == 6 and body["totals"]["revenue"] == {"EUR": "6.300", "USD": "8.500"}
    assert body["totals"]["energy_kwh"] == "38"  # 10 + 5 + 7 + 2 + 6 + 8; RB-4 is March, RB-5 running
    assert all(p["uptime"] is None for p in body["periods"])  # days: uptime is stored per month

    # Each figure's link lists exactly the sessions behind it.
    for period in (berlin["2026-10-25"], ny["2026-11-01"], body["totals"]):
        listed = client.get(period["sessions_link"], headers=key).json()
        assert len(listed) == period["sessions"]
        assert str(Decimal(sum(s["energy_wh"] for s in listed)) / 1000) == period["energy_kwh"]
    one = client.get(berlin["2026-10-25"]["sessions_link"], headers=key).json()
    assert [s["transaction_id"] for s in one] == ["RB-2"] and one[0]["local_day"] == "2026-10-25"


def test_spring_day_is_23_hours_and_months_carry_stored_uptime(
    client: TestClient, sites: dict[str, int]
) -> None:
    key = key_of(SONNEN)
    spring = client.get(
        "/api/v1/reports/portfolio",
        params={"site_id": sites["berlin"], "from": "2026-03-28", "to": "2026-03-31", "step": "day"},
        headers=key,
    ).json()
    days = _days(spring, sites["berlin"])
    assert days["2026-03-29"]["hours"] == 23 and days["2026-03-29"]["sessions"] == 1
    assert [p["hours"] for p in spring["periods"]] == [24, 23, 24]  # one site: its day lengths
    months = client.get(
        "/api/v1/reports/portfolio",
        params={"portfolio": f"spv:{sites['spv']}", "from": "2026-10-01", "to": "2026-12-01"},
        headers=key,
    ).json()
    october = next(p for p in months["periods"] if p["period"] == "2026-10")
    assert october["uptime"]["availability_percent"] == 70.0 and october["uptime"]["faults"] == 1
    assert october["sessions"] == 4 and months["totals"]["sessions"] == 6
    assert next(p for p in months["periods"] if p["period"] == "2026-11")["uptime"] is None


def test_csv_and_pdf_carry_the_same_figures(client: TestClient, sites: dict[str, int]) -> None:
    key = key_of(SONNEN)
    params = {"portfolio": f"spv:{sites['spv']}", "from": "2026-10-01", "to": "2026-12-01"}
    text = client.get("/api/v1/reports/portfolio.csv", params=params, headers=key)
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text.text)))
    portfolio_rows = {r["period"]: r for r in rows if r["site"] == "All sites in the report"}
    assert (
        portfolio_rows["2026-10"]["sessions"] == "4" and portfolio_rows["2026-10"]["revenue_EUR"] == "6.300"
    )
    assert portfolio_rows["2026-11"]["revenue_USD"] == "7.000"
    assert portfolio_rows["2026-10"]["availability_percent"] == "70.0"
    pdf = client.get("/api/v1/reports/portfolio.pdf", params=params, headers=key)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(pdf.content))
    content = " ".join(page.extract_text() for page in reader.pages)
    assert "Portfolio report: Report Test Fund" in content
    assert "R Berlin" in content and "R Brooklyn" in content and "Europe/Berlin" in content
    assert "6.300 EUR" in content and "70.00 %" in content


def test_another_tenant_sees_nothing_of_it(client: TestClient, sites: dict[str, int]) -> None:
    north = key_of(NORTH)
    for path in (
        "/api/v1/reports/portfolio",
        "/api/v1/reports/portfolio/sessions",
        "/api/v1/reports/portfolio.csv",
    ):
        foreign = client.get(path, params={"site_id": sites["berlin"]}, headers=north)
        missing = client.get(path, params={"site_id": 999_999}, headers=north)
        assert foreign.status_code == 404 and foreign.json() == missing.json()
    refused = client.get(
        "/api/v1/reports/portfolio", params={"portfolio": f"spv:{sites['spv']}"}, headers=north
    )
    assert refused.status_code == 422 and "portfolio" in refused.text
    everything = client.get(
        "/api/v1/reports/portfolio", params={"from": "2026-01-01", "to": "2026-12-31"}, headers=north
    ).json()
    assert not {s["name"] for s in everything["sites"]} & {"R Berlin", "R Brooklyn"}
    listed = client.get(
        "/api/v1/reports/portfolio/sessions", params={"from": "2026-01-01", "to": "2026-12-31"}, headers=north
    ).json()
    assert not any(s["transaction_id"].startswith("R") and s["site"].startswith("R ") for s in listed)
    fleet = client.get("/api/v1/reports/portfolio", headers=key_of("fleet@acme.demo"))
    assert fleet.status_code == 403


def test_bad_parameters_name_the_field(client: TestClient, sites: dict[str, int]) -> None:
    key = key_of(SONNEN)
    cases = [
        ({"step": "week"}, "step"),
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-05-01", "to": "2026-04-01"}, "to"),
        ({"from": "2026-01-01", "to": "2026-12-01", "step": "day"}, "to"),
        ({"portfolio": "spv:999999"}, "portfolio"),
    ]
    for params, field in cases:
        answer = client.get("/api/v1/reports/portfolio", params=params, headers=key)
        assert answer.status_code == 422 and field in answer.text, (params, answer.text)
    wrong = client.get(
        "/api/v1/reports/portfolio/sessions",
        params={"from": "2026-10-01", "to": "2026-11-01", "period": "2026-11"},
        headers=key,
    )
    assert wrong.status_code == 422 and "period" in wrong.text


def _assert_each_figure_is_its_sessions(spv: int, ranges: list[tuple[str, str, str]]) -> None:
    from pipelet_app.auth import Principal
    from pipelet_app.db.models import User
    from pipelet_app.services import portfolio_reports as service

    with session_scope() as db:
        principal = Principal.of(db.exec(select(User).where(User.email == SONNEN)).one())
        for step, lo, hi in ranges:
            report = service.report(db, principal, f"spv:{spv}", lo, hi, step)
            for site in report.sites:
                for row in site.periods:
                    listed = service.sessions(
                        db, principal, f"spv:{spv}", lo, hi, step, row.period, site.site.id
                    )
                    revenue: dict[str, Decimal] = {}
                    for s in listed:
                        if s["cost"] is not None:
                            revenue[s["currency"]] = revenue.get(s["currency"], Decimal(0)) + Decimal(
                                s["cost"]
                            )
                    figures = row.figures
                    assert (figures.sessions, figures.energy_wh, figures.revenue) == (
                        len(listed),
                        sum(s["energy_wh"] for s in listed),
                        revenue,
                    ), (step, site.site.name, row.period)


def test_figures_follow_every_change_of_their_sessions(client: TestClient, sites: dict[str, int]) -> None:
    """On PostgreSQL the report reads the sums the triggers keep (migration 0031), on SQLite the sessions:
    after sessions are corrected, priced, re-ended, deleted, a charger moved and a zone changed, every
    figure still equals the sessions behind it."""
    ranges = [
        ("day", "2026-10-20", "2026-11-05"),
        ("month", "2026-01-01", "2026-12-01"),
        ("month", "2026-03-15", "2026-11-02"),  # partial months at both ends
    ]
    _assert_each_figure_is_its_sessions(sites["spv"], ranges)
    with session_scope() as db:
        by_tx = {s.transaction_id: s for s in db.exec(select(ChargingSession)).all()}
        by_tx["RB-2"].energy_wh = 5_600.0  # an operator's correction
        by_tx["RB-2"].cost = Decimal("2.5")  # priced after the fact
        by_tx["RB-3"].end_utc = _utc("2026-10-25T21:00")  # re-ended: moves from the 26th to the 25th
        by_tx["RB-5"].end_utc = _utc("2026-10-21T09:00")  # the running one finishes
        db.add_all([by_tx["RB-2"], by_tx["RB-3"], by_tx["RB-5"]])
        db.delete(by_tx["RN-1"])
        db.commit()
    _assert_each_figure_is_its_sessions(sites["spv"], ranges)
    key = key_of(SONNEN)
    params = {"site_id": sites["berlin"], "from": "2026-10-20", "to": "2026-10-27", "step": "day"}
    days = _days(client.get("/api/v1/reports/portfolio", params=params, headers=key).json(), sites["berlin"])
    assert (days["2026-10-25"]["sessions"], days["2026-10-26"]["sessions"]) == (2, 0)
    assert days["2026-10-25"]["energy_kwh"] == "12.6" and days["2026-10-25"]["revenue"] == {"EUR": "4.600"}
    assert days["2026-10-21"]["sessions"] == 1

    with session_scope() as db:  # the Berlin charger moves to Brooklyn; Brooklyn moves to Chicago
        charger = db.exec(select(Charger).where(Charger.charge_point_id == "R-BER-1")).one()
        charger.site_id = sites["ny"]
        db.add(charger)
        db.commit()
        ny = db.get(Site, sites["ny"])
        ny.timezone = "America/Chicago"
        db.add(ny)
        db.commit()
    _assert_each_figure_is_its_sessions(sites["spv"], ranges)
    moved = client.get(
        "/api/v1/reports/portfolio", params={**params, "site_id": sites["ny"]}, headers=key
    ).json()
    assert moved["totals"]["sessions"] == 4  # RB-1, -2, -3, -5 now count in Brooklyn (RN-2, -3: November)
    gone = client.get("/api/v1/reports/portfolio", params=params, headers=key).json()
    assert gone["totals"]["sessions"] == 0


def test_a_drill_down_too_large_is_refused_naming_the_period(
    client: TestClient, sites: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelet_app.services import portfolio_reports as service

    monkeypatch.setattr(service, "MAX_SESSIONS", 2)
    params = {"portfolio": f"spv:{sites['spv']}", "from": "2026-10-01", "to": "2026-12-01"}
    answer = client.get("/api/v1/reports/portfolio/sessions", params=params, headers=key_of(SONNEN))
    assert answer.status_code == 422 and "period" in answer.text and "more than 2" in answer.text
    one_site = client.get(
        "/api/v1/reports/portfolio/sessions",
        params={**params, "site_id": sites["ny"], "period": "2026-10"},
        headers=key_of(SONNEN),
    )
    assert one_site.status_code == 200 and [s["transaction_id"] for s in one_site.json()] == ["RN-1"]


def test_console_page_data_matches_the_api(client: TestClient, sites: dict[str, int]) -> None:
    """The page's view (`portals/operator/reports_data.py`) shows the API's figures, its export links
    carry the same parameters, and another tenant's operator gets the refusal, not the figures."""
    from pipelet_app.auth import NotFound, Principal
    from pipelet_app.db.models import User
    from pipelet_app.portals.operator.reports_data import report_view, sessions_view

    params = {"portfolio": f"spv:{sites['spv']}", "from": "2026-10-24", "to": "2026-11-03", "step": "day"}
    with session_scope() as db:
        sonnen = Principal.of(db.exec(select(User).where(User.email == SONNEN)).one())
        north = Principal.of(db.exec(select(User).where(User.email == NORTH)).one())
        view = report_view(db, sonnen, params)
        assert view["totals"]["sessions"] == "6" and view["title"] == "Report Test Fund"
        assert view["csv"].startswith("/api/v1/reports/portfolio.csv?portfolio=spv:")
        assert "step=day" in view["pdf"] and "from=2026-10-24" in view["pdf"]
        assert [c["period"] for c in view["chart"]][:2] == ["2026-10-24", "2026-10-25"]
        berlin = report_view(db, sonnen, {**params, "site_id": str(sites["berlin"])})
        assert {p["period"]: p["hours"] for p in berlin["periods"]}["2026-10-25"] == "25 h"
        listed = sessions_view(db, sonnen, params, "2026-11-01", str(sites["ny"]))
        assert [r["transaction_id"] for r in listed] == ["RN-2"]
        with pytest.raises(NotFound):
            report_view(db, north, {**params, "portfolio": "all", "site_id": str(sites["berlin"])})


def test_console_names_its_own_portfolios_in_the_readers_language(client: TestClient, sites: dict) -> None:
    """ "All sites" and "No SPV" are ours, not an SPV's name: the German page showed them in English (the
    select and the card's title); an SPV keeps its name; the API keeps its English names."""
    from pipelet_app.auth import Principal
    from pipelet_app.db.models import User
    from pipelet_app.i18n.formatting import in_locale
    from pipelet_app.portals.operator.reports_data import report_view

    params = {"from": "2026-10-24", "to": "2026-11-03", "step": "day"}
    with session_scope() as db:
        sonnen = Principal.of(db.exec(select(User).where(User.email == SONNEN)).one())
        with in_locale("de"):
            german = report_view(db, sonnen, {**params, "portfolio": "all"})
            spv = report_view(db, sonnen, {**params, "portfolio": f"spv:{sites['spv']}"})
            none = report_view(db, sonnen, {**params, "portfolio": "none"})
        english = report_view(db, sonnen, {**params, "portfolio": "all"})
    names = {p["key"]: p["name"] for p in german["portfolios"]}
    assert names["all"] == "Alle Standorte" and names["none"] == "Ohne SPV"
    assert names[f"spv:{sites['spv']}"] == "Report Test Fund"
    assert (german["title"], spv["title"], none["title"]) == (
        "Alle Standorte",
        "Report Test Fund",
        "Ohne SPV",
    )
    assert english["title"] == "All sites"
    api = client.get(
        "/api/v1/reports/portfolio", params={**params, "portfolio": "all"}, headers=key_of(SONNEN)
    )
    assert api.json()["portfolio"]["name"] == "All sites"
