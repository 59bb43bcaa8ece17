from pipelet_app.i18n import LOCALES, MESSAGES, translate


def test_every_locale_has_every_key() -> None:
    english = set(MESSAGES["en"])
    for locale in LOCALES:
        assert set(MESSAGES[locale]) == english, f"{locale} differs from en"
        assert all(MESSAGES[locale].values()), f"{locale} has empty strings"


def test_german_is_really_translated() -> None:
    assert translate("login.submit", "de") == "Anmelden"
    assert translate("login.submit", "en") == "Sign in"


def test_unknown_locale_and_key_fall_back() -> None:
    assert translate("login.submit", "fr") == "Sign in"
    assert translate("no.such.key", "de") == "no.such.key"
