"""One "worker" process for tests/integration/pv/test_huawei_login_ledger.py: logs in to the Huawei fake
`attempts` times, each time as a fresh process would (no cached session, no stored token), at one fixed
instant, and prints how many attempts were let through to the cloud and how many were throttled.

    python -m tests.integration.pv.huawei_login_worker BASE_URL ISO_INSTANT ATTEMPTS START_AT_UNIX
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import datetime

from pipelet_app.inverters.base import Throttled
from pipelet_app.inverters.huawei import HuaweiAdapter, reset_sessions
from tests.fakes.inverters.huawei import SYSTEM_CODE, USER


async def main(base_url: str, instant: datetime, attempts: int) -> dict[str, int]:
    out = {"ok": 0, "throttled": 0}
    for _ in range(attempts):
        reset_sessions()
        adapter = HuaweiAdapter(
            {"userName": USER, "systemCode": SYSTEM_CODE}, base_url=base_url, clock=lambda: instant
        )
        try:
            async with adapter:
                await adapter.test_credentials()
            out["ok"] += 1
        except Throttled:
            out["throttled"] += 1
    return out


if __name__ == "__main__":
    url, moment, count, start_at = (
        sys.argv[1],
        datetime.fromisoformat(sys.argv[2]),
        int(sys.argv[3]),
        float(sys.argv[4]),
    )
    time.sleep(max(0.0, start_at - time.time()))  # both workers start together
    print(json.dumps(asyncio.run(main(url, moment, count))))
