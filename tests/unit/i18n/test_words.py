"""Codes and developer error texts that reached pages, in people's words (EN and DE)."""

from __future__ import annotations

import pytest

from pipelet_app.db.models import Role, TenantKind
from pipelet_app.domain.charger_status import SUMMARY_ORDER
from pipelet_app.i18n import MESSAGES
from pipelet_app.i18n.words import command_error_text, error_text, label
from pipelet_app.ocpp import errors
from pipelet_app.ocpp.errors import CallRejected
from pipelet_app.ocpp.validation import validate


@pytest.mark.parametrize(
    ("group", "code", "en", "de"),
    [
        ("reason", "StaleSupersededByNewTransaction", "Replaced by a newer session", "neueren Ladevorgang"),
        ("reason", "pv-native", "Reported by the solar system", "Von der Solaranlage gemeldet"),
        ("error_code", "NoError", "No error", "Kein Fehler"),
        ("error_code", "GroundFailure", "Ground fault", "Erdschluss"),
        ("role", "fleet_manager", "Fleet manager", "Fuhrparkleitung"),
        ("charger_status", "Faulted", "Fault", "Störung"),
    ],
)
def test_codes_read_as_words(group: str, code: str, en: str, de: str) -> None:
    assert en in label(group, code, "en")
    assert de in label(group, code, "de")


def test_an_unknown_code_is_shown_as_it_is() -> None:
    assert label("reason", "SomethingNew", "de") == "SomethingNew"


def test_every_role_tenant_kind_and_summary_status_has_words() -> None:
    for locale in ("en", "de"):
        for group, codes in (
            ("role", [r.value for r in Role]),
            ("tenant_kind", [k.value for k in TenantKind]),
            ("charger_status", SUMMARY_ORDER),
        ):
            for code in codes:
                assert f"{group}.{code}" in MESSAGES[locale], (locale, group, code)


def test_the_schema_message_for_a_missing_field_reads_as_a_request() -> None:
    with pytest.raises(CallRejected) as raised:
        validate("1.6", "RemoteStopTransaction", {})
    message = f"RemoteStopTransaction: {raised.value.description}"  # as ocpp/base.py words it
    assert "data must contain" in message  # the developer text this test is about
    assert error_text(message, "en") == "Please give the session (transaction id)."
    assert error_text(message, "de") == "Bitte angeben: den Ladevorgang (Transaktions-ID)."


def test_role_and_tenant_mismatch_reads_without_codes() -> None:
    message = "tenant: a operator needs a operator tenant"  # auth/invitations.py's words
    en = error_text(message, "en")
    assert en == (
        "Organisation: the role Charger operator can only be invited into a charger operator organisation; "
        "choose one of those."
    )
    assert "Ladestationsbetreiber" in error_text(message, "de")
    assert error_text("payload: not JSON (Expecting value at position 0)", "de").startswith(
        "payload: not JSON"
    )


def test_command_errors_name_the_command_and_the_reason_not_the_class() -> None:
    offline = command_error_text("reset", "ChargerOffline", "SON-CP-001 is not connected", "en")
    assert (
        offline == "Restart: The charger is offline, so nothing was sent. Try again when it is back online."
    )
    de = command_error_text("reset", "ChargerOffline", "", "de")
    assert de.startswith("Neustart: Die Ladestation ist offline")
    for text in (offline, de):
        assert "ChargerOffline" not in text and "HTTP" not in text and "409" not in text
    refused = command_error_text(
        "remote-stop",
        "InvalidCommandPayload",
        "RemoteStopTransaction: payload: data must contain ['transactionId']",
        "en",
    )
    assert refused == (
        "Stop charging: Nothing was sent, the command is incomplete. "
        "Please give the session (transaction id)."
    )


def test_every_command_error_class_has_words() -> None:
    kinds = [
        c.__name__
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.CommandError)
    ]
    for kind in kinds:
        if kind != "CommandError":
            assert f"command_error.{kind}" in MESSAGES["en"], kind


def test_a_missing_or_other_tenants_record_reads_in_the_pages_language() -> None:
    """Services answer "Not found." for a missing id and for another tenant's (a forged id): a German
    page showed it in English (found on /operator/networks with a forged account id)."""
    from types import SimpleNamespace

    from pipelet_app.portals.session_state import SessionState, _Outcome

    assert error_text("Not found.", "en") == "Not found."
    assert error_text("Not found.", "de") == "Nicht gefunden."
    page = SimpleNamespace(locale="de", denied="", user_name="", user_email="", user_role="")
    settled = SessionState.__dict__["_settle"](page, _Outcome("denied", message="Not found."))
    assert settled.denied == page.denied == "Nicht gefunden."
