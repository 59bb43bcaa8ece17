"""State of the portfolio report page: the chosen portfolio, range and step (also read from the URL's
query, so a site's link opens its report), the figures, and the sessions behind a clicked figure. Every
event goes through `_guarded_off_loop`: role and tenant are checked by the service each time."""

from __future__ import annotations

import reflex as rx

from pipelet_app.portals.operator import reports_data as data
from pipelet_app.portals.session_state import SessionState

PARAMS = ("portfolio", "from", "to", "step", "site_id")


class ReportsState(SessionState):
    params: dict[str, str] = {}
    portfolios: list[dict[str, str]] = []
    title: str = ""
    periods: list[dict[str, str]] = []
    totals: dict[str, str] = {}
    sites: list[dict[str, str]] = []
    chart: list[dict] = []
    csv_href: str = ""
    pdf_href: str = ""
    error: str = ""
    drill_title: str = ""
    drill: list[dict[str, str]] = []

    async def _reload(self, params: dict[str, str]):
        self.error = ""
        result = await self._guarded_off_loop(lambda db, p: data.report_view(db, p, params))
        if result.value is None:
            if result.error:
                self.error = result.error
            return result.redirect
        view = result.value
        self.params, self.portfolios, self.title = view["params"], view["portfolios"], view["title"]
        self.periods, self.totals, self.sites = view["periods"], view["totals"], view["sites"]
        self.chart, self.csv_href, self.pdf_href = view["chart"], view["csv"], view["pdf"]
        self.drill_title, self.drill = "", []
        return result.redirect

    @rx.event
    async def load(self):
        query = self.router.page.params
        return await self._reload({k: str(query.get(k, "")) for k in PARAMS})

    @rx.event
    async def show(self, form: dict):
        params = {k: str(form.get(k, "")).strip() for k in PARAMS}
        params["site_id"] = (
            self.params.get("site_id", "") if params["portfolio"] == self.params.get("portfolio") else ""
        )
        return await self._reload(params)

    @rx.event
    async def open_site(self, site_id: str):
        return await self._reload({**self.params, "site_id": site_id})

    @rx.event
    async def all_sites(self):
        return await self._reload({**self.params, "site_id": ""})

    @rx.event
    async def open_sessions(self, period: str, site_id: str, label: str):
        params = dict(self.params)
        result = await self._guarded_off_loop(
            lambda db, p: data.sessions_view(db, p, params, period, site_id)
        )
        if result.value is None:
            self.error = result.error or result.denied
            return result.redirect
        self.drill_title, self.drill = label, result.value
        return rx.call_script("document.getElementById('report-sessions')?.scrollIntoView()")
