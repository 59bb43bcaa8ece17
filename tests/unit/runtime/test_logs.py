"""Structured logs: JSON lines with tracebacks and the request / charger / job ids of their context."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pipelet_app import logs
from pipelet_app.runtime import jobs
from pipelet_app.runtime.request_ids import request_ids


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """What a process configured by `logs.configure()` would print, one JSON object per line."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_carries_ids_extras_and_the_traceback(json_lines: io.StringIO) -> None:
    with logs.bound(charger_id="CP-7", job_id="pv-poll:3"):
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("pipelet.test").exception("it failed", extra={"brand": "sma"})
    logging.getLogger("pipelet.test").info("after")
    failed, after = lines(json_lines)
    assert failed["msg"] == "it failed" and failed["level"] == "error" and failed["logger"] == "pipelet.test"
    assert (failed["charger_id"], failed["job_id"], failed["brand"]) == ("CP-7", "pv-poll:3", "sma")
    assert "Traceback" in failed["exc"] and "ValueError: boom" in failed["exc"]
    assert "charger_id" not in after and "job_id" not in after, "ids end with their block"


def test_text_format_names_the_ids_too(monkeypatch: pytest.MonkeyPatch) -> None:
    record = logging.makeLogRecord({"name": "x", "msg": "hello", "levelname": "INFO"})
    with logs.bound(request_id="r1"):
        logs.ContextFilter().filter(record)
    assert record.ids == "request_id=r1"


def test_every_request_gets_an_id_on_its_lines_and_its_answer(json_lines: io.StringIO) -> None:
    api = FastAPI()

    @api.get("/work")
    def work() -> dict:  # a sync route: FastAPI runs it on a thread, the id must follow
        logging.getLogger("pipelet.test").info("working")
        return {}

    client = TestClient(request_ids(api))
    fresh = client.get("/work")
    kept = client.get("/work", headers={"X-Request-ID": "lb-1234.a"})
    forged = client.get("/work", headers={"X-Request-ID": 'x" injected'})
    first, second, third = [line for line in lines(json_lines) if line["logger"] == "pipelet.test"]
    assert len(fresh.headers["x-request-id"]) == 16 and first["request_id"] == fresh.headers["x-request-id"]
    assert kept.headers["x-request-id"] == "lb-1234.a" == second["request_id"]
    assert (
        forged.headers["x-request-id"] != 'x" injected'
        and third["request_id"] == forged.headers["x-request-id"]
    )


async def test_a_background_loop_logs_the_traceback_with_its_job_id(
    json_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("database is gone")

    monkeypatch.setattr(jobs, "run_site_energy_jobs", broken)
    monkeypatch.setattr(jobs, "uses_redis", lambda: False)
    task = asyncio.create_task(jobs.site_energy_loop())
    for _ in range(100):
        await asyncio.sleep(0.01)
        if json_lines.getvalue():
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (line,) = [entry for entry in lines(json_lines) if entry["logger"] == "pipelet.runtime"][:1]
    assert line["msg"] == "site energy jobs failed" and line["job_id"] == "site-energy"
    assert "RuntimeError: database is gone" in line["exc"]
