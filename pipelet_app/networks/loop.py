"""Loop: OAuth2 client credentials; sites → chargers → sessions, every list cursor-paginated.

SOURCE: Loop publishes no API reference we could find (searched the docs, code and pages corpora for a
developer portal or a public client: nothing). What is modelled here is therefore an assumption, kept to
public standards: the token call is RFC 6749 §4.4 (``grant_type=client_credentials``, form body, answer
``access_token`` / ``expires_in`` / ``token_type``), lists are ``{"data": [...], "next_cursor": ...}``.
The recorded example payloads are in tests/fixtures/vendors/loop/ with the same note. When Loop's real
shapes are known, this module and those fixtures change together; nothing else does.

Assumptions: energy is ``energy_kwh`` (kWh), times ISO-8601 with offset, cost ``{"amount", "currency"}``;
a 401 on a data call means the token expired (one refresh, then ReauthRequired).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any, ClassVar

import httpx

from pipelet_app.networks.base import (
    CredentialField,
    InvalidCredentials,
    NetworkAdapter,
    NetworkCharger,
    NetworkSession,
    ReauthRequired,
    RowError,
    SessionBatch,
    SkippedRow,
    checked_session,
    parse_rows,
    parse_time,
    read_from,
    row_money,
    row_number,
    row_text,
    row_time,
    save_cursor,
    utc_now,
)


class LoopAdapter(NetworkAdapter):
    network = "loop"
    display_name = "Loop"
    auth_kind = "oauth2"
    credential_fields: ClassVar[tuple[CredentialField, ...]] = (
        CredentialField("client_id", "Client id"),
        CredentialField("client_secret", "Client secret", secret=True),
    )
    source_note = "no public API found; OAuth2 client credentials (RFC 6749 §4.4), shapes assumed"

    async def _token(self, *, force: bool = False) -> str:
        token = self.credentials.get("access_token")
        expires = self.credentials.get("expires_at")
        if not force and token and expires and parse_time(expires) > utc_now() + timedelta(seconds=60):
            return str(token)
        response = await self._send(
            "POST",
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": str(self.credentials.get("client_id", "")),
                "client_secret": str(self.credentials.get("client_secret", "")),
            },
        )
        if response.status_code in (400, 401):
            raise InvalidCredentials(self.network, "Loop refused the client id or secret")
        self._check(response, auth_error=InvalidCredentials)
        body = self._json(response)
        if not isinstance(body, dict) or not body.get("access_token"):
            raise self._unknown_shape("no field 'access_token'")
        expires_in = row_number(body, "expires_in", required=False) or 3600.0
        self.credentials["access_token"] = str(body["access_token"])
        self.credentials["expires_at"] = (utc_now() + timedelta(seconds=expires_in)).isoformat()
        self.credentials_changed = True
        return self.credentials["access_token"]

    async def _get(self, path: str, params: dict[str, Any]) -> Any:
        async def call(force: bool = False) -> httpx.Response:
            token = await self._token(force=force)
            return await self._send("GET", path, params=params, headers={"Authorization": f"Bearer {token}"})

        response = await call()
        if response.status_code == 401:  # expired early or revoked: one fresh token, then it is the account
            response = await call(force=True)
        self._check(response, auth_error=ReauthRequired)
        return self._json(response)

    async def _pages(self, path: str, params: dict[str, Any]) -> list[Any]:
        cursor: str | None = None

        async def page(_number: int, _seen: int) -> tuple[list[Any], bool]:
            nonlocal cursor
            body = await self._get(
                path, {**params, **({"cursor": cursor} if cursor else {}), "page_size": 100}
            )
            rows = self._list(body, "data")
            cursor = body.get("next_cursor") if isinstance(body, dict) else None
            return rows, bool(cursor)

        return await self._paged(path, page)

    async def test_credentials(self) -> None:
        await self._token(force=True)
        await self._get("/v1/sites", {"page_size": 1})

    async def discover(self) -> tuple[list[NetworkCharger], list[SkippedRow]]:
        chargers: list[NetworkCharger] = []
        skipped: list[SkippedRow] = []
        for site in await self._pages("/v1/sites", {}):
            try:
                site_id = row_text(site, "id")
            except RowError as error:
                skipped.append(SkippedRow("charger", "site ?", f"site: {error}"))
                continue
            site_name = row_text(site, "name", required=False)
            tz = row_text(site, "timezone", required=False) or None
            rows = await self._pages(f"/v1/sites/{site_id}/chargers", {})
            at_site = partial(_charger, site_id=site_id, site_name=site_name, tz=tz)
            chargers += parse_rows(rows, at_site, "charger", "id", skipped)
        return chargers, skipped

    async def fetch_sessions(self, chargers: list[NetworkCharger], now: datetime) -> SessionBatch:
        since = self.state.get("since")
        rows = await self._pages("/v1/sessions", {"started_after": read_from(since, now).isoformat()})
        batch = SessionBatch(state=dict(self.state))
        batch.sessions = parse_rows(rows, _session, "session", "id", batch.skipped)
        save_cursor(batch.state, "since", batch.sessions, since, now)
        return batch


def _charger(row: Any, site_id: str, site_name: str, tz: str | None) -> NetworkCharger:
    connectors = row.get("connectors") or []
    if not isinstance(connectors, list):
        raise RowError("'connectors' is not a list")
    return NetworkCharger(
        external_id=row_text(row, "id"),
        name=row_text(row, "name", required=False),
        site_id=site_id,
        site_name=site_name,
        vendor=row_text(row, "vendor", required=False),
        model=row_text(row, "model", required=False),
        serial=row_text(row, "serial_number", required=False),
        connectors=tuple(row_text(c, "id") for c in connectors),
        timezone=tz,
    )


def _session(row: Any) -> NetworkSession:
    cost = row.get("cost") if isinstance(row.get("cost"), dict) else {}
    energy_kwh = row_number(row, "energy_kwh")
    assert energy_kwh is not None
    return checked_session(
        NetworkSession(
            session_id=row_text(row, "id"),
            charger_external_id=row_text(row, "charger_id"),
            connector=row_text(row, "connector_id", required=False) or None,
            start_utc=row_time(row, "started_at"),  # type: ignore[arg-type]
            end_utc=row_time(row, "ended_at", required=False),
            energy_wh=energy_kwh * 1000.0,
            id_tag=row_text(row, "id_tag", required=False),
            cost=row_money(cost.get("amount"), "cost.amount"),
            currency=(str(cost.get("currency")).upper()[:3] if cost.get("currency") else None),
        )
    )
