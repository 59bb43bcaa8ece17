"""`csms_server.main()` as the CLI calls it: no argv of its own, defaults from settings."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

import pytest
from csms_helpers import add_charger, charger_row
from rawcp import RawChargePoint

from tests.pipelet_process import free_port

ROOT = Path(__file__).resolve().parents[3]


def test_main_ignores_the_callers_command_line(monkeypatch: pytest.MonkeyPatch, db: str) -> None:
    """`pipelet csms` calls main() with sys.argv = ["pipelet", "csms"]: that must not reach argparse."""
    sys.path.insert(0, str(ROOT))
    import csms_server

    monkeypatch.setattr(sys, "argv", ["pipelet", "csms", "--some-cli-flag"])
    seen: dict[str, object] = {}

    async def fake_run(host: str, port: int | None, stop: object = None) -> None:
        seen.update(host=host, port=port)

    monkeypatch.setattr(csms_server, "run", fake_run)
    assert csms_server.main() == 0
    assert seen == {"host": "0.0.0.0", "port": None}
    assert csms_server.main(["--no-migrate", "--port", "1234", "--host", "127.0.0.1"]) == 0
    assert seen == {"host": "127.0.0.1", "port": 1234}


async def test_run_in_a_thread_serves_until_stopped(db: str) -> None:
    """`pipelet run` may host the CSMS in a thread: no signal handlers there, a stop event instead."""
    sys.path.insert(0, str(ROOT))
    import csms_server

    add_charger("CP-THREAD")
    port = free_port()
    loop_holder: dict[str, object] = {}
    stop_holder: dict[str, asyncio.Event] = {}

    def serve() -> None:
        async def go() -> None:
            stop_holder["event"] = asyncio.Event()
            loop_holder["loop"] = asyncio.get_running_loop()
            await csms_server.run("127.0.0.1", port, stop_holder["event"])

        asyncio.run(go())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    for _ in range(100):
        try:
            async with RawChargePoint(f"ws://127.0.0.1:{port}", "CP-THREAD") as cp:
                assert (await cp.boot16())["status"] == "Accepted"
                break
        except OSError:
            await asyncio.sleep(0.05)
    else:
        raise AssertionError("CSMS thread did not come up")
    loop = loop_holder["loop"]
    loop.call_soon_threadsafe(stop_holder["event"].set)  # type: ignore[attr-defined]
    await asyncio.to_thread(thread.join, 15)
    assert not thread.is_alive()
    assert not charger_row("CP-THREAD").is_online
