"""Runs a module the way `python -m` does, at the instant the parent test is at.

A subprocess does not share the test process's time travel (tests/conftest.py `_test_now`): a test that
starts one at PIPELET_TEST_NOW runs `python -m tests.at_test_now MODULE ARGS...` with `travel_env()`,
and the child starts at the parent's current instant and ticks on from there.
"""

from __future__ import annotations

import os
import runpy
import sys
from datetime import datetime

from pipelet_app.clock import utcnow


def travel_env() -> dict[str, str]:
    """The environment entry that puts a child at this process's "now" (none outside the date pass)."""
    return {"PIPELET_TEST_NOW": utcnow().isoformat()} if os.environ.get("PIPELET_TEST_NOW") else {}


def main() -> None:
    if now := os.environ.get("PIPELET_TEST_NOW"):
        import time_machine

        time_machine.travel(datetime.fromisoformat(now), tick=True).start()
    module, sys.argv = sys.argv[1], sys.argv[1:]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
