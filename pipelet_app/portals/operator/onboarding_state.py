"""State of the onboarding pages: claim a charger (`/operator/claim`), id tokens (`/operator/tokens`),
fleet customers (`/operator/customers`) and a charger's setup card on its page. Every handler goes
through `_guarded_off_loop`, so role and tenant are checked by the services on each event."""

from __future__ import annotations

import reflex as rx

from pipelet_app.ocpp.commands import hand_over_password, notify_identity_changed
from pipelet_app.portals.operator import onboarding_data as data
from pipelet_app.portals.operator.charger_state import show_password_script
from pipelet_app.portals.session_state import SessionState


class ClaimState(SessionState):
    sites: list[dict[str, str]] = []
    claimed_id: str = ""
    error: str = ""

    @rx.event
    async def load(self):
        # claimed_id stays: its link sits in the password box, hidden until a claim's script shows it,
        # and a re-run of this load (a reconnect re-hydrates) must not take the link from a fresh claim.
        self.error = ""
        result = await self._guarded_off_loop(data.site_choices)
        self.sites = result.value or []
        return result.redirect

    @rx.event
    async def claim(self, form: dict):
        self.claimed_id, self.error = "", ""
        result = await self._guarded_off_loop(lambda db, p: data.claim(db, p, form))
        if result.value is None:
            if not result.redirect:
                self.error = result.error or result.denied
                self.denied = ""  # a refused claim (409, 404) is a form error, not a refused page
            return result.redirect
        self.claimed_id = result.value["id"]
        if result.value["online"]:  # as the claim API does: hand the password over the live socket first
            await hand_over_password(self.claimed_id, result.value["online"], result.value["password"])
        await notify_identity_changed(self.claimed_id)
        # The password goes straight into the page by a one-off script, never into state (docs/security.md).
        return rx.call_script(show_password_script(result.value["password"]))


class TokensState(SessionState):
    tokens: list[dict[str, str]] = []
    drivers: list[dict[str, str]] = []
    error: str = ""
    summary: dict[str, str] = {}
    import_errors: list[dict[str, str]] = []
    history_of: str = ""
    history: list[dict[str, str]] = []

    async def _reload(self):
        result = await self._guarded_off_loop(data.tokens_view)
        view = result.value or {}
        self.tokens, self.drivers = view.get("tokens", []), view.get("drivers", [])
        return result

    @rx.event
    async def load(self):
        self.error, self.summary, self.import_errors, self.history_of = "", {}, [], ""
        return (await self._reload()).redirect

    async def _act(self, action):
        self.error = ""
        result = await self._guarded_off_loop(action)
        if result.error or (result.denied and not result.redirect):
            self.error = result.error or result.denied
            self.denied = ""
        return result

    @rx.event
    async def issue(self, form: dict):
        result = await self._act(lambda db, p: data.issue_token(db, p, form))
        return result.redirect or (await self._reload()).redirect

    @rx.event
    async def act(self, token: str, action: str):
        result = await self._act(lambda db, p: data.token_action(db, p, token, action))
        if self.history_of == token:
            await self.show_history(token)
        return result.redirect or (await self._reload()).redirect

    @rx.event
    async def show_history(self, token: str):
        result = await self._guarded_off_loop(lambda db, p: data.token_history(db, p, token))
        self.history_of, self.history = (token, result.value) if result.value is not None else ("", [])
        return result.redirect

    @rx.event
    async def import_csv(self, form: dict):
        self.summary, self.import_errors = {}, []
        text = str(form.get("csv", ""))
        result = await self._act(lambda db, p: data.import_tokens(db, p, text))
        if result.value is not None:
            self.summary, self.import_errors = result.value["summary"], result.value["errors"]
        return result.redirect or (await self._reload()).redirect


class CustomersState(SessionState):
    customers: list[dict[str, str]] = []
    error: str = ""

    async def _reload(self):
        result = await self._guarded_off_loop(data.customers_view)
        self.customers = (result.value or {}).get("customers", [])
        return result

    @rx.event
    async def load(self):
        self.error = ""
        return (await self._reload()).redirect

    async def _act(self, action):
        self.error = ""
        result = await self._guarded_off_loop(action)
        if result.error or (result.denied and not result.redirect):
            self.error = result.error or result.denied
            self.denied = ""
        return result.redirect or (await self._reload()).redirect

    @rx.event
    async def create(self, form: dict):
        name = form.get("name", "")
        return await self._act(lambda db, p: data.fleet_customers.create_customer(db, p, name))

    @rx.event
    async def add_driver(self, form: dict):
        return await self._act(lambda db, p: data.add_driver(db, p, form))


class ChargerSetupState(SessionState):
    """The setup card on `/operator/chargers/[cp_id]`: name, network, security profile, retirement,
    firmware history and the charger's audit trail."""

    cp: str = ""
    form: dict[str, str] = {}
    maker: str = ""
    retired: bool = False
    firmware: list[dict[str, str]] = []
    history: list[dict[str, str]] = []
    error: str = ""
    saved: bool = False
    confirm_retire: bool = False

    def _cp(self) -> str:
        return str(self.router.page.params.get("cp_id", ""))

    async def _reload(self):
        cp = self._cp()
        result = await self._guarded_off_loop(lambda db, p: data.charger_setup(db, p, cp))
        view = result.value or {}
        self.cp = cp if result.value is not None else ""
        self.form = view.get("form", {})
        self.maker = view.get("maker", "")
        self.retired = bool(view.get("retired", False))
        self.firmware = view.get("firmware", [])
        self.history = view.get("history", [])
        return result

    @rx.event
    async def load(self):
        self.error, self.saved, self.confirm_retire = "", False, False
        return (await self._reload()).redirect

    async def _act(self, action):
        self.error, self.saved = "", False
        result = await self._guarded_off_loop(action)
        if result.error or (result.denied and not result.redirect):
            self.error = result.error or result.denied
            self.denied = ""
        else:
            self.saved = not result.redirect
        return result.redirect or (await self._reload()).redirect

    @rx.event
    async def save(self, form: dict):
        cp = self._cp()
        return await self._act(lambda db, p: data.save_charger(db, p, cp, form))

    @rx.event
    async def set_profile(self, form: dict):
        cp, profile = self._cp(), str(form.get("security_profile", ""))
        done = await self._act(lambda db, p: data.set_profile(db, p, cp, profile))
        await notify_identity_changed(cp)
        return done

    @rx.event
    def ask_retire(self):
        self.confirm_retire = True

    @rx.event
    async def retire(self):
        self.confirm_retire = False
        cp = self._cp()
        done = await self._act(lambda db, p: data.charger_admin.retire_charger(db, p, cp))
        await notify_identity_changed(cp)
        return done
