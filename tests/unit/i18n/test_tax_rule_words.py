"""The tax rules' violation texts in the page's language: every explanation the rules write has a catalogue
entry in each locale with the same placeholders, the English one the rules' own (so CLI, API and page say
the same), and the German page words real violations of the flip, 1065/K-1 and §30C checks with German
numbers and dates, a reason inside a reason included, while English stays the rules' text."""

from __future__ import annotations

import string
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from pipelet_app.domain.tax.allocation import check_shares
from pipelet_app.domain.tax.bonus import bonus_rate
from pipelet_app.domain.tax.capital import CapitalStatement, deficit_violations
from pipelet_app.domain.tax.credits import PortClaim, validate_port
from pipelet_app.domain.tax.errors import SENTENCES, RuleViolation, TaxValidationError
from pipelet_app.domain.tax.flip import FlipTerms, validate_terms
from pipelet_app.domain.tax.release import ReturnStatus, transition
from pipelet_app.i18n import MESSAGES
from pipelet_app.i18n.formatting import in_locale
from pipelet_app.i18n.words import refusal_text, violation_text

ENGLISH_WORDS = ("shares sum", "not 100", "claims", "allowed", "capped", "deadline", "partner has", "no rule")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("code", sorted(SENTENCES))
def test_every_violation_text_is_in_the_catalogue(code: str) -> None:
    assert MESSAGES["en"][f"tax_rule.{code}"] == SENTENCES[code]
    assert _fields(MESSAGES["de"][f"tax_rule.{code}"]) == _fields(SENTENCES[code])
    assert MESSAGES["de"][f"tax_rule.{code}"] != SENTENCES[code]


def _violations() -> list[RuleViolation]:
    """Real violations from the rules: allocations off 100 %, a §30C port late and over the cap, a capital
    deficit with a QIO only, a bonus date no rule covers (its reason the rule table's own violation)."""
    out = check_shares({"sponsor": Decimal("0.40"), "investor": Decimal("0.61")}, "pre_flip_tax")
    late = PortClaim("P-7", Decimal("12000.50"), date(2026, 7, 1), "08031000701", True, True)
    greedy = PortClaim(
        "P-8", Decimal("100000"), date(2025, 3, 1), "08031000701", True, True, Decimal("150000")
    )
    out += validate_port(late) + validate_port(greedy)
    deficit = CapitalStatement("investor", 2025, *[Decimal(0)] * 8, Decimal("-1234.56"))
    out += deficit_violations([deficit], has_dro={}, has_qio={"investor": True})
    with pytest.raises(TaxValidationError) as refused:
        bonus_rate(date(2010, 1, 4), date(2010, 6, 1))
    return out + list(refused.value.violations)


def test_the_german_page_words_violations_with_german_numbers_and_dates() -> None:
    violations = _violations()
    codes = [v.words.code for v in violations if v.words is not None]
    assert codes == ["shares_sum", "after_30c_deadline", "credit_cap", "capital_deficit", "no_rule"]
    with in_locale("de"):
        said = [violation_text(v, "de") for v in violations]
    assert said[0] == "[ALLOC-100] pre_flip_tax: die Anteile ergeben 101,00 %, nicht 100 % (Partner: 2)"
    assert said[1] == (
        "[30C-DEADLINE] port P-7.placed_in_service: in Betrieb genommen am 01.07.2026, "
        "nach der §30C-Frist am 30.06.2026"
    )
    assert "macht 150.000 geltend, mehr als die zulässigen" in said[2]
    assert said[3] == (
        "[704B-DEFICIT] partner investor.capital_account: das §704(b)-Kapitalkonto endet 2025 bei -1.234,56; "
        "der Partner hat nur ein QIO: den Verlust umverteilen, der das Defizit verursacht"
    )
    assert said[4] == "[BONUS-DATE] placed_in_service: bonus_phase_down: am 01.06.2010 gilt keine Regel"
    for text in said:
        assert not any(word in text for word in ENGLISH_WORDS), text
    with in_locale("en"):  # English: the rules' own text, as the CLI and the API give it
        assert [violation_text(v, "en") for v in violations] == [str(v) for v in violations]
    assert str(violations[0]) == "[ALLOC-100] pre_flip_tax: shares sum to 101.00 %, not 100 % (partners: 2)"
    assert violations[3].message.endswith(
        "ends 2025 at -1234.56; the partner has a QIO only: reallocate the loss creating the deficit"
    )


def test_a_flip_without_investor_reads_in_german() -> None:
    """No partners at all: each category's shares sum to 0 %, and nothing decides the flip."""
    violations = validate_terms(FlipTerms((), Decimal("0.08"), Decimal("0.21")))
    with in_locale("de"):
        said = [violation_text(v, "de") for v in violations]
    assert said[0] == "[ALLOC-100] pre_flip_tax: die Anteile ergeben 0 %, nicht 100 % (Partner: 0)"
    no_investor = "kein Partner mit der Rolle INVESTOR: nichts entscheidet über den Flip"
    assert said[-1] == f"[ALLOC-100] partners: {no_investor}"


def test_a_refused_release_lists_the_open_violations_in_german() -> None:
    """The release refusal names the open violations: each worded in German inside the German sentence,
    the English refusal unchanged (the exception's own text)."""
    with pytest.raises(TaxValidationError) as refused:
        transition(
            ReturnStatus.DRAFT,
            ReturnStatus.RELEASED,
            actor="otto",
            at=datetime(2026, 9, 2, tzinfo=UTC),
            open_violations=_violations()[:2],
        )
    with in_locale("de"):
        said = refusal_text(refused.value, "de")
    assert said == (
        "[RELEASE-BLOCKED] status: 2 Prüffehler offen: [ALLOC-100] pre_flip_tax: die Anteile ergeben "
        "101,00 %, nicht 100 % (Partner: 2); [30C-DEADLINE] port P-7.placed_in_service: "
        "in Betrieb genommen am 01.07.2026, nach der §30C-Frist am 30.06.2026"
    )
    assert refusal_text(refused.value, "en") == str(refused.value)
    assert str(refused.value).startswith("[RELEASE-BLOCKED] status: 2 validation error(s) open: [ALLOC-100]")
