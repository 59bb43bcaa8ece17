"""A JSON body above 1 MiB answers 413 naming `body`, whether it declares its length or streams chunked;
before the cap, a 2 MB site name was stored (found by the tenant-isolation sweep's oversized bodies)."""

from __future__ import annotations

import json
from collections.abc import Iterator

from fastapi.testclient import TestClient

from pipelet_app.api.errors import MAX_JSON_BODY
from tests.integration.api_keys import key_of

OPERATOR = "operator@sonnenstrom.demo"


def _chunks(body: bytes) -> Iterator[bytes]:  # no Content-Length: sent chunked
    for start in range(0, len(body), 64 * 1024):
        yield body[start : start + 64 * 1024]


def test_an_oversized_json_body_is_413_and_stores_nothing(client: TestClient) -> None:
    key = key_of(OPERATOR)
    before = len(client.get("/api/v1/sites", headers=key).json())
    big = json.dumps({"name": "x" * (MAX_JSON_BODY + 1)}).encode()
    headers = {**key, "Content-Type": "application/json"}
    for content in (big, _chunks(big)):
        answer = client.post("/api/v1/sites", content=content, headers=headers)
        assert answer.status_code == 413, answer.text
        assert answer.json()["error"]["message"].startswith("body: larger than 1024 KiB")
    assert len(client.get("/api/v1/sites", headers=key).json()) == before


def test_a_json_body_under_the_cap_still_streams_through(client: TestClient) -> None:
    key = key_of(OPERATOR)
    small = json.dumps({"name": "Chunked depot"}).encode()
    answer = client.post(
        "/api/v1/sites", content=_chunks(small), headers={**key, "Content-Type": "application/json"}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["name"] == "Chunked depot"
