"""Fake ChargePoint Web Services API (SOAP 1.1 + WS-Security UsernameToken): getStations and
getChargingSessionData, answers built from tests/fixtures/vendors/chargepoint/ (see its SOURCE.md)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from xml.sax.saxutils import escape

from pipelet_app.inverters.base import parse_time
from tests.fakes.networks._server import FakeNetwork, Reply, _after, fixture

API_KEY, API_PASSWORD = "cp-license-0123456789abcdef", "cp-password-0123456789"
_FAULT = (
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault>'
    "<faultcode>soapenv:Server</faultcode><faultstring>{text}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
)


def _rows(xml: str, tag: str) -> list[dict[str, Any]]:
    """The fixture's repeated elements as dicts (``Port`` kept as a list of port numbers)."""
    out = []
    for element in ET.fromstring(xml).iter(tag):
        row: dict[str, Any] = {}
        for child in element:
            if child.tag == "Port":
                row.setdefault("Port", []).append(child.findtext("portNumber"))
            else:
                row[child.tag] = child.text
        out.append(row)
    return out


def _xml(tag: str, row: dict[str, Any]) -> str:
    inner = ""
    for key, value in row.items():
        if key == "Port":
            inner += "".join(f"<Port><portNumber>{escape(str(p))}</portNumber></Port>" for p in value)
        elif value is not None:
            inner += f"<{key}>{escape(str(value))}</{key}>"
    return f"<{tag}>{inner}</{tag}>"


class FakeChargePoint(FakeNetwork):
    network = "chargepoint"

    def __init__(self) -> None:
        super().__init__()
        self.stations: list[dict[str, Any]] = _rows(
            fixture("chargepoint", "getStations_response.xml"), "stationData"
        )
        self.sessions: list[dict[str, Any]] = _rows(
            fixture("chargepoint", "getChargingSessionData_response.xml"), "ChargingSessionData"
        )
        self.response_code = "100"

    def credentials(self) -> dict[str, str]:
        return {"api_key": API_KEY, "api_password": API_PASSWORD}

    def add_session(
        self, session_id: str, start: str, end: str | None, kwh: float, station: str = "1:81203"
    ) -> dict[str, Any]:
        row = {
            "stationID": station,
            "sessionID": session_id,
            "portNumber": "1",
            "startTime": start,
            "endTime": end,
            "Energy": str(kwh),
            "credentialID": "490000123",
        }
        self.sessions.append(row)
        return row

    def fault_key(self, path: str, body: bytes) -> str:
        match = re.search(rb"<urn:(\w+)>", body)
        return match.group(1).decode() if match else path

    def changed(self, reply: Reply) -> Reply:
        reply.body = reply.body.replace("Response", "Result")
        return reply

    def route(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> Reply:
        text = body.decode()
        user = re.search(r"<wsse:Username>(.*?)</wsse:Username>", text)
        password = re.search(r"<wsse:Password[^>]*>(.*?)</wsse:Password>", text)
        if not user or not password or (user.group(1), password.group(1)) != (API_KEY, API_PASSWORD):
            return Reply(500, _FAULT.format(text="Authentication failed: invalid username or password"))
        operation = self.fault_key(path, body)
        start = int(re.search(r"<startRecord>(\d+)</startRecord>", text).group(1)) - 1  # type: ignore[union-attr]
        if operation == "getStations":
            rows, tag, flag = self.stations, "stationData", "moreFlag"
        elif operation == "getChargingSessionData":
            since = parse_time(re.search(r"<fromTimeStamp>(.*?)</fromTimeStamp>", text).group(1))  # type: ignore[union-attr]
            rows = sorted(
                (s for s in self.sessions if _after(s, "startTime", since)),
                key=lambda s: str(s.get("startTime")),
            )
            tag, flag = "ChargingSessionData", "MoreFlag"
        else:
            return Reply(500, _FAULT.format(text="Unknown operation"))
        chunk, more = self.page(rows, start, self.page_size)
        return Reply(
            200,
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
            f'<ns1:{operation}Response xmlns:ns1="urn:dictionary:com.chargepoint.webservices">'
            f"<responseCode>{self.response_code}</responseCode>"
            "<responseText>API input request executed successfully.</responseText>"
            + "".join(_xml(tag, r) for r in chunk)
            + f"<{flag}>{1 if more else 0}</{flag}></ns1:{operation}Response>"
            "</soapenv:Body></soapenv:Envelope>",
        )
