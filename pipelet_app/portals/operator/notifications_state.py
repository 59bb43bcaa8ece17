"""State of `/operator/notifications`: the signed-in operator's e-mail subscription. Both handlers go
through the guard; `operations.notifications` checks the role and that every chosen site is the tenant's."""

from __future__ import annotations

from typing import Any

import reflex as rx

from pipelet_app.operations.notifications import my_subscription, set_my_subscription
from pipelet_app.portals.session_state import SessionState


def _view(found: dict[str, Any]) -> dict[str, Any]:
    chosen = set(found["site_ids"])
    return {
        "flags": {k: found[k] for k in ("faults", "recoveries", "daily_digest")},
        "digest_hour": str(found["digest_hour"]),
        "timezone": found["timezone"] or "",
        "effective_timezone": found["effective_timezone"],
        "sites": [
            {"id": str(s["id"]), "name": s["name"], "chosen": s["id"] in chosen} for s in found["sites"]
        ],
    }


def from_form(form: dict[str, Any], site_ids: list[str]) -> dict[str, Any]:
    """A browser form sends checked boxes as "on" and leaves unchecked ones out; the API's types here."""
    hour = str(form.get("digest_hour", "")).strip()
    return {
        "faults": form.get("faults") == "on",
        "recoveries": form.get("recoveries") == "on",
        "daily_digest": form.get("daily_digest") == "on",
        "digest_hour": int(hour) if hour.isdigit() else hour,
        "timezone": str(form.get("timezone", "")).strip() or None,
        "site_ids": [int(s) for s in site_ids if form.get(f"site-{s}") == "on"],
    }


class NotificationsState(SessionState):
    flags: dict[str, bool] = {}
    digest_hour: str = "7"
    timezone: str = ""
    effective_timezone: str = ""
    sites: list[dict[str, Any]] = []
    error: str = ""
    saved: bool = False
    loaded: bool = False

    def _show(self, found: dict[str, Any]) -> None:
        view = _view(found)
        self.flags, self.digest_hour = view["flags"], view["digest_hour"]
        self.timezone, self.effective_timezone = view["timezone"], view["effective_timezone"]
        self.sites = view["sites"]
        self.loaded = True

    @rx.event
    async def load(self):
        self.error, self.saved = "", False
        result = await self._guarded_off_loop(my_subscription)
        if result.value:
            self._show(result.value)
        return result.redirect

    @rx.event
    async def save(self, form: dict):
        self.error, self.saved = "", False
        values = from_form(form, [s["id"] for s in self.sites])
        result = await self._guarded_off_loop(lambda db, p: set_my_subscription(db, p, values))
        if result.value is None:
            self.error = result.error or result.denied
            return result.redirect
        self._show(result.value)
        self.saved = True
        return None
