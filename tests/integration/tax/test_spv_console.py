"""The sponsor's SPV console: scoped to the sponsoring tenant, actions through the release rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import select

from pipelet_app.auth import Forbidden, InvalidInput, NotFound, Principal
from pipelet_app.db import session_scope
from pipelet_app.db.models import Spv, SpvLifecycleStep, SpvPartner, User
from pipelet_app.i18n.catalogue import MESSAGES
from pipelet_app.i18n.formatting import in_locale
from pipelet_app.portals.spv import data
from pipelet_app.portals.spv.data import spv_console
from pipelet_app.tax.console import advance_phase, change_status

TODAY = date(2026, 9, 2)  # 13 days before the extended 2025 due date (15 Sep 2026)


def _principal(email: str) -> Principal:
    with session_scope() as db:
        return Principal.of(db.exec(select(User).where(User.email == email)).one())


def _spv_id() -> int:
    with session_scope() as db:
        return db.exec(select(Spv)).one().id


def test_console_shows_the_sponsors_spv_with_alerts_and_audit(demo: dict) -> None:
    with session_scope() as db:
        mine = spv_console(db, _principal("operator@sonnenstrom.demo"), TODAY)
        other = spv_console(db, _principal("operator@northwind.demo"), TODAY)
    assert [s["name"] for s in mine["spvs"]] == ["Pipelet Solar Fund I"]
    # the phase and the next one are codes the page words (`spv_phase.*`)
    assert (mine["spvs"][0]["phase"], mine["spvs"][0]["next"]) == ("operations", "exit")
    assert [(y["year"], y["status"], y["violations"]) for y in mine["years"]] == [("2025", "released", "—")]
    alerts = {(a["severity"], a["title"]) for a in mine["alerts"]}
    assert ("warning", "Form 1065 and K-1s for 2025") in alerts
    assert ("warning", "2025 Form 1065 filed (extended)") in alerts
    assert mine["audit"][0]["actor"] == "demo seed"
    with in_locale("de"), session_scope() as db:  # the alerts' sentences in the page's language
        german = spv_console(db, _principal("operator@sonnenstrom.demo"), TODAY)["alerts"]
    words = {(a["title"], a["message"]) for a in german}
    assert ("Form 1065 und K-1 für 2025", "fällig in 13 Tag(en)") in words
    assert ("2025 Form 1065 filed (extended)", "fällig in 13 Tag(en)") in words  # a step's title is data
    assert other == {"spvs": [], "steps": [], "alerts": [], "years": [], "audit": []}
    with session_scope() as db, pytest.raises(Forbidden):
        spv_console(db, _principal("investor@pipelet.demo"), TODAY)


def test_open_violations_read_in_the_pages_language(demo: dict) -> None:
    """An investor's pre-flip tax share raised to 61 %: the year's open violation keeps its rule id and
    field, its explanation in German with German numbers on the German page, the rules' English on the
    English one (as the CLI and the API say it)."""
    with session_scope() as db:
        evergreen = db.exec(select(SpvPartner).where(SpvPartner.name == "Evergreen Tax Equity LLC")).one()
        evergreen.pre_flip_tax = Decimal("0.61")
        db.add(evergreen)
    otto = _principal("operator@sonnenstrom.demo")
    with in_locale("de"), session_scope() as db:
        german = spv_console(db, otto, TODAY)["years"][0]["violations"]
    with session_scope() as db:
        english = spv_console(db, otto, TODAY)["years"][0]["violations"]
    assert "[ALLOC-100] pre_flip_tax: die Anteile ergeben 101,000000 %, nicht 100 % (Partner: 3)" in german
    assert "shares sum" not in german and "not 100" not in german
    assert "[ALLOC-100] pre_flip_tax: shares sum to 101.000000 %, not 100 % (partners: 3)" in english


def test_actions_follow_the_release_rules_and_tenancy(demo: dict) -> None:
    spv_id, otto = _spv_id(), _principal("operator@sonnenstrom.demo")
    with session_scope() as db, pytest.raises(NotFound):
        change_status(db, _principal("operator@northwind.demo"), spv_id, 2025, "draft")
    with session_scope() as db:
        assert change_status(db, otto, spv_id, 2025, "draft") == ("released", "draft")  # the codes
        partner = db.exec(select(SpvPartner).where(SpvPartner.name == "Evergreen Tax Equity LLC")).one()
        partner.tin_encrypted = None
        db.add(partner)
    with session_scope() as db, pytest.raises(InvalidInput) as refused:
        change_status(db, otto, spv_id, 2025, "released")
    assert "RELEASE-BLOCKED" in refused.value.message and "K1-TIN" in refused.value.message
    assert (
        "validation error(s) open" in refused.value.message
        and "a K-1 needs a 9-digit TIN" in refused.value.message
    )
    with (
        in_locale("de"),
        session_scope() as db,
        pytest.raises(InvalidInput) as refused,
    ):  # the page's language
        change_status(db, otto, spv_id, 2025, "released")
    assert refused.value.message.startswith("[RELEASE-BLOCKED] status: 1 Prüffehler offen: [K1-TIN] partner ")
    assert "Evergreen Tax Equity LLC: eine K-1 braucht eine 9-stellige TIN (Feld E), angegeben ist ''" in (
        refused.value.message
    )
    with session_scope() as db:
        audit = spv_console(db, otto, TODAY)["audit"]
    assert [(a["change"], a["actor"]) for a in audit] == [
        ("Released → Draft", "operator@sonnenstrom.demo"),
        ("Draft → Released", "demo seed"),
    ]
    with in_locale("de"), session_scope() as db:  # the statuses in the page's language, not their codes
        assert spv_console(db, otto, TODAY)["audit"][0]["change"] == "Freigegeben → Entwurf"


def test_the_page_words_phases_statuses_and_moves_in_its_language(demo: dict) -> None:
    """The console's rows keep codes the page words (`spv_phase.*`, `return_status.*`, both languages);
    the action's message is the move in words, not `released → draft`."""
    spv_id, otto = _spv_id(), _principal("operator@sonnenstrom.demo")
    with session_scope() as db:
        mine = spv_console(db, otto, TODAY)
    for locale in ("en", "de"):
        for row in mine["spvs"] + mine["steps"]:
            assert f"spv_phase.{row['phase']}" in MESSAGES[locale]
        for row in mine["years"]:
            assert f"return_status.{row['status']}" in MESSAGES[locale]
    with in_locale("de"), session_scope() as db:
        assert data.change_status(db, otto, spv_id, 2025, "draft") == "Freigegeben → Entwurf"
    with session_scope() as db:
        assert data.change_status(db, otto, spv_id, 2025, "released") == "Draft → Released"


