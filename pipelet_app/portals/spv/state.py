"""SPV console state: thin over `tax.console` (formatted by `portals.spv.data`); each action re-checks
role and sponsorship.

Every handler runs its work on the heavy lane (`runtime.offload`): the console computes each year's
return, which for a large partnership takes long enough to stall everyone else's pages if done on the loop.
"""

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

    async def _fill(self) -> None:
        result = await self._guarded_off_loop(spv_console, heavy=True)
        for name, rows in (result.value or {}).items():
            setattr(self, name, rows)

    @rx.event
    async def load(self):
        self.message = self.error = ""
        result = await self._guarded_off_loop(spv_console, heavy=True)
        for name, rows in (result.value or {}).items():
            setattr(self, name, rows)
        return result.redirect  # `_fill` for actions: the load's redirect matters only on page entry

    @rx.event
    async def set_status(self, spv_id: str, year: str, target: str):
        spv, tax_year, wanted = _int(spv_id), _int(year), str(target)
        result = await self._guarded_off_loop(
            lambda db, p: change_status(db, p, spv, tax_year, wanted), heavy=True
        )
        if result.redirect is not None or result.denied:
            return result.redirect  # not signed in, or not this sponsor's SPV: the refusal, nothing else
        self.error, self.message = result.error, result.value or ""
        await self._fill()
        return None

    @rx.event
    async def advance(self, spv_id: str):
        spv = _int(spv_id)
        result = await self._guarded_off_loop(lambda db, p: advance_phase(db, p, spv), heavy=True)
        if result.redirect is not None or result.denied:
            return result.redirect  # not signed in, or not this sponsor's SPV: the refusal, nothing else
        self.error, self.message = result.error, result.value or ""
        await self._fill()
        return None
