"""A payment's next step: the API answers the English of `payments.console.NEXT_STEP`; the operator's page
shows the same step from the catalogue in its language. Both name every step, with the same English."""

from __future__ import annotations

from pipelet_app.db.models import PaymentState
from pipelet_app.i18n.catalogue import LOCALES, MESSAGES
from pipelet_app.payments.console import NEXT_STEP, next_step, next_step_code


def test_every_step_has_the_apis_english_and_a_word_in_every_locale() -> None:
    for code, english in NEXT_STEP.items():
        assert MESSAGES["en"][f"payments.step.{code}"] == english
        for locale in LOCALES:
            assert MESSAGES[locale][f"payments.step.{code}"], (code, locale)


def test_codes_follow_the_payment() -> None:
    assert next_step_code(PaymentState.CAPTURED, refunded=True, stuck=False) == "refunded"
    assert next_step_code("authorized", refunded=False, stuck=False, provider="payter") == "terminal"
    assert next_step_code(PaymentState.AUTHORIZED, refunded=False, stuck=True) == "stuck"
    assert next_step_code("failed", refunded=False, stuck=False) == "failed"
    assert next_step(PaymentState.CAPTURED, False, False) == "done; a refund is possible"
