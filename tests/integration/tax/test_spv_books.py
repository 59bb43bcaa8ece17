"""SPV books from the database: the demo return, K-1s summing to Schedule K, release blocked by an
open violation, audit trail, stored PDFs, TINs encrypted at rest, and 404 for another investor's K-1."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import select

from pipelet_app.auth import NotFound, Principal
from pipelet_app.db import get_engine, session_scope
from pipelet_app.db.models import Spv, SpvDocument, SpvPartner, SpvTaxYear, User
from pipelet_app.domain.tax.errors import TaxValidationError
from pipelet_app.domain.tax.k1 import LINES
from pipelet_app.domain.tax.release import ReturnStatus
from pipelet_app.services import investors as investor_data
from pipelet_app.tax.returns import audit_trail, compute_year, open_violations, transition_return
from tests.integration.api_keys import key_of

YEAR = 2025


def _spv_id() -> int:
    with session_scope() as db:
        return db.exec(select(Spv).where(Spv.name == "Pipelet Solar Fund I")).one().id


def _partner(name: str) -> SpvPartner:
    with session_scope() as db:
        partner = db.exec(select(SpvPartner).where(SpvPartner.name == name)).one()
        db.expunge(partner)
        return partner


def _principal(email: str) -> Principal:
    with session_scope() as db:
        return Principal.of(db.exec(select(User).where(User.email == email)).one())


def test_demo_books_load_into_a_return_whose_k1s_sum_to_schedule_k(demo: dict) -> None:
    with session_scope() as db:
        computed = compute_year(db, _spv_id(), YEAR)
    form = computed.form
    assert computed.status is ReturnStatus.RELEASED
    assert form.income.gross_receipts == Decimal("48250.00")
    assert form.income.operating_expenses == Decimal("14600.00")
    # Four assets, all in service in 2025, 162,700.00 depreciable after the §30C basis reduction.
    assert len(computed.result.register.assets) == 4
    credit = sum((a.credit_total for a in computed.result.register.assets), Decimal(0))
    assert credit == Decimal("18300.00")  # 30 % of 61,000.00 of charger ports, prevailing wage met
    assert form.schedule_k["15f"] == credit
    names = {k1.partner.name for k1 in form.k1s}
    assert names == {"Sonnenstrom Betrieb GmbH", "Evergreen Tax Equity LLC", "Harbor Renewables Fund LP"}
    for line in LINES:
        assert (
            sum((k1.box_amount(line.k_line) for k1 in form.k1s), Decimal(0)) == form.schedule_k[line.k_line]
        )
    evergreen = next(k1 for k1 in form.k1s if k1.partner.name == "Evergreen Tax Equity LLC")
    assert evergreen.partner.tin == "47-1112223"
    assert evergreen.item_j.profit_ending == Decimal("0.600000")
    assert evergreen.box_amount("19a") == Decimal("4800.00")  # 40 % pre-flip cash share of 12,000.00
    # Item L rolls forward: beginning + contributed + income - distributions = ending, to the cent.
    item_l = evergreen.item_l
    assert item_l.beginning + item_l.contributed + item_l.net_income - item_l.distributions == item_l.ending
    # Schedule L partners' capital agrees with M-2 (the seed derived it from the same figures).
    assert form.schedule_l_ending.partners_capital == form.m2.ending


def test_tins_are_encrypted_at_rest(demo: dict) -> None:
    with get_engine().connect() as conn:
        stored = [row[0] for row in conn.execute(text("SELECT tin_encrypted FROM spv_partners"))]
    assert stored and all(value and value.startswith("gAAAA") for value in stored)
    assert not any("47-1112223" in value or "471112223" in value for value in stored)


def test_release_is_blocked_while_a_violation_is_open_and_the_audit_trail_records_who(demo: dict) -> None:
    spv_id = _spv_id()
    with session_scope() as db:
        transition_return(db, spv_id, YEAR, ReturnStatus.DRAFT, actor="operator@sonnenstrom.demo")
        harbor = db.exec(select(SpvPartner).where(SpvPartner.name == "Harbor Renewables Fund LP")).one()
        harbor.tin_encrypted = None  # a partner without a TIN
        db.add(harbor)
    with session_scope() as db:
        violations = open_violations(db, spv_id, YEAR)
        assert [v.rule for v in violations] == ["K1-TIN"]
        assert "Harbor Renewables Fund LP" in violations[0].message
        with pytest.raises(TaxValidationError) as refused:
            transition_return(db, spv_id, YEAR, ReturnStatus.RELEASED, actor="operator@sonnenstrom.demo")
        assert refused.value.violations[0].rule == "RELEASE-BLOCKED"
        assert "K1-TIN" in refused.value.violations[0].message
    with session_scope() as db:
        assert str(db.exec(select(SpvTaxYear)).one().status) == "draft"
        trail = audit_trail(db, spv_id, YEAR)
    assert [(str(e.from_status), str(e.to_status), e.actor) for e in trail] == [
        ("draft", "released", "demo seed"),
        ("released", "draft", "operator@sonnenstrom.demo"),
    ]


def test_allocations_not_summing_to_100_percent_are_refused(demo: dict) -> None:
    spv_id = _spv_id()
    with session_scope() as db:
        transition_return(db, spv_id, YEAR, ReturnStatus.DRAFT, actor="admin@pipelet.demo")
        evergreen = db.exec(select(SpvPartner).where(SpvPartner.name == "Evergreen Tax Equity LLC")).one()
        evergreen.pre_flip_tax = Decimal("0.61")
        db.add(evergreen)
    with session_scope() as db:
        rules = {v.rule for v in open_violations(db, spv_id, YEAR)}
    assert "ALLOC-100" in rules


def test_released_k1_is_stored_once_and_served_byte_for_byte(demo: dict) -> None:
    evergreen = _partner("Evergreen Tax Equity LLC")
    ivy = _principal("investor@pipelet.demo")
    with session_scope() as db:
        first = investor_data.k1_pdf(db, ivy, evergreen.id, YEAR)
    with session_scope() as db:
        second = investor_data.k1_pdf(db, ivy, evergreen.id, YEAR)
        docs = db.exec(select(SpvDocument)).all()
    assert first.content == second.content and first.content.startswith(b"%PDF")
    assert first.status is ReturnStatus.RELEASED
    assert len(docs) == 1 and docs[0].sha256 == hashlib.sha256(first.content).hexdigest()
    text_out = _pdftotext(first.content)
    assert "Evergreen Tax Equity LLC" in text_out
    assert "(69,970.80)" in text_out  # box 1: 60 % of the ordinary loss
    assert "10,980.00" in text_out  # box 15: 60 % of the §30C credit
    assert "XX-XXX2223" in text_out and "47-1112223" not in text_out  # partner copy: TIN truncated
    assert "DRAFT" not in text_out


def test_another_investors_k1_is_not_found_by_data_function(demo: dict) -> None:
    harbor = _partner("Harbor Renewables Fund LP")
    ivy = _principal("investor@pipelet.demo")
    with session_scope() as db, pytest.raises(NotFound):
        investor_data.k1_pdf(db, ivy, harbor.id, YEAR)
    with session_scope() as db, pytest.raises(NotFound):
        investor_data.capital_statement(db, ivy, harbor.id)
    with session_scope() as db:
        overview = investor_data.investor_overview(db, ivy)
    assert [p["partner"] for p in overview["partnerships"]] == ["Evergreen Tax Equity LLC"]
    assert "Harbor" not in repr(overview)
    assert overview["k1s"][0]["final"] == "final"
    assert overview["analytics"][0]["irr"] != ""
    assert {u["site"] for u in overview["utilisation"]} == {"Depot München", "Solarpark Freising"}


def test_api_lists_own_k1s_and_answers_404_for_anothers(client: TestClient) -> None:
    ivy, hal = key_of("investor@pipelet.demo"), key_of("investor2@pipelet.demo")
    listed = client.get("/api/v1/investors/me/k1", params={"year": YEAR}, headers=ivy)
    assert listed.status_code == 200, listed.text
    (entry,) = listed.json()
    assert entry["partner"] == "Evergreen Tax Equity LLC" and entry["final"] is True
    assert client.get("/api/v1/investors/me/k1", params={"year": 2019}, headers=ivy).json() == []

    own = client.get(entry["download_url"], headers=ivy)
    assert own.status_code == 200 and own.headers["content-type"] == "application/pdf"
    assert "Evergreen Tax Equity LLC" in _pdftotext(own.content)

    harbor_url = client.get("/api/v1/investors/me/k1", headers=hal).json()[0]["download_url"]
    stolen = client.get(harbor_url, headers=ivy)
    assert stolen.status_code == 404 and stolen.json()["error"]["status"] == 404
    missing = client.get("/api/v1/investors/me/k1/99999/2025.pdf", headers=ivy)
    assert missing.status_code == 404 and missing.json() == stolen.json()  # indistinguishable
    assert client.get(harbor_url, headers=hal).status_code == 200
    assert client.get(harbor_url, headers=key_of("operator@sonnenstrom.demo")).status_code == 403
    assert client.get(harbor_url).status_code == 401

    statement = client.get(f"/api/v1/investors/me/capital-statement/{entry['partner_id']}.pdf", headers=ivy)
    assert statement.status_code == 200 and "Evergreen Tax Equity LLC" in _pdftotext(statement.content)


def test_cli_renders_the_years_k1s_from_the_database(demo: dict, tmp_path: Path) -> None:
    import os
    import sys

    out = tmp_path / "k1"
    result = subprocess.run(
        [sys.executable, "-m", "pipelet_app.cli.main", "tax", "k1", "--spv", str(_spv_id()), "--year", "2025",
         "--out", str(out)],
        capture_output=True, text=True, env=os.environ.copy(), timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "Form1065-2025.pdf",
        *(f"K1-2025-P{_partner(n).id}.pdf" for n in sorted(
            ["Sonnenstrom Betrieb GmbH", "Evergreen Tax Equity LLC", "Harbor Renewables Fund LP"],
            key=lambda n: _partner(n).id,
        )),
        "manifest.json",
    ]  # fmt: skip
    assert "Rendering 4 PDFs" in result.stderr
    filing_copy = _pdftotext((out / f"K1-2025-P{_partner('Harbor Renewables Fund LP').id}.pdf").read_bytes())
    assert "36-4445556" in filing_copy and "Harbor Renewables Fund LP" in filing_copy
    bad = subprocess.run(
        [sys.executable, "-m", "pipelet_app.cli.main", "tax", "k1", "--spv", "999", "--year", "2025",
         "--out", str(out)],
        capture_output=True, text=True, env=os.environ.copy(), timeout=60,
    )  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.strip() == "error: spv: no SPV with id 999"


def _pdftotext(content: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(content)
        handle.flush()
        return subprocess.run(
            ["pdftotext", "-layout", handle.name, "-"], capture_output=True, text=True, check=True
        ).stdout


def test_receipts_can_come_from_the_spv_chargers_sessions(demo: dict) -> None:
    """A year set to "sessions" sums what drivers paid at the SPV's chargers in that tax year only."""
    from datetime import UTC, datetime

    from pipelet_app.db.models import Charger, ChargingSession, SessionSource

    spv_id = _spv_id()
    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == "SON-CP-001")).one()
        northwind = db.exec(select(Charger).where(Charger.charge_point_id == "NW-CP-001")).one()
        for i, (who, start, cost) in enumerate(
            [
                (charger, datetime(2025, 1, 1, 0, 0, tzinfo=UTC), 12.34),
                (charger, datetime(2025, 12, 31, 23, 0, tzinfo=UTC), 7.66),
                (charger, datetime(2024, 12, 31, 23, 59, tzinfo=UTC), 100.0),  # the year before
                (northwind, datetime(2025, 6, 1, tzinfo=UTC), 50.0),  # not the SPV's charger
            ]
        ):
            db.add(
                ChargingSession(
                    transaction_id=f"tax-{i}",
                    station_id=who.charge_point_id,
                    source=SessionSource.OCPP_WALLBOX,
                    charger_id=who.id,
                    start_utc=start,
                    energy_wh=1000,
                    cost=cost,
                )
            )
        transition_return(db, spv_id, YEAR, ReturnStatus.DRAFT, actor="admin@pipelet.demo")
        row = db.exec(select(SpvTaxYear)).one()
        row.receipts_source = "sessions"
        db.add(row)
    with session_scope() as db:
        # Figures no longer balance with the entered Schedule L, so compare the loaded books directly.
        from pipelet_app.tax.books import load_books

        books = load_books(db, spv_id).books
    assert books.years[0].gross_receipts == Decimal("20.00")


