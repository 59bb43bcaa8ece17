"""Enphase Enlighten API v4 (official): IQ EV Charger, native sessions and telemetry counter.

Auth is OAuth2 authorization code. The Pipelet installation is the registered Enphase app (API key, client id
and secret from settings: ``ENPHASE_API_KEY``, ``ENPHASE_CLIENT_ID``, ``ENPHASE_CLIENT_SECRET``; a
credential dict may carry its own ``api_key``/``client_id``/``client_secret`` for a partner-plan account).
The driver's part is the access/refresh token pair this module obtains from the code; it is refreshed ten
minutes before expiry (access 1 day, refresh 1 month), and a failed refresh raises ReauthRequired.

Every request carries ``?key=<api key>`` and ``Authorization: Bearer``. Free plan: 10/min, 1,000/month;
a 429 body says which (``period``), there are no headers, so retry-after is computed from it.

Shapes (recorded examples in ``tests/fixtures/vendors/enphase/``, sources in its SOURCE.md): chargers are
nested under ``devices.ev_chargers`` in ``…/ev_charger/devices``; telemetry intervals are the list
``consumption: [{end_at, consumption}]`` (Wh per 15 min) in ``…/telemetry``; sessions are ``sessions[]`` with
epoch ``start_time``/``end_time`` and no session id; the sessions answer has ``count`` (no ``total``).

Assumptions in one place (documented v4 schema vs. its own example, and what no public example shows):

* ``energy_added`` is "Wh" in the schema but the example shows 14.83. We decide per session by plausibility:
  read as kWh, the implied mean power over ``charge_time`` (else ``duration``) must not exceed
  ``MAX_PLAUSIBLE_KW``; if it does, the number can only be Wh. Without a time, values below
  ``KWH_IF_BELOW`` are kWh (no home session adds 200 kWh; a 200 Wh session is noise). A credential key
  ``energy_unit`` = ``"wh"``/``"kwh"`` overrides the guess when an account is known.
* session times are epoch seconds in the docs; ISO text is also read (naive text: the site's local time).
* sessions carry no id in the docs: the id is the start time's epoch seconds (one charger cannot start two
  sessions in the same second).
* the systems list (``/systems``) shape comes from the v4 docs' schema; ``total`` pages the list.
* session order is not documented: newest-first lets an incremental import stop early; oldest-first resumes
  from the offset reached last time (kept in ``state``).
* the counter snapshot integrates ``…/telemetry`` 15-minute Wh intervals into a running total kept in
  ``state``: it counts energy since coupling, not the charger's own meter (the reconstructor only needs the
  increments). There is no live status in v4, so ``status`` is None and ``power_w`` is the last interval's
  mean.
* PV production (a site's source, ``fetch_production``): ``GET /systems/{id}/telemetry/production_micro
  ?start_at=&granularity=day`` → ``intervals: [{end_at, devices_reporting, powr, enwh}]``, at most 288
  five-minute intervals a call (documented; recorded in ``production_micro.json``). ``powr`` is the mean W
  of the interval; an interval is read as the 5 minutes before its ``end_at``.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx

from pipelet_app.inverters.base import (
    MAX_LIST_PAGES,
    BrandUnavailable,
    Clock,
    CounterSnapshot,
    InvalidCredentials,
    InverterAdapter,
    NativeSession,
    ProductionInterval,
    ProgressCallback,
    ReauthRequired,
    System,
    Throttled,
    Wallbox,
    as_float,
    integrate_intervals,
    optional_float,
    parse_time,
    seconds_until_next_day,
    seconds_until_next_month,
    utc_now,
)

API = "/api/v4"
PAGE_LIMIT = 100  # the documented maximum of `limit`
REFRESH_MARGIN_S = 600
MAX_PLAUSIBLE_KW = 25.0
KWH_IF_BELOW = 200.0
INTERVAL_S = 900
PRODUCTION_INTERVAL = timedelta(minutes=5)  # production_micro with granularity=day (documented)
SINCE_OVERLAP = timedelta(hours=1)
MAX_PAGES_PER_CALL = 8  # under the free plan's 10 requests/minute, with room for a token refresh


def energy_added_wh(
    value: Any, charge_time_s: Any = None, duration_s: Any = None, unit: str = "auto"
) -> float:
    """``energy_added`` in Wh, resolving the documented Wh/kWh ambiguity (see the module docstring)."""
    energy = optional_float(value)
    if energy is None or energy < 0:
        raise ValueError("energy_added")
    if unit == "wh":
        return energy
    if unit == "kwh":
        return energy * 1000.0
    seconds = optional_float(charge_time_s) or optional_float(duration_s)
    if seconds and seconds > 0:
        implied_kw = energy * 3600.0 / seconds  # energy read as kWh over `seconds`
        return energy * 1000.0 if implied_kw <= MAX_PLAUSIBLE_KW else energy
    return energy * 1000.0 if energy < KWH_IF_BELOW else energy


def _settings_value(name: str) -> str | None:
    from pipelet_app.settings import get_settings

    return getattr(get_settings(), name, None)


class EnphaseAdapter(InverterAdapter):
    brand = "enphase"
    display_name = "Enphase"
    auth_kind = "oauth2"
    supports_native_sessions = True
    supports_production = True
    credential_fields = ()  # OAuth: the connect flow redirects instead of showing a form
    secret_keys: ClassVar[frozenset[str]] = frozenset(
        {"access_token", "refresh_token", "api_key", "client_secret"}
    )

    # ---- OAuth (connect flow) ----------------------------------------------------------------------

    @classmethod
    def authorize_url(
        cls, *, redirect_uri: str, state: str, client_id: str | None = None, base_url: str | None = None
    ) -> str:
        """Where the connect flow sends the driver; Enphase redirects back with ``code`` and ``state``."""
        base = (base_url or _base_default()).rstrip("/")
        client_id = client_id or _settings_value("enphase_client_id") or ""
        query = urlencode(
            {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "state": state}
        )
        return f"{base}/oauth/authorize?{query}"

    @classmethod
    async def exchange_code(
        cls,
        code: str,
        *,
        redirect_uri: str,
        client_id: str | None = None,
        client_secret: str | None = None,
        base_url: str | None = None,
        client: httpx.AsyncClient | None = None,
        clock: Clock | None = None,
    ) -> dict[str, Any]:
        """Code → credential dict (tokens + expiry) to encrypt and store. Wrong code → InvalidCredentials."""
        adapter = cls(
            {"client_id": client_id, "client_secret": client_secret},
            base_url=base_url,
            client=client,
            clock=clock,
        )
        try:
            await adapter._token_request(
                {"grant_type": "authorization_code", "redirect_uri": redirect_uri, "code": code},
                on_fail="code",
            )
            return {k: v for k, v in adapter.credentials.items() if v is not None}
        finally:
            await adapter.aclose()

    # ---- tokens ------------------------------------------------------------------------------------

    def _app(self, name: str) -> str:
        return self.credentials.get(name) or _settings_value(f"enphase_{name}") or ""

    async def _token_request(self, params: dict[str, str], *, on_fail: str) -> None:
        basic = base64.b64encode(f"{self._app('client_id')}:{self._app('client_secret')}".encode()).decode()
        response = await self._send(
            "POST", "/oauth/token", params=params, headers={"Authorization": f"Basic {basic}"}
        )
        if response.status_code in (400, 401, 403):
            if on_fail == "code":
                raise InvalidCredentials(
                    self.brand,
                    "Enphase did not accept the authorization (code expired or already used); "
                    "please connect again",
                )
            raise ReauthRequired(
                self.brand, "Enphase no longer accepts the stored authorization; please reconnect Enphase"
            )
        self._raise_common(response)
        body = self._json(response)
        access = self._require(body, "access_token")
        expires_in = optional_float(body.get("expires_in")) or 86_400.0
        self.credentials.update(
            access_token=access,
            refresh_token=body.get("refresh_token") or self.credentials.get("refresh_token"),
            expires_at=(self.clock() + timedelta(seconds=expires_in)).timestamp(),
        )
        self.credentials_changed = True

    async def _refresh(self) -> None:
        refresh = self.credentials.get("refresh_token")
        if not refresh:
            raise ReauthRequired(self.brand, "the Enphase authorization expired; please reconnect Enphase")
        await self._token_request(
            {"grant_type": "refresh_token", "refresh_token": refresh}, on_fail="refresh"
        )

    async def _ensure_token(self) -> None:
        expires_at = optional_float(self.credentials.get("expires_at"))
        if not self.credentials.get("access_token") or (
            expires_at is not None and expires_at - self.clock().timestamp() < REFRESH_MARGIN_S
        ):
            await self._refresh()

    # ---- requests ----------------------------------------------------------------------------------

    def _raise_common(self, response: httpx.Response) -> None:
        if response.status_code == 429:
            raise Throttled(
                self.brand, "Enphase's request limit is reached; polling pauses", self._retry(response)
            )
        if response.status_code >= 500:
            self._json(response)  # raises BrandUnavailable

    def _retry(self, response: httpx.Response) -> float:
        try:
            body = response.json()
        except ValueError:
            body = {}
        now = self.clock()
        period_end = optional_float(body.get("period_end")) if isinstance(body, dict) else None
        if period_end and period_end > now.timestamp():
            return period_end - now.timestamp()
        period = str(body.get("period", "")).lower() if isinstance(body, dict) else ""
        if period.startswith("month"):
            return seconds_until_next_month(now)
        if period.startswith("day"):
            return seconds_until_next_day(now)
        return 60.0

    async def _get(self, path: str, **params: Any) -> Any:
        await self._ensure_token()
        for attempt in (1, 2):
            response = await self._send(
                "GET",
                f"{API}{path}",
                params={"key": self._app("api_key"), **params},
                headers={"Authorization": f"Bearer {self.credentials['access_token']}"},
            )
            if response.status_code == 401:
                if attempt == 1 and self.credentials.get("refresh_token"):
                    await self._refresh()
                    continue
                if attempt == 2:
                    raise InvalidCredentials(
                        self.brand, "Enphase refused this Pipelet installation's API key (ENPHASE_API_KEY)"
                    )
                raise InvalidCredentials(self.brand, "Enphase refused the access token; please connect again")
            if response.status_code == 403:
                raise InvalidCredentials(
                    self.brand, "Enphase denies access to this system; check that it is shared with Pipelet"
                )
            if response.status_code == 404:
                return None
            self._raise_common(response)
            if response.status_code >= 400:
                raise BrandUnavailable(
                    self.brand, f"Enphase answered {response.status_code}; will retry later"
                )
            return self._json(response)
        raise AssertionError("unreachable")

    # ---- protocol ----------------------------------------------------------------------------------

    async def test_credentials(self) -> None:
        await self._get("/systems", page=1, size=1)

    async def list_systems(self) -> list[System]:
        systems: list[System] = []
        page = 1
        for _ in range(MAX_LIST_PAGES):  # a cloud ignoring the page parameter must not loop us forever
            body = await self._get("/systems", page=page, size=100)
            items = self._require(body, "systems")
            for item in items:
                systems.append(
                    System(
                        system_id=str(self._require(item, "system_id")),
                        name=str(item.get("name") or item.get("public_name") or ""),
                        timezone=item.get("timezone"),
                    )
                )
            total = optional_float(body.get("total"))
            if not items or total is None or len(systems) >= total:
                return systems
            page += 1
        return systems

    async def list_wallboxes(self, system: System) -> list[Wallbox]:
        """``GET …/ev_charger/devices`` → ``devices.ev_chargers[]`` (documented v4 shape; 404: no charger)."""
        body = await self._get(f"/systems/{system.system_id}/ev_charger/devices")
        if body is None:
            return []
        chargers = self._require(body, "devices", "ev_chargers")
        if not isinstance(chargers, list):
            raise self._unknown_shape("'devices.ev_chargers' is not a list")
        boxes = []
        for device in chargers:
            serial = str(self._require(device, "serial_number"))
            boxes.append(
                Wallbox(
                    system.system_id,
                    serial,
                    serial,
                    str(device.get("name") or ""),
                    device.get("model"),
                    extra={k: device[k] for k in ("sku", "firmware", "status", "active") if k in device},
                )
            )
        return boxes

    async def fetch_snapshot(self, system: System, wallbox: Wallbox) -> CounterSnapshot:
        """``GET …/telemetry`` → ``consumption[]: {end_at, consumption (Wh)}`` integrated into a counter."""
        key = f"telemetry:{system.system_id}:{wallbox.serial}"
        entry = self.state.get(key) or {}
        now = self.clock()
        last_end = datetime.fromisoformat(entry["last_end"]) if entry.get("last_end") else None
        start = last_end if last_end and last_end > now - timedelta(days=7) else now - timedelta(days=1)
        body = await self._get(
            f"/systems/{system.system_id}/ev_charger/{wallbox.serial}/telemetry",
            granularity="day",
            start_at=int(start.timestamp()),
        )
        if body is None:
            raise BrandUnavailable(self.brand, "Enphase has no telemetry for this charger yet; will retry")
        rows = self._require(body, "consumption")
        if not isinstance(rows, list):
            raise self._unknown_shape("'consumption' is not a list of intervals")
        intervals = []
        for item in rows:
            end = parse_time(self._require(item, "end_at"))
            wh = as_float(self.brand, self._require(item, "consumption"), "telemetry consumption")
            if end.timestamp() <= now.timestamp():  # an interval still running is not complete
                intervals.append((end, wh))
        total, newest = integrate_intervals(self.state, key, intervals)
        power = None
        if intervals and newest is not None and now - newest <= timedelta(minutes=30):
            power = max(intervals)[1] * 3600.0 / INTERVAL_S
        return CounterSnapshot(time_utc=newest or now, lifetime_wh=total, power_w=power, status=None)

    async def fetch_native_sessions(
        self,
        system: System,
        wallbox: Wallbox,
        *,
        since: datetime | None = None,
        on_progress: ProgressCallback | None = None,
        max_pages: int = MAX_PAGES_PER_CALL,
    ) -> list[NativeSession]:
        """The charger's sessions, paged by ``offset``/``limit`` (≤ 100).

        The first import may span several calls: at most ``max_pages`` pages per call (the free plan allows
        10 requests a minute), resuming where the previous call stopped (cursor in ``state``) until the
        whole history is read; ``sync_progress`` says how far it got. Once complete, ``since`` (the newest
        stored session start) makes calls incremental; ``since=None`` re-imports everything. Returns only
        what this call read; the caller UPSERTs. With newest-first paging, sessions arriving during a
        multi-call import shift older ones to higher offsets: pages are re-read, never skipped.
        """
        key = f"sessions:{system.system_id}:{wallbox.serial}"
        cursor: dict[str, Any] = dict(self.state.get(key) or {})
        unit = str(self.credentials.get("energy_unit") or "auto").lower()
        ascending: bool | None = cursor.get("ascending")
        importing = not cursor.get("complete") or since is None
        if importing:
            offset = int(cursor.get("import_offset", 0)) if not cursor.get("complete") else 0
            cutoff = None
        else:
            assert since is not None
            cutoff = since - SINCE_OVERLAP
            offset = max(0, int(cursor.get("end_offset", 0)) - PAGE_LIMIT) if ascending else 0
        found: dict[str, NativeSession] = {}
        finished = False
        for _ in range(max(1, max_pages)):
            body = await self._get(
                f"/systems/{system.system_id}/ev_charger/{wallbox.serial}/sessions",
                offset=offset,
                limit=PAGE_LIMIT,
            )
            items = [] if body is None else self._require(body, "sessions")
            page = [self._session(item, system.timezone, unit) for item in items]
            for session in page:
                if cutoff is None or (session.end_utc or session.start_utc) >= cutoff:
                    found[session.session_id] = session
            offset += len(items)
            if len(page) >= 2:
                ascending = page[0].start_utc <= page[-1].start_utc
            if on_progress is not None:
                result = on_progress(offset, None)  # the documented answer has no total, only `count`
                if result is not None:
                    await result
            done = len(items) < PAGE_LIMIT
            reached_known = (
                cutoff is not None and ascending is False and bool(page) and page[-1].start_utc < cutoff
            )
            if done or reached_known:
                finished = True
                break
        cursor["ascending"] = ascending
        if finished:
            cursor.update(complete=True, import_offset=0)
            if ascending or ascending is None or importing:
                cursor["end_offset"] = offset
            self.sync_progress = None
        else:  # more pages than one call may read: continue as an import next time
            cursor.update(complete=False, import_offset=offset)
            self.sync_progress = (offset, None)
        self.state[key] = cursor
        return sorted(found.values(), key=lambda s: s.start_utc)

    async def fetch_production(self, system: System, since: datetime) -> list[ProductionInterval]:
        """Five-minute mean production after ``since`` (one call: at most a day's 288 intervals; a poll
        that is further behind catches up over the next polls)."""
        now = self.clock()
        start = max(since, now - timedelta(days=7))
        body = await self._get(
            f"/systems/{system.system_id}/telemetry/production_micro",
            start_at=int(start.timestamp()),
            granularity="day",
        )
        if body is None:
            raise BrandUnavailable(self.brand, "Enphase has no production telemetry for this system yet")
        rows = self._require(body, "intervals")
        if not isinstance(rows, list):
            raise self._unknown_shape("'intervals' is not a list")
        out = []
        for item in rows:
            end = parse_time(self._require(item, "end_at"))
            watts = as_float(self.brand, self._require(item, "powr"), "production powr")
            if since < end <= now:
                out.append(ProductionInterval(end - PRODUCTION_INTERVAL, end, max(0.0, watts)))
        return sorted(out, key=lambda interval: interval.start_utc)

    def _session(self, item: dict[str, Any], tz: str | None, unit: str) -> NativeSession:
        try:
            start = parse_time(item["start_time"], tz)
            end = parse_time(item["end_time"], tz) if item.get("end_time") not in (None, "") else None
            energy = energy_added_wh(
                item.get("energy_added"), item.get("charge_time"), item.get("duration"), unit
            )
        except (KeyError, ValueError, TypeError):
            raise self._unknown_shape("an Enphase session without start_time/end_time/energy_added") from None
        session_id = str(item.get("session_id") or item.get("id") or int(start.timestamp()))
        return NativeSession(
            session_id=session_id,
            start_utc=start,
            end_utc=end,
            energy_wh=energy,
            charge_time_s=optional_float(item.get("charge_time")),
            cost=optional_float(item.get("cost")),
        )


def _base_default() -> str:
    from pipelet_app.settings import get_settings

    return get_settings().api_base("enphase")


__all__ = ["EnphaseAdapter", "energy_added_wh", "utc_now"]
