"""State of `/operator/networks`. Every event goes through `_guarded_off_loop`, so role and tenant are
checked on each one; no credential ever enters this state: the connect form's values go to `connect` as
the event's argument, to the service, and the form is emptied on submit."""

from __future__ import annotations

import reflex as rx

from pipelet_app.i18n import translate
from pipelet_app.portals.operator import network_data as data
from pipelet_app.portals.session_state import GuardResult, SessionState
from pipelet_app.runtime import jobs


class NetworksState(SessionState):
    accounts: list[dict[str, str]] = []
    available: list[dict[str, str]] = []
    locations: list[dict[str, str]] = []
    sites: list[dict[str, str]] = []
    choices: list[dict[str, str]] = []  # the networks the connect form offers: id, display name
    error: str = ""
    connected: str = ""  # the sentence naming the account the form just connected ("": none)
    replaced: str = ""  # the sentence naming the account whose credentials were just replaced ("": none)
    network_choice: str = ""  # the connect form's network, kept across a refused submit
    replace_choice: str = ""  # the replace form's account id, kept across a refused submit

    async def _reload(self):
        result = await self._guarded_off_loop(data.networks_view)
        value = result.value or {}
        self.accounts, self.available = value.get("accounts", []), value.get("available", [])
        self.locations, self.sites = value.get("locations", []), value.get("sites", [])
        self.choices = value.get("choices", [])
        return result

    async def _poll_and_reload(self, result: GuardResult):
        """After `connect`, `replace_credentials` or `sync`: ask the worker to poll the account
        (`result.value`, its id) now and show the page again; a refusal or an invalid form shows in `error`
        instead (shared so the three events answer a failure the same way)."""
        if result.value is None:
            if not result.redirect:
                self.error = result.error or result.denied
                self.denied = ""
            return result.redirect
        await jobs.request_network_poll(result.value)
        return (await self._reload()).redirect

    @rx.event
    async def load(self):
        self.error = self.connected = self.replaced = self.network_choice = self.replace_choice = ""
        return (await self._reload()).redirect

    @rx.event
    async def connect(self, form: dict):
        """Connect a network account from the page's form (tested live first, like the API)."""
        self.error = self.connected = ""
        values = {str(k): str(v) for k, v in (form or {}).items()}
        values["network"] = values.get("network") or self.network_choice
        result = await self._guarded_off_loop(lambda db, p: data.connect(db, p, values))
        if result.value is not None:
            name = values.get("label", "").strip() or values.get("network", "")
            self.connected = translate("networks.connected", self.locale).format(name=name)
            self.network_choice = ""
        return await self._poll_and_reload(result)

    @rx.event
    async def replace_credentials(self, form: dict):
        """New credentials for a connected account (tested live first, like the API's PUT); the account
        keeps its id, sessions and site mappings and syncs at once. The values go to the service only."""
        self.error = self.connected = self.replaced = ""
        values = {str(k): str(v) for k, v in (form or {}).items()}
        values["account"] = values.get("account") or self.replace_choice
        result = await self._guarded_off_loop(lambda db, p: data.replace_credentials(db, p, values))
        if result.value is not None:
            name = next((a["name"] for a in self.accounts if a["id"] == str(result.value)), "")
            self.replaced = translate("networks.replaced", self.locale).format(name=name)
            self.replace_choice = ""
        return await self._poll_and_reload(result)

    # The two selects are the state's, not the form's. The form's reset on submit (which empties the
    # secrets) also resets each select: Radix reports its default, "", as a change, which is no choice
    # (the lists offer no empty item), so the state keeps the last one and the select goes on showing
    # it. An event that names one in its form (the API-like path) is taken as it is.

    @rx.event
    def choose_network(self, network: str):
        self.network_choice = network or self.network_choice

    @rx.event
    def choose_account(self, account_id: str):
        self.replace_choice = account_id or self.replace_choice

    @rx.event
    async def sync(self, account_id: str):
        self.error = ""
        result = await self._guarded_off_loop(lambda db, p: data.sync_now(db, p, account_id))
        return await self._poll_and_reload(result)

    @rx.event
    async def map_location(self, account_id: str, location_id: str, site: str):
        """Count a network location's sessions for one of the tenant's sites (or for none)."""
        self.error = ""
        result = await self._guarded_off_loop(
            lambda db, p: data.map_location(db, p, account_id, location_id, site)
        )
        if result.error or result.denied:
            self.error = result.error or result.denied
            self.denied = ""
        return (await self._reload()).redirect or result.redirect
