"""ChargePoint: the ChargePoint Web Services API (SOAP 1.1, WS-Security UsernameToken).

SOURCE: docs.chargepoint.com, "API Call (Example)" (cpp/content/nos/api/api-sample-call.htm): the request
envelope (namespace ``urn:dictionary:com.chargepoint.webservices``, ``wsse:UsernameToken`` with the API
key as Username and the API password as PasswordText) and the ``getStationsResponse`` (``responseCode``
100, ``responseText``, repeated ``stationData`` with ``stationID`` like ``1:81203``,
``stationManufacturer``, ``stationModel``, ...). The session call ``getChargingSessionData``
(``sessionSearchdata`` with ``fromTimeStamp`` / ``startRecord``; answer ``ChargingSessionData`` rows with
``sessionID``, ``stationID``, ``portNumber``, ``startTime``, ``endTime``, ``Energy`` in kWh, and
``MoreFlag``) is modelled from ChargePoint's API guide as we know it, not from a recorded answer: the
fixture under tests/fixtures/vendors/chargepoint/ says so.

Location discovery = ``getStations`` paged by ``startRecord`` while ``moreFlag`` is 1; charger
identification = ``stationManufacturer`` + ``stationSerialNum`` (linked to a charger of this CSMS with the
same serial). Error dialect assumed: HTTP 401/403 or a SOAP Fault mentioning authentication = refused
credentials; a ``responseCode`` other than 100 (and 102, "no data") = the network's error, retried later.

XML safety: answers carrying a DOCTYPE are refused before parsing (no entity expansion of any kind).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any, ClassVar
from xml.sax.saxutils import escape

from pipelet_app.networks.base import (
    CredentialField,
    InvalidCredentials,
    NetworkAdapter,
    NetworkCharger,
    NetworkSession,
    ReauthRequired,
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

NS = "urn:dictionary:com.chargepoint.webservices"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText"
)
OK, NO_DATA = "100", "102"


def envelope(api_key: str, api_password: str, operation: str, body_xml: str) -> str:
    """The SOAP request as ChargePoint's sample shows it; every value XML-escaped."""
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns:urn="{NS}">'
        f'<soapenv:Header xmlns:wsse="{WSSE_NS}"><wsse:Security soapenv:mustUnderstand="1">'
        f"<wsse:UsernameToken><wsse:Username>{escape(api_key)}</wsse:Username>"
        f'<wsse:Password Type="{PASSWORD_TEXT}">{escape(api_password)}</wsse:Password>'
        "</wsse:UsernameToken></wsse:Security></soapenv:Header>"
        f"<soapenv:Body><urn:{operation}>{body_xml}</urn:{operation}></soapenv:Body></soapenv:Envelope>"
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _as_dict(element: ET.Element) -> dict[str, Any]:
    """An element's children by local name: text for leaves, lists of dicts for repeated ones."""
    out: dict[str, Any] = {}
    for child in element:
        name = _local(child.tag)
        value: Any = _as_dict(child) if len(child) else (child.text or "").strip()
        if name in out:
            if not isinstance(out[name], list):
                out[name] = [out[name]]
            out[name].append(value)
        else:
            out[name] = value
    return out


