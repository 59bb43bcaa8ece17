"""Fake Loop API (OAuth2 client credentials, cursor-paged sites / chargers / sessions), answers built from
tests/fixtures/vendors/loop/ (assumed shapes: see its SOURCE.md)."""

from __future__ import annotations

import copy
import secrets
from typing import Any
from urllib.parse import parse_qs

from pipelet_app.inverters.base import parse_time
from tests.fakes.networks._server import FakeNetwork, Reply, _after, fixture

CLIENT_ID, CLIENT_SECRET = "loop-client", "loop-secret-0123456789"


class FakeLoop(FakeNetwork):
    network = "loop"

    def __init__(self) -> None:
        super().__init__()
        self.sites: list[dict[str, Any]] = fixture("loop", "sites.json")["data"]
        self.chargers: dict[str, list[dict[str, Any]]] = {
            self.sites[0]["id"]: fixture("loop", "chargers.json")["data"]
        }
        self.sessions: list[dict[str, Any]] = fixture("loop", "sessions.json")["data"]
        self.tokens: set[str] = set()
        self.tokens_issued = 0

    def credentials(self) -> dict[str, str]:
        return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}

    def add_session(
        self, session_id: str, start: str, end: str | None, kwh: float, charger: str = "chg_91x"
    ) -> dict[str, Any]:
        row = copy.deepcopy(fixture("loop", "sessions.json")["data"][0])
        row.update(id=session_id, charger_id=charger, started_at=start, ended_at=end, energy_kwh=kwh)
        self.sessions.append(row)
        return row

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def route(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> Reply:
        if path == "/oauth/token" and method == "POST":
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            if form.get("grant_type") != "client_credentials" or (
                form.get("client_id"),
                form.get("client_secret"),
            ) != (CLIENT_ID, CLIENT_SECRET):
                return Reply(401, {"error": "invalid_client"})
            token = secrets.token_hex(8)
            self.tokens.add(token)
            self.tokens_issued += 1
            return Reply(200, {**fixture("loop", "token.json"), "access_token": token})
        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return Reply(401, {"error": "invalid_token"})
        size = int(query.get("page_size", ["100"])[0])
        size = min(size, self.page_size)
        start = int(query.get("cursor", ["0"])[0])
        if path == "/v1/sites":
            rows = self.sites
        elif path.startswith("/v1/sites/") and path.endswith("/chargers"):
            rows = self.chargers.get(path.split("/")[3], [])
        elif path == "/v1/sessions":
            after = parse_time(query["started_after"][0])
            rows = sorted(
                (s for s in self.sessions if _after(s, "started_at", after)),
                key=lambda s: str(s.get("started_at")),
            )
        else:
            return Reply(404, {"error": "not found"})
        chunk, more = self.page(rows, start, size)
        return Reply(200, {"data": chunk, "next_cursor": str(start + size) if more else None})
