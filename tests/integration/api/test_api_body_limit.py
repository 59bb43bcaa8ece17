"""What the API's request guard refuses before any route reads the request (found by the tenant-isolation
sweep): a JSON body above 1 MiB answers 413 naming `body`, whether it declares its length or streams
chunked (before the cap, a 2 MB site name was stored); a NUL in a JSON string or a query parameter answers
422 naming it (PostgreSQL refuses NUL in text: it was a 500)."""

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
    small = json.dumps({"name": "Chunked depot", "timezone": "Europe/Berlin"}).encode()
    answer = client.post(
        "/api/v1/sites", content=_chunks(small), headers={**key, "Content-Type": "application/json"}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["name"] == "Chunked depot"


def test_a_nul_anywhere_in_the_input_is_a_422_naming_where(client: TestClient, database: str) -> None:
    key = key_of(OPERATOR)
    window = {"label": "pe\x00ak", "rate": {"per_kwh": "0.5"}, "start": "17:00", "end": "21:00"}
    answer = client.post("/api/v1/pricing/plans", json={"name": "Plan", "windows": [window]}, headers=key)
    assert answer.status_code == 422
    assert answer.json()["error"]["message"] == "windows[0].label: contains a NUL character"
    answer = client.get("/api/v1/payments", params={"charge_point_id": "SON\x00"}, headers=key)
    assert answer.status_code == 422
    assert answer.json()["error"]["fields"] == [
        {"field": "charge_point_id", "problem": "contains a NUL character"}
    ]
    # an escaped backslash before "u0000" is no NUL: the plan is made
    answer = client.post("/api/v1/pricing/plans", json={"name": "C:\\u0000 plan"}, headers=key)
    assert answer.status_code == 201 and answer.json()["name"] == "C:\\u0000 plan"
