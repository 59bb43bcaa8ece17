"""Create and edit a site and its devices (`/operator/sites/new`, `/operator/sites/[site_id]`)."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.operator import site_data
from pipelet_app.portals.operator.charger_state import show_password_script
from pipelet_app.portals.session_state import SessionState

EMPTY_FORM = {
    "name": "",
    "timezone": "UTC",
    "latitude": "",
    "longitude": "",
    "grid_limit_a": "",
    "phases": "3",
    "address": "",
    "commissioning_date": "",
    "lifecycle_state": "operating",
    "spv_id": "",
}


class SiteState(SessionState):
    site_id: str = ""
    form: dict[str, str] = dict(EMPTY_FORM)
    devices: list[dict[str, str]] = []
    topics: dict[str, str] = {}
    mqtt_login: dict[str, str] = {}
    #: the last password issued here is stored but not yet on the broker (no MQTT_ADMIN_URL)
    mqtt_pending: bool = False
    totals: dict[str, str] = {}
    history: list[dict[str, str]] = []
    spvs: list[dict[str, str]] = []
    inverters: list[dict[str, str]] = []
    inverter_brands: list[dict[str, str]] = []
    error: str = ""
    saved: bool = False

    def _param(self) -> int | None:
        raw = str(self.router.page.params.get("site_id", ""))
        return int(raw) if raw.isdigit() else None

    def _show(self, data: dict) -> None:
        self.site_id = data.get("id", "")
        self.form = data.get("form", dict(EMPTY_FORM))
        self.devices = data.get("devices", [])
        self.topics = data.get("topics", {})
        self.mqtt_login = data.get("mqtt_login", {})
        self.totals = data.get("totals", {})
        self.history = data.get("history", [])
        self.spvs = data.get("spvs", [])
        self.inverters = data.get("inverters", [])
        self.inverter_brands = data.get("inverter_brands", [])

    async def _reload(self, site_id: int):
        result = await self._guarded_off_loop(lambda db, p: site_data.site_view(db, p, site_id))
        self._show(result.value or {})
        return result

    @rx.event
    async def load(self):
        self.error, self.saved, self.mqtt_pending = "", False, False
        site_id = self._param()
        if site_id is None:  # /operator/sites/new: only the role is checked (nothing to read yet)
            result = await self._guarded_off_loop(site_data.new_site_view)
            self._show(result.value or {})
            return result.redirect
        return (await self._reload(site_id)).redirect

    @rx.event
    async def save(self, form: dict):
        self.error, self.saved = "", False
        site_id = self._param()
        result = await self._guarded_off_loop(lambda db, p: site_data.save_site(db, p, site_id, form))
        if result.value is None:
            self.error = result.error
            return result.redirect
        if site_id is None:
            return rx.redirect(f"/operator/sites/{result.value}")
        self.saved = True
        return (await self._reload(site_id)).redirect

    @rx.event
    async def add_device(self, form: dict):
        self.error, self.saved = "", False
        site_id = self._param()
        if site_id is None:
            return None
        result = await self._guarded_off_loop(lambda db, p: site_data.add_device(db, p, site_id, form))
        if result.error:
            self.error = result.error
            return result.redirect
        return (await self._reload(site_id)).redirect

    @rx.event
    async def remove_device(self, asset_id: str):
        self.error, self.saved = "", False
        site_id = self._param()
        if site_id is None:
            return None
        result = await self._guarded_off_loop(lambda db, p: site_data.remove_device(db, p, site_id, asset_id))
        if result.error:
            self.error = result.error
        return (await self._reload(site_id)).redirect

    @rx.event
    async def link_inverter(self, form: dict):
        """Link an inverter cloud as the site's PV source (the credentials go to the service only)."""
        self.error, self.saved = "", False
        site_id = self._param()
        if site_id is None:
            return None
        result = await self._guarded_off_loop(lambda db, p: site_data.link_inverter(db, p, site_id, form))
        if result.error:
            self.error = result.error
            return result.redirect
        return (await self._reload(site_id)).redirect

    @rx.event
    async def issue_mqtt_password(self):
        """A new broker password for the site's gateway, shown once: handed to the page in a one-off
        script, never kept in a state var (state may be serialised), gone on reload."""
        self.error, self.saved, self.mqtt_pending = "", False, False
        site_id = self._param()
        if site_id is None:
            return None
        result = await self._guarded_off_loop(lambda db, p: site_data.issue_mqtt_credential(db, p, site_id))
        if result.value is None:
            self.error = result.error or result.denied
            return result.redirect
        password, live = result.value
        self.mqtt_pending = not live
        reloaded = await self._reload(site_id)
        return reloaded.redirect or rx.call_script(show_password_script(password))

    @rx.event
    async def unlink_inverter(self, link_id: str):
        self.error, self.saved = "", False
        site_id = self._param()
        if site_id is None or not link_id.isdigit():
            return None
        result = await self._guarded_off_loop(
            lambda db, p: site_data.unlink_inverter(db, p, site_id, int(link_id))
        )
        if result.error:
            self.error = result.error
        return (await self._reload(site_id)).redirect
