"""The embedded network scheduler's "sync now" wake-up is never lost: one that comes while a tick is still
running (the account made due after that tick read what was due) starts the next tick at once, not a whole
tick period (30 s) later. CI under load once saw a "sync now" wait out the period
(tests/integration/networks/test_network_runtime.py)."""

from __future__ import annotations

import asyncio

import pytest

from pipelet_app.runtime import jobs


async def test_a_sync_now_during_a_tick_runs_the_next_tick_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import pollers.networks

    ticks: list[float] = []
    loop = asyncio.get_running_loop()

    async def poll_due() -> list:
        ticks.append(loop.time())
        if len(ticks) == 1:  # "sync now" arrives while this tick is still busy
            await jobs.request_network_poll(1)
            await asyncio.sleep(0.05)
        return []

    monkeypatch.setattr(pollers.networks, "poll_due", poll_due)
    task = asyncio.create_task(jobs.network_scheduler())
    try:
        for _ in range(100):
            if len(ticks) >= 2:
                break
            await asyncio.sleep(0.05)
        assert len(ticks) >= 2, "the wake-up that came during the first tick was lost"
        assert ticks[1] - ticks[0] < jobs.NETWORK_TICK_S / 2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
