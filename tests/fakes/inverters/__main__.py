"""Run fake inverter clouds as standalone servers, for browser tests and demos.

    python -m tests.fakes.inverters enphase solaredge [--sessions 5]

Prints one JSON line: per brand its ``base_url`` (set ``<BRAND>_API_BASE`` to it), the credentials that
work, and for Enphase the app settings (``ENPHASE_API_KEY``/``_CLIENT_ID``/``_CLIENT_SECRET``). Each fake's
wallbox gets ``--sessions`` past charging sessions. Runs until interrupted.
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.inverters import HARNESSES


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.inverters")
    parser.add_argument("brands", nargs="*", default=sorted(HARNESSES), help="brands to serve (default: all)")
    parser.add_argument("--sessions", type=int, default=3, help="past sessions on each fake wallbox")
    args = parser.parse_args(argv)
    out: dict[str, Any] = {}
    fakes = []
    for brand in args.brands:
        harness = HARNESSES[brand]
        fake = harness.make_fake().start()
        fakes.append(fake)
        wallbox = harness.wallbox(fake)
        # history that ends about now, then the fake follows the wall clock like the app under test
        start = datetime.now(UTC) - timedelta(hours=6 * args.sessions + 1)
        fake.clock.set(start)
        wallbox.readings[:] = [(start.timestamp(), wallbox.lifetime_wh)]
        for i in range(args.sessions):
            wallbox.charge(minutes=60 + 15 * i, power_w=7_400)
            wallbox.advance(5 * 3600)
        fake.clock.follow_real_time()
        out[brand] = {"base_url": fake.base_url, "credentials": harness.good_credentials(fake)}
        if brand == "enphase":
            from tests.fakes.inverters import enphase

            out[brand]["settings"] = {
                "ENPHASE_API_KEY": enphase.API_KEY,
                "ENPHASE_CLIENT_ID": enphase.CLIENT_ID,
                "ENPHASE_CLIENT_SECRET": enphase.CLIENT_SECRET,
            }
    print(json.dumps(out), flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for fake in fakes:
            fake.stop()


if __name__ == "__main__":
    main()