def test_phase_advances_only_when_its_steps_are_done(demo: dict) -> None:
    spv_id, otto = _spv_id(), _principal("operator@sonnenstrom.demo")
    with session_scope() as db, pytest.raises(InvalidInput) as refused:
        advance_phase(db, otto, spv_id)
    assert "2025 Form 1065 filed (extended)" in refused.value.message
    with session_scope() as db:
        for step in db.exec(select(SpvLifecycleStep).where(SpvLifecycleStep.done_on.is_(None))).all():
            step.done_on = TODAY
            db.add(step)
    with in_locale("de"), session_scope() as db:  # the page's message names the phase in words
        assert data.advance_phase(db, otto, spv_id) == "Die Gesellschaft ist jetzt in der Phase: Ausstieg"
    with session_scope() as db:
        assert db.get(Spv, spv_id).lifecycle_phase == "exit"
        with pytest.raises(InvalidInput):  # already in the last phase
            advance_phase(db, otto, spv_id)


def test_unknown_and_foreign_spvs_answer_alike(demo: dict) -> None:
    nora = _principal("operator@northwind.demo")
    answers = []
    for spv_id in (_spv_id(), 99999):
        with session_scope() as db, pytest.raises(NotFound) as refused:
            change_status(db, nora, spv_id, 2025, "draft")
        answers.append(refused.value.message)
        with session_scope() as db, pytest.raises(NotFound) as refused:
            advance_phase(db, nora, spv_id)
        answers.append(refused.value.message)
    assert set(answers) == {"Not found."}


