"""Investor portal state: thin over `services.investors`, every handler through `_guarded`.

`download_k1` takes ids from the client, so it proves ownership on the server (the data function
raises NotFound for another investor's partner id) before a byte leaves; the refusal is a message,
never the document.

Both handlers compute the partnership's return (and `download_k1` may render a PDF), so they run on the
heavy lane off the event loop; `k1_busy` names the K-1 being prepared so its button shows a spinner.
"""

from __future__ import annotations

import reflex as rx

from pipelet_app.i18n import MESSAGES
from pipelet_app.portals.session_state import SessionState
from pipelet_app.services.investors import SECTIONS, investor_overview, k1_pdf


class InvestorState(SessionState):
    partnerships: list[dict[str, str]] = []
    k1s: list[dict[str, str]] = []
    pnl: list[dict[str, str]] = []
    balance: list[dict[str, str]] = []
    depreciation: list[dict[str, str]] = []
    distributions: list[dict[str, str]] = []
    analytics: list[dict[str, str]] = []
    utilisation: list[dict[str, str]] = []
    summary: list[dict[str, str]] = []
    history: list[dict] = []  # per SPV and year, numbers for the chart
    notes: list[str] = []
    k1_error: str = ""
    k1_busy: str = ""  # "<partner id>-<year>" while that K-1 is computed or rendered

    @rx.event
    async def load(self):
        result = await self._guarded_off_loop(investor_overview, heavy=True)
        value = result.value or {}
        self.partnerships = value.get("partnerships", [])
        self.k1s = value.get("k1s", [])
        for name in SECTIONS:
            setattr(self, name, value.get(name, []))
        self.notes = value.get("notes", [])
        self.k1_error = ""
        return result.redirect

    @rx.event
    async def download_k1(self, partner_id: int, year: int):
        """Send the caller's own K-1 as a download; anything else gets "not available" and no data."""
        self.k1_error = ""
        try:
            pid, tax_year = int(partner_id), int(year)
        except (TypeError, ValueError):
            pid, tax_year = 0, 0
        self.k1_busy = f"{pid}-{tax_year}"
        yield  # the spinner shows while the K-1 is computed and rendered
        try:
            result = await self._guarded_off_loop(
                lambda db, principal: k1_pdf(db, principal, pid, tax_year), heavy=True
            )
        finally:
            self.k1_busy = ""
        if result.redirect is not None:
            yield result.redirect
            return
        if result.value is None:
            # Not the caller's (or not ready): a message on the K-1 card, not a page-wide refusal.
            self.denied = ""
            self.k1_error = MESSAGES.get(self.locale, MESSAGES["en"])["investor.not_available"]
            return
        yield rx.download(
            data=result.value.content, filename=result.value.filename, mime_type="application/pdf"
        )
