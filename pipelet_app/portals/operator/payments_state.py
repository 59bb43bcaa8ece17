"""State of `/operator/payments`: the payment list (filters also read from the URL's query), refunds
after a confirmation, revenue with energy cost by site, the sessions behind a site's figure, and a site's
energy price. Every event goes through `_guarded_off_loop`: role and tenant are checked by the services
each time (payments.console, services.revenue)."""

from __future__ import annotations

import reflex as rx

from pipelet_app.i18n.catalogue import MESSAGES
from pipelet_app.portals.operator import onboarding_data
from pipelet_app.portals.operator import payments_data as data
from pipelet_app.portals.session_state import SessionState


class PaymentsState(SessionState):
    filters: dict[str, str] = {}
    rows: list[dict[str, str]] = []
    revenue: list[dict[str, str]] = []
    sites: list[dict[str, str]] = []
    drill_title: str = ""
    drill: list[dict[str, str]] = []
    error: str = ""
    notice: str = ""

    async def _reload(self):
        filters = dict(self.filters)
        result = await self._guarded_off_loop(
            lambda db, p: (
                data.payments(db, p, filters),
                data.revenue(db, p),
                onboarding_data.site_choices(db, p),
            )
        )
        if result.value is None:
            self.error = result.error or result.denied
            return result.redirect
        self.rows, self.revenue, self.sites = result.value
        return None

    @rx.event
    async def load(self):
        self.error, self.notice, self.drill, self.drill_title = "", "", [], ""
        query = self.router.url.query_parameters
        self.filters = {k: str(query.get(k, "")) for k in data.FILTERS}
        return await self._reload()

    @rx.event
    async def filter(self, form: dict):
        self.error, self.notice = "", ""
        self.filters = {k: str(form.get(k, "")).strip() for k in data.FILTERS}
        return await self._reload()

    @rx.event
    async def refund(self, payment_id: str):
        self.error, self.notice = "", ""
        result = await self._guarded_off_loop(lambda db, p: data.refund(db, p, int(payment_id)))
        if result.value is None:
            self.error = result.error or result.denied
            return result.redirect
        self.notice = MESSAGES.get(self.locale, MESSAGES["en"])["payments.refunded"]
        return await self._reload()

    @rx.event
    async def show_sessions(self, site: str, currency: str):
        self.error = ""
        result = await self._guarded_off_loop(lambda db, p: data.sessions(db, p, site, currency))
        if result.value is None:
            self.error = result.error or result.denied
            return result.redirect
        self.drill, self.drill_title = result.value, f"{site} ({currency})"
        return None

    @rx.event
    async def save_price(self, form: dict):
        self.error, self.notice = "", ""
        site, value = str(form.get("site_id", "")), str(form.get("per_kwh", ""))
        result = await self._guarded_off_loop(lambda db, p: data.set_energy_price(db, p, site, value))
        if result.value is None:
            self.error = result.error or result.denied
            return result.redirect
        self.notice = MESSAGES.get(self.locale, MESSAGES["en"])["payments.price_saved"]
        return await self._reload()
