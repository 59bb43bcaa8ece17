"""SPV console state: thin over `portals.spv.data`; each action re-checks role and sponsorship."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.session_state import SessionState
from pipelet_app.portals.spv.data import advance_phase, change_status, spv_console


def _int(value: object) -> int:
    """Ids arrive from the client as anything; garbage becomes 0, which no row has (NotFound)."""
    try:
        return int(str(value))
    except ValueError:
        return 0


class SpvConsoleState(SessionState):
    spvs: list[dict[str, str]] = []
    steps: list[dict[str, str]] = []
    alerts: list[dict[str, str]] = []
    years: list[dict[str, str]] = []
    audit: list[dict[str, str]] = []
    message: str = ""
    error: str = ""

    def _fill(self) -> None:
        result = self._guarded(spv_console)
        for name, rows in (result.value or {}).items():
            setattr(self, name, rows)

    @rx.event
    def load(self):
        self.message = self.error = ""
        result = self._guarded(spv_console)
        for name, rows in (result.value or {}).items():
            setattr(self, name, rows)
        return result.redirect  # `_fill` for actions: the load's redirect matters only on page entry

    @rx.event
    def set_status(self, spv_id: str, year: str, target: str):
        result = self._guarded(lambda db, p: change_status(db, p, _int(spv_id), _int(year), str(target)))
        if result.redirect is not None or result.denied:
            return result.redirect  # not signed in, or not this sponsor's SPV: the refusal, nothing else
        self.error, self.message = result.error, result.value or ""
        self._fill()
        return None

    @rx.event
    def advance(self, spv_id: str):
        result = self._guarded(lambda db, p: advance_phase(db, p, _int(spv_id)))
        if result.redirect is not None or result.denied:
            return result.redirect  # not signed in, or not this sponsor's SPV: the refusal, nothing else
        self.error, self.message = result.error, result.value or ""
        self._fill()
        return None
