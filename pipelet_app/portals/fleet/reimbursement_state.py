"""State of the reimbursement and import pages.

Statements are computed over a month of sessions and an import parses up to 20 MB, so every handler
works off the event loop (the import on the heavy lane).
"""

from __future__ import annotations

import re

import reflex as rx

from pipelet_app.clock import utcnow
from pipelet_app.portals.fleet import reimbursement_data as data
from pipelet_app.portals.session_state import SessionState
from pipelet_app.runtime import offload

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _decode(raw: bytes) -> str:
    """UTF-8, or Latin-1 for the spreadsheets that still write it (every byte sequence decodes)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


class ReimbursementState(SessionState):
    rates: dict[str, str] = {}
    month: str = ""
    statements: list[dict[str, str]] = []
    message: str = ""
    error: str = ""

    async def _run(self, action):
        self.error = self.message = ""
        result = await self._guarded_off_loop(action)
        self.error = result.error
        return result

    @rx.event
    async def load(self):
        if not self.month:
            self.month = utcnow().strftime("%Y-%m")
        month = self.month
        result = await self._run(lambda db, p: (data.rates_view(db, p), data.statements_view(db, p, month)))
        if result.value:
            self.rates, self.statements = result.value
        return result.redirect

    @rx.event
    async def save_rates(self, form: dict):
        result = await self._run(lambda db, p: data.save_rates(db, p, form))
        if result.value is not None:
            self.rates = result.value
            self.message = "saved"
            return ReimbursementState.compute
        return result.redirect

    @rx.event
    def choose_month(self, form: dict):
        self.month = form.get("month", "")
        return ReimbursementState.compute

    @rx.event
    def pick_month(self, value: str):
        """Load the month as soon as the picker holds a whole one (YYYY-MM), without a second click."""
        if not _MONTH.fullmatch(value or "") or value == self.month:
            return None
        self.month = value
        return ReimbursementState.compute

    async def _statements(self, action):
        """Run `action(db, principal, month)`, which answers the month's statements, and show them (compute,
        approve and reopen all end on the month's list; shared so they show it alike)."""
        month = self.month
        result = await self._run(lambda db, p: action(db, p, month))
        if result.value is not None:
            self.statements = result.value
        return result.redirect

    @rx.event
    async def compute(self):
        return await self._statements(data.statements_view)

    @rx.event
    async def approve(self, statement_id: str):
        return await self._statements(lambda db, p, month: data.approve(db, p, statement_id, month))

    @rx.event
    async def reopen(self, statement_id: str):
        """Undo an approval (until the export): the statement is a draft again."""
        return await self._statements(lambda db, p, month: data.reopen(db, p, statement_id, month))

    @rx.event
    async def export(self):
        month = self.month
        result = await self._run(lambda db, p: data.export(db, p, month))
        if result.value is None:
            return result.redirect
        await self.compute()
        return rx.download(data=result.value, filename=f"reimbursement-{self.month}.csv")


class ImportState(SessionState):
    _csv_text: str = ""
    file_name: str = ""
    new_rows: list[dict[str, str]] = []
    new_count: int = 0
    already: int = 0
    errors: list[str] = []
    error_count: int = 0
    result: str = ""

    @rx.event
    async def load(self):
        self._csv_text = self.file_name = self.result = ""
        self.new_rows, self.errors, self.new_count, self.already, self.error_count = [], [], 0, 0, 0
        return (await self._guarded_off_loop(lambda db, p: data.preview_import(db, p, ""))).redirect

    @rx.event
    async def upload(self, files: list[rx.UploadFile]):
        if not files:
            return None
        raw = await files[0].read()
        text = await offload.heavy(_decode, raw)
        result = await self._guarded_off_loop(lambda db, p: data.preview_import(db, p, text), heavy=True)
        if result.value is None:
            return result.redirect
        self._csv_text, self.file_name, self.result = text, files[0].filename or "upload.csv", ""
        for key, value in result.value.items():
            setattr(self, key, value)
        return None

    @rx.event
    async def apply(self):
        if not self._csv_text:
            return None
        text = self._csv_text
        result = await self._guarded_off_loop(lambda db, p: data.apply_import(db, p, text), heavy=True)
        if result.value is None:
            return result.redirect
        done = result.value
        self.result = (
            f"{done['imported']} imported, {done['already']} already there, {done['errors']} left out"
        )
        self._csv_text, self.new_rows, self.new_count = "", [], 0
        return None
