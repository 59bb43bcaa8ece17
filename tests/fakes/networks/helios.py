"""Fake Helios API (X-API-Key, page / total_pages, OCPP field names), answers built from
tests/fixtures/vendors/helios/ (see its SOURCE.md)."""

from __future__ import annotations

import copy
from typing import Any

from pipelet_app.inverters.base import parse_time
from tests.fakes.networks._server import FakeNetwork, Reply, _after, fixture

API_KEY = "helios-key-0123456789"


class FakeHelios(FakeNetwork):
    network = "helios"

    def __init__(self) -> None:
        super().__init__()
        self.api_key = API_KEY  # `rotate` replaces it, as an operator rotating the key at Helios would
        self.chargers: list[dict[str, Any]] = fixture("helios", "chargers.json")["items"]
        self.transactions: list[dict[str, Any]] = fixture("helios", "transactions.json")["items"]

    def credentials(self) -> dict[str, str]:
        return {"api_key": self.api_key}

    def rotate(self, new_key: str) -> None:
        """The key was rotated at Helios: the old one is refused from now on."""
        self.api_key = new_key

    def add_transaction(
        self,
        tx_id: int,
        start: str,
        stop: str | None,
        meter_start: int,
        meter_stop: int | None,
        cp: str = "HEL-CP-0001",
    ) -> dict[str, Any]:
        row = copy.deepcopy(fixture("helios", "transactions.json")["items"][0])
        row.update(
            transactionId=tx_id,
            chargePointId=cp,
            timestampStart=start,
            timestampStop=stop,
            meterStart=meter_start,
            meterStop=meter_stop,
        )
        self.transactions.append(row)
        return row

    def route(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> Reply:
        if headers.get("x-api-key") != self.api_key:
            return Reply(401, {"error": "invalid api key"})
        page = int(query.get("page", ["1"])[0])
        if path == "/api/v1/chargers":
            rows = self.chargers
        elif path == "/api/v1/transactions":
            since = parse_time(query["since"][0])
            rows = sorted(
                (t for t in self.transactions if _after(t, "timestampStart", since)),
                key=lambda t: str(t.get("timestampStart")),
            )
        else:
            return Reply(404, {"error": "not found"})
        size = self.page_size
        chunk, _ = self.page(rows, (page - 1) * size, size)
        total = max(1, -(-len(rows) // size))
        return Reply(200, {"items": chunk, "page": page, "total_pages": total})
