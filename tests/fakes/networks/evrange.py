"""Fake EVRange API (OCPI 2.2.1 shapes, token auth, offset/limit paging with X-Total-Count, sessions per
connector), answers built from tests/fixtures/vendors/evrange/ (see its SOURCE.md)."""

from __future__ import annotations

import copy
from typing import Any

from pipelet_app.inverters.base import parse_time
from tests.fakes.networks._server import FakeNetwork, Reply, _after, fixture

TOKEN = "evr-token-0123456789abcdef"


class FakeEvRange(FakeNetwork):
    network = "evrange"

    def __init__(self) -> None:
        super().__init__()
        envelope = fixture("evrange", "locations.json")
        self.envelope = {k: v for k, v in envelope.items() if k != "data"}
        self.locations: list[dict[str, Any]] = envelope["data"]
        self.sessions: list[dict[str, Any]] = fixture("evrange", "sessions.json")["data"]

    def credentials(self) -> dict[str, str]:
        return {"token": TOKEN}

    def add_connector(self, evse_uid: str, connector_id: str) -> None:
        evse = copy.deepcopy(self.locations[0]["evses"][0])
        evse.update(uid=evse_uid, evse_id=f"DE*EVR*{evse_uid}")
        evse["connectors"] = [{**evse["connectors"][0], "id": connector_id}]
        self.locations[0]["evses"].append(evse)

    def add_session(
        self, session_id: str, evse_uid: str, connector: str, start: str, end: str | None, kwh: float
    ) -> dict[str, Any]:
        row = copy.deepcopy(fixture("evrange", "sessions.json")["data"][0])
        row.update(
            id=session_id,
            evse_uid=evse_uid,
            connector_id=connector,
            start_date_time=start,
            end_date_time=end,
            kwh=kwh,
        )
        self.sessions.append(row)
        return row

    def route(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> Reply:
        if headers.get("authorization") != f"Token {TOKEN}":
            return Reply(401, {"status_code": 2001, "status_message": "Unauthorized"})
        offset = int(query.get("offset", ["0"])[0])
        limit = min(int(query.get("limit", ["50"])[0]), self.page_size)
        if path == "/ocpi/2.2.1/locations":
            rows = self.locations
        elif path.startswith("/ocpi/2.2.1/connectors/") and path.endswith("/sessions"):
            _, _, _, _, evse, connector, _ = path.split("/")
            since = parse_time(query["date_from"][0])
            rows = sorted(
                (
                    s
                    for s in self.sessions
                    if s["evse_uid"] == evse
                    and s["connector_id"] == connector
                    and _after(s, "start_date_time", since)
                ),
                key=lambda s: str(s.get("start_date_time")),
            )
        else:
            return Reply(404, {"status_code": 2003, "status_message": "Unknown"})
        chunk, _ = self.page(rows, offset, limit)
        return Reply(
            200, {"data": chunk, **self.envelope}, {"X-Total-Count": str(len(rows)), "X-Limit": str(limit)}
        )
