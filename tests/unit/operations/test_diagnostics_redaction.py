"""The diagnostics download is safe to attach to a ticket: secrets by name show only that they are set,
URLs lose their passwords and credential-like query parameters, the rest is shown as it is."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipelet_app.operations.diagnostics import REDACTED, redact_url, redact_value, redacted_settings
from pipelet_app.settings import Settings


def test_secret_settings_show_only_that_they_are_set() -> None:
    assert redact_value("pipelet_secret_key", "s3cr3t") == REDACTED
    assert redact_value("stripe_api_key", "sk_test_123") == REDACTED
    assert redact_value("stripe_webhook_secret", "") is None
    assert redact_value("sungrow_access_key", None) is None
    assert redact_value("csms_port", 9000) == 9000
    assert redact_value("mail_from", "Pipelet <p@x>") == "Pipelet <p@x>"


def test_urls_lose_passwords_and_credential_parameters() -> None:
    assert (
        redact_url("postgresql://app:hunter2@db:5432/pipelet")
        == f"postgresql://app:{REDACTED}@db:5432/pipelet"
    )
    assert redact_url("redis://:pw@127.0.0.1:6379/0") == f"redis://:{REDACTED}@127.0.0.1:6379/0"
    assert "=tok&" not in redact_url("https://h/x?token=tok&region=eu")
    assert "region=eu" in redact_url("https://h/x?token=tok&region=eu")
    assert redact_url("mqtt://127.0.0.1:1883") == "mqtt://127.0.0.1:1883"


@given(st.text(alphabet=st.characters(min_codepoint=48, max_codepoint=122), min_size=6, max_size=30))
def test_no_password_survives_in_a_url(password: str) -> None:
    redacted = redact_url(f"smtps://mailer:{password}@mail.example.com:465?starttls=1")
    assert f":{password}@" not in redacted
    assert "mail.example.com" in redacted or redacted == REDACTED  # unparseable: nothing shown


def test_the_whole_settings_object_keeps_no_secret() -> None:
    settings = Settings(
        pipelet_secret_key="k" * 32,
        database_url="postgresql://app:dbpass-9@127.0.0.1/pipelet",
        smtp_url="smtp://u:mailpass-9@127.0.0.1:25",
        stripe_api_key="sk_test_stripepass9",
        enphase_client_secret="enphasepass-9",
    )
    shown = repr(redacted_settings(settings))
    for secret in ("k" * 32, "dbpass-9", "mailpass-9", "stripepass9", "enphasepass-9"):
        assert secret not in shown
    assert "127.0.0.1/pipelet" in shown