def test_released_bytes_stay_and_changed_books_are_not_handed_out(demo: dict) -> None:
    """Once stored, the released K-1 is what the partner gets; a K-1 not yet stored is refused (404)
    when the books no longer produce the released return, and the sponsor's console says why."""
    from pipelet_app.portals.spv.data import spv_console

    evergreen, harbor = _partner("Evergreen Tax Equity LLC"), _partner("Harbor Renewables Fund LP")
    ivy, hal = _principal("investor@pipelet.demo"), _principal("investor2@pipelet.demo")
    with session_scope() as db:
        before = investor_data.k1_pdf(db, ivy, evergreen.id, YEAR)
    with session_scope() as db:
        moved = db.get(SpvPartner, harbor.id)
        moved.address = "1 New Harbor Way\nSan Diego, CA 92101"  # a K-1 fact, breaking no rule
        db.add(moved)
    with session_scope() as db:
        assert investor_data.k1_pdf(db, ivy, evergreen.id, YEAR).content == before.content
        with pytest.raises(NotFound):
            investor_data.k1_pdf(db, hal, harbor.id, YEAR)
        (year_row,) = spv_console(db, _principal("operator@sonnenstrom.demo"))["years"]
    assert "changed since release" in year_row["violations"]


def test_concurrent_first_downloads_store_one_document_and_serve_its_bytes(demo: dict) -> None:
    """Two investors' sessions (here: two threads) ask for the same released K-1 before it is stored:
    both render, one document is stored, and both receive that document's bytes."""
    evergreen = _partner("Evergreen Tax Equity LLC")
    ivy = _principal("investor@pipelet.demo")
    start = threading.Barrier(2)

    def download() -> bytes:
        start.wait()
        with session_scope() as db:
            return investor_data.k1_pdf(db, ivy, evergreen.id, YEAR).content

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: download(), range(2))
    with session_scope() as db:
        docs = db.exec(select(SpvDocument).where(SpvDocument.partner_id == evergreen.id)).all()
    assert len(docs) == 1
    assert first == second == docs[0].content
    assert docs[0].current_key == f"{evergreen.spv_id}/{YEAR}/k1/{evergreen.id}"


def test_going_back_to_draft_frees_the_key_for_the_corrected_document(demo: dict) -> None:
    evergreen, ivy = _partner("Evergreen Tax Equity LLC"), _principal("investor@pipelet.demo")
    with session_scope() as db:
        investor_data.k1_pdf(db, ivy, evergreen.id, YEAR)
    with session_scope() as db:
        transition_return(db, evergreen.spv_id, YEAR, ReturnStatus.DRAFT, actor="test")
    with session_scope() as db:
        transition_return(db, evergreen.spv_id, YEAR, ReturnStatus.RELEASED, actor="test")
    with session_scope() as db:
        investor_data.k1_pdf(db, ivy, evergreen.id, YEAR)
    with session_scope() as db:
        docs = db.exec(select(SpvDocument).order_by(SpvDocument.id)).all()
    assert [(d.superseded_at is None, d.current_key is None) for d in docs] == [(False, True), (True, False)]
