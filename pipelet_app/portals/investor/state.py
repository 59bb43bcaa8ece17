"""Investor portal state: thin over `portals.investor.data`, every handler through `_guarded`.

`download_k1` takes ids from the client, so it proves ownership on the server (the data function
raises NotFound for another investor's partner id) before a byte leaves; the refusal is a message,
never the document.
"""

from __future__ import annotations

import reflex as rx

from pipelet_app.i18n import MESSAGES
from pipelet_app.portals.investor.data import SECTIONS, investor_overview, k1_pdf
from pipelet_app.portals.session_state import SessionState


class InvestorState(SessionState):
    partnerships: list[dict[str, str]] = []
    k1s: list[dict[str, str]] = []
    pnl: list[dict[str, str]] = []
    balance: list[dict[str, str]] = []
    depreciation: list[dict[str, str]] = []
    distributions: list[dict[str, str]] = []
    analytics: list[dict[str, str]] = []
    utilisation: list[dict[str, str]] = []
    notes: list[str] = []
    k1_error: str = ""

    @rx.event
    def load(self):
        result = self._guarded(investor_overview)
        value = result.value or {}
        self.partnerships = value.get("partnerships", [])
        self.k1s = value.get("k1s", [])
        for name in SECTIONS:
            setattr(self, name, value.get(name, []))
        self.notes = value.get("notes", [])
        self.k1_error = ""
        return result.redirect

    @rx.event
    def download_k1(self, partner_id: int, year: int):
        """Send the caller's own K-1 as a download; anything else gets "not available" and no data."""
        self.k1_error = ""
        try:
            pid, tax_year = int(partner_id), int(year)
        except (TypeError, ValueError):
            pid, tax_year = 0, 0
        result = self._guarded(lambda db, principal: k1_pdf(db, principal, pid, tax_year))
        if result.redirect is not None:
            return result.redirect
        if result.value is None:
            # Not the caller's (or not ready): a message on the K-1 card, not a page-wide refusal.
            self.denied = ""
            self.k1_error = MESSAGES.get(self.locale, MESSAGES["en"])["investor.not_available"]
            return None
        return rx.download(
            data=result.value.content, filename=result.value.filename, mime_type="application/pdf"
        )
