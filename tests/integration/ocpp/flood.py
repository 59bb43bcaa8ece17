"""A password guesser in its own process (as an attacker would be on another machine), so a test
measures the CSMS under a flood rather than the flood's own handshakes on the test's event loop.

    python flood.py WS_URL N ID_PREFIX IDS  ->  prints {"401": n, ...} once every guess was answered

Each of N guesses tries `ID_PREFIX{i % IDS}` with a wrong password; told "busy" (503) it comes back
after 50 ms until its password was really checked, like a persistent attacker.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import json
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus


async def guess(url: str, cp_id: str, password: str) -> int:
    token = base64.b64encode(f"{cp_id}:{password}".encode()).decode()
    while True:
        try:
            async with connect(
                f"{url}/ocpp/{cp_id}",
                subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                additional_headers={"Authorization": f"Basic {token}"},
                open_timeout=60,
            ):
                return 101
        except InvalidStatus as exc:
            if exc.response.status_code != 503:
                return exc.response.status_code
        await asyncio.sleep(0.05)


async def main(url: str, n: int, prefix: str, ids: int) -> None:
    statuses = await asyncio.gather(*(guess(url, f"{prefix}{i % ids}", f"guess-{i}") for i in range(n)))
    print(json.dumps(collections.Counter(str(s) for s in statuses)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
