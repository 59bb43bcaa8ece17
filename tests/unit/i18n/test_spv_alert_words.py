"""The SPV console's compliance alerts and lifecycle refusals in the page's language: every sentence the
rules write has a catalogue entry in each locale with the same placeholders, the English one the rules' own
(so mail and page say the same), and the German page words a real alert of each kind."""

from __future__ import annotations

import string
from datetime import date

import pytest

from pipelet_app.domain.tax.compliance import (
    SENTENCES,
    Phase,
    Step,
    filing_alerts,
    next_phase,
    section_30c_alerts,
    step_alerts,
)
from pipelet_app.domain.tax.errors import TaxValidationError
from pipelet_app.domain.tax.macrs import TaxYear
from pipelet_app.domain.tax.rules import SECTION_30C_LAST_PLACED_IN_SERVICE
from pipelet_app.i18n import MESSAGES
from pipelet_app.i18n.formatting import in_locale
from pipelet_app.i18n.words import error_text
from pipelet_app.portals.spv.data import _say

ENGLISH_WORDS = ("late", "due in", "Form 1065 and", "deadline for port", "planned", "must be", "day(s)")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("code", sorted(SENTENCES))
def test_every_alert_sentence_is_in_the_catalogue(code: str) -> None:
    assert MESSAGES["en"][f"spv_alert.{code}"] == SENTENCES[code]
    assert _fields(MESSAGES["de"][f"spv_alert.{code}"]) == _fields(SENTENCES[code])
    assert MESSAGES["de"][f"spv_alert.{code}"] != SENTENCES[code]


def test_the_german_page_words_every_kind_of_alert() -> None:
    deadline = SECTION_30C_LAST_PLACED_IN_SERVICE
    alerts = [
        *step_alerts([Step("s1", Phase.OPERATIONS, "Bericht", "Otto", date(2026, 9, 15))], date(2026, 12, 5)),
        *step_alerts([Step("s2", Phase.OPERATIONS, "Bericht", "Otto", date(2026, 9, 15))], date(2026, 9, 5)),
        *filing_alerts(TaxYear.starting(2025, 1), date(2026, 3, 1), extended=False, filed=False, owner="x"),
        *section_30c_alerts([("P1", date(deadline.year + 1, 1, 1))], deadline, owner="x"),
        *section_30c_alerts([("P2", deadline)], deadline, owner="x"),
    ]
    assert {a.message_words[0] for a in alerts} == {"late", "due_in", "after_deadline", "in_service_by"}
    with in_locale("de"):
        said = [_say(a.message_words, "de") for a in alerts]
        said += [_say(a.title_words, "de") for a in alerts if a.title_words is not None]
    assert "81 Tag(e) überfällig" in said and "fällig in 10 Tag(en)" in said
    assert "Form 1065 und K-1 für 2025" in said
    for text in said:
        assert not any(word in text for word in ENGLISH_WORDS), text
        assert str(deadline) not in text, "dates as the page writes them, not ISO"


def test_lifecycle_refusals_read_in_german() -> None:
    steps = [Step("s1", Phase.OPERATIONS, "Bericht 2026", "Otto", date(2026, 9, 15))]
    with pytest.raises(TaxValidationError) as refused:
        next_phase(Phase.OPERATIONS, Phase.EXIT, steps)
    message = refused.value.violations[0].message
    assert error_text(message, "de") == "In der Phase Betrieb sind noch Schritte offen: Bericht 2026."
    assert error_text(message, "en") == "The phase Operations still has open steps: Bericht 2026."
    last = error_text("phase: the SPV is already in its last phase", "de")
    assert last == "Die Gesellschaft ist schon in ihrer letzten Phase."
