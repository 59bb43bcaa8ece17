"""UI strings in English and German, from one catalogue."""

from pipelet_app.i18n.catalogue import LOCALES, MESSAGES, translate

__all__ = ["LOCALES", "MESSAGES", "translate"]
