"""EVRange: a bearer token; locations → EVSEs → connectors, and sessions read connector by connector.

SOURCE: EVRange publishes no API reference we could find (docs, code and pages corpora searched). The shapes
follow OCPI 2.2.1, the public standard such networks expose to partners: a Location holds ``evses`` whose
``connectors`` have ``id``; lists come in the OCPI response envelope ``{"data": [...], "status_code": 1000}``
with ``offset`` / ``limit`` paging and the ``X-Total-Count`` header; a Session has ``id``,
``start_date_time``, ``end_date_time``, ``kwh``, ``cdr_token.uid``, ``currency`` and ``total_cost.excl_vat``
(OCPI 2.2.1 "Sessions" module, public at github.com/ocpi/ocpi). The connector-level sessions path
(``/connectors/{evse_uid}/{connector_id}/sessions``) is our assumption of how EVRange scopes them.

Why per connector: each connector keeps its own cursor in the adapter state, and a connector the network
throttles or fails past our retries (exponential back-off, Retry-After honoured up to 30 s) is skipped *with
its reason* while every other connector syncs; its cursor does not move, so the next poll reads it again.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any, ClassVar

from pipelet_app.networks.base import (
    BrandUnavailable,
    CredentialField,
    InvalidCredentials,
    NetworkAdapter,
    NetworkCharger,
    NetworkSession,
    RowError,
    SessionBatch,
    SkippedRow,
    Throttled,
    checked_session,
    parse_rows,
    read_from,
    row_money,
    row_number,
    row_text,
    row_time,
    save_cursor,
)

PAGE = 50
OCPI_SUCCESS = 1000


class EvRangeAdapter(NetworkAdapter):
    network = "evrange"
    display_name = "EVRange"
    auth_kind = "bearer"
    credential_fields: ClassVar[tuple[CredentialField, ...]] = (
        CredentialField("token", "API token", secret=True),
    )
    source_note = "no public API found; OCPI 2.2.1 locations/sessions shapes, connector path assumed"
    #: retry attempts per request (429 / 5xx / timeout), the first back-off and its factor of 2
    attempts = 3
    base_delay_s = 1.0

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.credentials.get('token', '')}"}

    async def _pages(self, path: str, params: dict[str, Any]) -> list[Any]:
        async def page(_number: int, offset: int) -> tuple[list[Any], bool]:
            query = {**params, "offset": offset, "limit": PAGE}

            async def call() -> Any:
                return await self._send("GET", path, params=query, headers=self._headers())

            response = await self._with_retry(call, attempts=self.attempts, base_delay_s=self.base_delay_s)
            body = self._json(response)
            if isinstance(body, dict) and body.get("status_code") not in (None, OCPI_SUCCESS):
                raise self._fail(f"the network answered status_code {body.get('status_code')}; will retry")
            rows = self._list(body, "data")
            # OCPI: X-Total-Count says how many match; X-Limit the page size the server chose (it may
            # serve fewer than asked). Without either, a short page is the last one.
            total = _int_header(response, "x-total-count")
            limit = _int_header(response, "x-limit") or PAGE
            offset += len(rows)
            last = (
                not rows or (total is not None and offset >= total) or (total is None and len(rows) < limit)
            )
            return rows, not last

        return await self._paged(path, page)

    async def test_credentials(self) -> None:
        response = await self._send(
            "GET", "/ocpi/2.2.1/locations", params={"limit": 1}, headers=self._headers()
        )
        self._check(response, auth_error=InvalidCredentials)
        self._list(self._json(response), "data")

    async def discover(self) -> tuple[list[NetworkCharger], list[SkippedRow]]:
        chargers: list[NetworkCharger] = []
        skipped: list[SkippedRow] = []
        for location in await self._pages("/ocpi/2.2.1/locations", {}):
            try:
                location_id = row_text(location, "id")
                evses = location.get("evses") or []
                if not isinstance(evses, list):
                    raise RowError("'evses' is not a list")
            except RowError as error:
                skipped.append(SkippedRow("charger", "location ?", f"location: {error}"))
                continue
            at_location = partial(_charger, location=location, location_id=location_id)
            chargers += parse_rows(evses, at_location, "charger", "uid", skipped)
        return chargers, skipped

    async def fetch_sessions(self, chargers: list[NetworkCharger], now: datetime) -> SessionBatch:
        cursors: dict[str, str] = dict(self.state.get("connectors") or {})
        batch = SessionBatch(state={**self.state})
        for charger in chargers:
            for connector in charger.connectors:
                key = f"{charger.external_id}/{connector}"
                since = cursors.get(key)
                try:
                    rows = await self._pages(
                        f"/ocpi/2.2.1/connectors/{charger.external_id}/{connector}/sessions",
                        {"date_from": read_from(since, now).isoformat()},
                    )
                except (Throttled, BrandUnavailable) as error:
                    batch.skipped.append(
                        SkippedRow("connector", key, f"not synced this time: {error.message}")
                    )
                    continue
                at_connector = partial(_session, evse_uid=charger.external_id, connector=connector)
                found = parse_rows(rows, at_connector, "session", "id", batch.skipped)
                batch.sessions.extend(found)
                save_cursor(cursors, key, found, since, now)
        batch.state["connectors"] = cursors
        return batch


def _charger(evse: Any, location: dict[str, Any], location_id: str) -> NetworkCharger:
    connectors = evse.get("connectors") or []
    if not isinstance(connectors, list):
        raise RowError("'connectors' is not a list")
    return NetworkCharger(
        external_id=row_text(evse, "uid"),
        name=row_text(evse, "evse_id", required=False),
        site_id=location_id,
        site_name=row_text(location, "name", required=False),
        vendor=row_text(evse, "vendor", required=False),
        model=row_text(evse, "model", required=False),
        serial=row_text(evse, "serial_number", required=False),
        connectors=tuple(row_text(c, "id") for c in connectors),
        timezone=row_text(location, "time_zone", required=False) or None,
    )


def _int_header(response: Any, name: str) -> int | None:
    value = response.headers.get(name, "")
    return int(value) if value.isdigit() else None


def _session(row: Any, evse_uid: str, connector: str) -> NetworkSession:
    token = row.get("cdr_token") if isinstance(row.get("cdr_token"), dict) else {}
    cost = row.get("total_cost") if isinstance(row.get("total_cost"), dict) else {}
    kwh = row_number(row, "kwh")
    assert kwh is not None
    return checked_session(
        NetworkSession(
            session_id=row_text(row, "id"),
            charger_external_id=evse_uid,
            connector=connector,
            start_utc=row_time(row, "start_date_time"),  # type: ignore[arg-type]
            end_utc=row_time(row, "end_date_time", required=False),
            energy_wh=kwh * 1000.0,
            id_tag=row_text(token, "uid", required=False),
            cost=row_money(cost.get("excl_vat"), "total_cost.excl_vat"),
            currency=(str(row.get("currency")).upper()[:3] if row.get("currency") else None),
        )
    )