def test_cli_status_changes_are_audited_and_refused_with_the_rule(demo: dict) -> None:
    import os
    import subprocess
    import sys

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pipelet_app.cli.main", "tax", "status", "--spv", str(_spv_id()),
             "--year", "2025", *args],
            capture_output=True, text=True, env=os.environ.copy(), timeout=120,
        )  # fmt: skip

    foreign = run("--to", "draft", "--as", "operator@northwind.demo")
    assert foreign.returncode == 2
    assert foreign.stderr.strip() == f"error: spv: no SPV {_spv_id()} that operator@northwind.demo may manage"
    back = run("--to", "draft", "--as", "operator@sonnenstrom.demo", "--note", "fix Harbor TIN")
    assert back.returncode == 0, back.stderr
    assert '"from": "released", "to": "draft", "actor": "operator@sonnenstrom.demo"' in back.stdout
    with session_scope() as db:
        harbor = db.exec(select(SpvPartner).where(SpvPartner.name == "Harbor Renewables Fund LP")).one()
        harbor.tin_encrypted = None
        db.add(harbor)
    blocked = run("--to", "released", "--as", "admin@pipelet.demo")
    assert blocked.returncode == 2 and blocked.stderr.startswith("error: status: [RELEASE-BLOCKED]")
    assert "K1-TIN" in blocked.stderr and len(blocked.stderr.strip().splitlines()) == 1
    assert run("--to", "shipped", "--as", "admin@pipelet.demo").stderr.startswith("error: status:")


def test_a_console_load_computes_each_year_once_and_unchanged_books_not_again(
    demo: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console used to compute every year's return twice per load (violations, then release match).
    Now once per year, and a second load over unchanged books reuses it; changed books compute anew."""
    from pipelet_app.tax import returns

    calls: list[int] = []
    real_prepare = returns.prepare

    def counting_prepare(books):  # the real computation, counted
        calls.append(len(books.years))
        return real_prepare(books)

    monkeypatch.setattr(returns, "prepare", counting_prepare)
    monkeypatch.setattr(returns, "_prepared", type(returns._prepared)())
    otto = _principal("operator@sonnenstrom.demo")
    with session_scope() as db:
        first = spv_console(db, otto, TODAY)
    assert len(calls) == len(first["years"]) == 1
    with session_scope() as db:
        assert spv_console(db, otto, TODAY) == first
    assert len(calls) == 1  # same books, same fingerprint: no second computation

    with session_scope() as db:  # a partner moved: part of the K-1, so part of the books' fingerprint
        partner = db.exec(select(SpvPartner).where(SpvPartner.name == "Harbor Renewables Fund LP")).one()
        partner.address = "1 Pier Road\nSan Diego, CA 92101"
        db.add(partner)
    with session_scope() as db:
        changed = spv_console(db, otto, TODAY)
    assert len(calls) == 2
    # The released return no longer matches the books: the console says so, from the fresh computation.
    assert "books changed since release" in changed["years"][0]["violations"]


def test_filing_a_return_whose_books_changed_is_refused_in_the_pages_language(demo: dict) -> None:
    spv_id, otto = _spv_id(), _principal("operator@sonnenstrom.demo")
    with session_scope() as db:  # a partner moved after the 2025 return was released
        partner = db.exec(select(SpvPartner).where(SpvPartner.name == "Harbor Renewables Fund LP")).one()
        partner.address = "1 Pier Road\nSan Diego, CA 92101"
        db.add(partner)
    with session_scope() as db, pytest.raises(InvalidInput) as refused:
        change_status(db, otto, spv_id, 2025, "filed")
    assert refused.value.message.endswith(" 2025: the books changed since release; release again first")
    with in_locale("de"), session_scope() as db, pytest.raises(InvalidInput) as refused:
        change_status(db, otto, spv_id, 2025, "filed")
    assert refused.value.message.endswith(
        " 2025: Die Bücher haben sich seit der Freigabe geändert: zurück zum Entwurf und neu freigeben"
    ), refused.value.message
    assert "books changed" not in refused.value.message
