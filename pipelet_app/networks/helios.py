"""Helios: a network of OCPP chargers; its API reports each charger as OCPP identified it.

SOURCE: Helios publishes no API reference we could find (docs, code and pages corpora searched). The field
names are OCPP 1.6's, which is public (OCA, "OCPP 1.6 edition 2", BootNotification.req:
``chargePointVendor``, ``chargePointModel``, ``chargePointSerialNumber``, ``firmwareVersion``;
StartTransaction/StopTransaction: ``transactionId``, ``connectorId``, ``idTag``, ``meterStart`` /
``meterStop`` in Wh, ``timestamp``). The REST wrapping — ``GET /api/v1/chargers`` and
``/api/v1/transactions`` with ``page`` / ``total_pages``, an ``X-API-Key`` header — is our assumption.

Charger identification by vendor: a Helios charger is the hardware its Boot announced, so the poll job links
it to a charger of this CSMS in the same tenant with the same vendor and serial number
(``chargers.vendor`` / ``serial_number`` from that charger's own BootNotification). Energy is
``meterStop - meterStart``; a transaction without ``meterStart`` is skipped, one still running has no stop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

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
    read_from,
    row_number,
    row_text,
    row_time,
    save_cursor,
)


class HeliosAdapter(NetworkAdapter):
    network = "helios"
    display_name = "Helios"
    auth_kind = "api_key"
    credential_fields: ClassVar[tuple[CredentialField, ...]] = (
        CredentialField("api_key", "API key", secret=True),
    )
    source_note = "no public API found; OCPP 1.6 BootNotification / transaction field names, REST assumed"

    async def _pages(
        self, path: str, params: dict[str, Any], *, auth_error: type = ReauthRequired
    ) -> list[Any]:
        async def page(number: int, _seen: int) -> tuple[list[Any], bool]:
            response = await self._send(
                "GET",
                path,
                params={**params, "page": number + 1},
                headers={"X-API-Key": str(self.credentials.get("api_key", ""))},
            )
            self._check(response, auth_error=auth_error)
            body = self._json(response)
            rows = self._list(body, "items")
            total = body.get("total_pages") if isinstance(body, dict) else None
            return rows, isinstance(total, int) and number + 1 < total

        return await self._paged(path, page)

    async def test_credentials(self) -> None:
        response = await self._send(
            "GET",
            "/api/v1/chargers",
            params={"page": 1},
            headers={"X-API-Key": str(self.credentials.get("api_key", ""))},
        )
        self._check(response, auth_error=InvalidCredentials)
        self._list(self._json(response), "items")

    async def discover(self) -> tuple[list[NetworkCharger], list[SkippedRow]]:
        skipped: list[SkippedRow] = []
        rows = await self._pages("/api/v1/chargers", {})
        return parse_rows(rows, _charger, "charger", "chargePointId", skipped), skipped

    async def fetch_sessions(self, chargers: list[NetworkCharger], now: datetime) -> SessionBatch:
        since = self.state.get("since")
        batch = SessionBatch(state=dict(self.state))
        rows = await self._pages("/api/v1/transactions", {"since": read_from(since, now).isoformat()})
        batch.sessions = parse_rows(rows, _session, "session", "transactionId", batch.skipped)
        save_cursor(batch.state, "since", batch.sessions, since, now)
        return batch


def _charger(row: Any) -> NetworkCharger:
    boot = row.get("ocpp")
    if not isinstance(boot, dict):
        raise RowError("no 'ocpp' identity")
    connectors = row.get("connectors") or []
    if not isinstance(connectors, list):
        raise RowError("'connectors' is not a list")
    return NetworkCharger(
        external_id=row_text(row, "chargePointId"),
        name=row_text(row, "name", required=False),
        site_id=row_text(row, "siteId", required=False),
        site_name=row_text(row, "siteName", required=False),
        vendor=row_text(boot, "chargePointVendor"),
        model=row_text(boot, "chargePointModel", required=False),
        serial=row_text(boot, "chargePointSerialNumber", required=False),
        connectors=tuple(row_text(c, "connectorId") for c in connectors),
    )


def _session(row: Any) -> NetworkSession:
    meter_start = row_number(row, "meterStart")
    meter_stop = row_number(row, "meterStop", required=False)
    assert meter_start is not None
    if meter_stop is not None and meter_stop < meter_start:
        raise RowError("meterStop below meterStart")
    return checked_session(
        NetworkSession(
            session_id=row_text(row, "transactionId"),
            charger_external_id=row_text(row, "chargePointId"),
            connector=row_text(row, "connectorId", required=False) or None,
            start_utc=row_time(row, "timestampStart"),  # type: ignore[arg-type]
            end_utc=row_time(row, "timestampStop", required=False),
            energy_wh=(meter_stop - meter_start) if meter_stop is not None else 0.0,
            id_tag=row_text(row, "idTag", required=False),
            meter_start_wh=meter_start,
            meter_stop_wh=meter_stop,
        )
    )