def _many(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


class ChargePointAdapter(NetworkAdapter):
    network = "chargepoint"
    display_name = "ChargePoint"
    auth_kind = "soap-wss"
    credential_fields: ClassVar[tuple[CredentialField, ...]] = (
        CredentialField("api_key", "API license key", secret=True),
        CredentialField("api_password", "API password", secret=True),
    )
    source_note = "docs.chargepoint.com getStations sample; getChargingSessionData from the API guide"

    async def _call(
        self, operation: str, body_xml: str, *, auth_error: type = ReauthRequired
    ) -> dict[str, Any]:
        payload = envelope(
            str(self.credentials.get("api_key", "")),
            str(self.credentials.get("api_password", "")),
            operation,
            body_xml,
        )
        response = await self._send(
            "POST",
            self.base_url,
            content=payload.encode(),
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": f'"urn:provider/interface/chargepointservices/{operation}"',
            },
        )
        text = response.text
        if "<!DOCTYPE" in text[:2000].upper():
            raise self._fail("the network sent a document type declaration; refused, will retry later")
        if response.status_code in (401, 403) or (
            response.status_code == 500 and "Fault" in text and "uthenticat" in text
        ):
            raise auth_error(
                self.network, "ChargePoint refused the API key or password; connect the account again"
            )
        if response.status_code != 500 or "Fault" not in text:
            self._check(response, auth_error=auth_error)
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            raise self._fail(
                "the network sent an unreadable answer (maintenance?); will retry later"
            ) from None
        body = next((c for c in root if _local(c.tag) == "Body"), None)
        if body is None or not len(body):
            raise self._unknown_shape("no SOAP Body")
        first = body[0]
        if _local(first.tag) == "Fault":
            raise self._fail("the network answered with a SOAP fault; will retry later")
        if _local(first.tag) != f"{operation}Response":
            raise self._unknown_shape(f"no {operation}Response")
        data = _as_dict(first)
        code = str(data.get("responseCode", ""))
        if code not in (OK, NO_DATA):
            if not code:
                raise self._unknown_shape("no field 'responseCode'")
            raise self._fail(f"ChargePoint answered responseCode {code}; will retry later")
        return data

    async def test_credentials(self) -> None:
        await self._call(
            "getStations",
            "<searchQuery><startRecord>1</startRecord></searchQuery>",
            auth_error=InvalidCredentials,
        )

    async def discover(self) -> tuple[list[NetworkCharger], list[SkippedRow]]:
        async def page(_number: int, seen: int) -> tuple[list[Any], bool]:
            data = await self._call(
                "getStations", f"<searchQuery><startRecord>{1 + seen}</startRecord></searchQuery>"
            )
            rows = _many(data.get("stationData"))
            return rows, str(data.get("moreFlag", data.get("MoreFlag", "0"))) == "1" and bool(rows)

        skipped: list[SkippedRow] = []
        rows = await self._paged("stations", page)
        return parse_rows(rows, _charger, "charger", "stationID", skipped), skipped

    async def fetch_sessions(self, chargers: list[NetworkCharger], now: datetime) -> SessionBatch:
        since = self.state.get("since")
        start = read_from(since, now)

        async def page(_number: int, seen: int) -> tuple[list[Any], bool]:
            data = await self._call(
                "getChargingSessionData",
                "<sessionSearchdata>"
                f"<fromTimeStamp>{start.strftime('%Y-%m-%dT%H:%M:%SZ')}</fromTimeStamp>"
                f"<startRecord>{1 + seen}</startRecord></sessionSearchdata>",
            )
            rows = _many(data.get("ChargingSessionData"))
            return rows, str(data.get("MoreFlag", data.get("moreFlag", "0"))) == "1" and bool(rows)

        batch = SessionBatch(state=dict(self.state))
        rows = await self._paged("sessions", page)
        batch.sessions = parse_rows(rows, _session, "session", "sessionID", batch.skipped)
        save_cursor(batch.state, "since", batch.sessions, since, now)
        return batch


def _charger(row: Any) -> NetworkCharger:
    ports = [p for p in _many(row.get("Port")) if isinstance(p, dict)]
    count = row_number(row, "numPorts", required=False)
    numbers = tuple(row_text(p, "portNumber") for p in ports) or tuple(
        str(n) for n in range(1, int(count or 1) + 1)
    )
    address = ", ".join(
        x for x in (row_text(row, "Address", required=False), row_text(row, "City", required=False)) if x
    )
    return NetworkCharger(
        external_id=row_text(row, "stationID"),
        name=row_text(row, "stationName", required=False),
        site_id=row_text(row, "orgID", required=False) or address,
        site_name=address,
        vendor=row_text(row, "stationManufacturer", required=False),
        model=row_text(row, "stationModel", required=False),
        serial=row_text(row, "stationSerialNum", required=False),
        connectors=numbers,
    )


def _session(row: Any) -> NetworkSession:
    energy = row_number(row, "Energy")
    assert energy is not None
    return checked_session(
        NetworkSession(
            session_id=row_text(row, "sessionID"),
            charger_external_id=row_text(row, "stationID"),
            connector=row_text(row, "portNumber", required=False) or None,
            start_utc=row_time(row, "startTime"),  # type: ignore[arg-type]
            end_utc=row_time(row, "endTime", required=False),
            energy_wh=energy * 1000.0,
            id_tag=row_text(row, "credentialID", required=False),
        )
    )
