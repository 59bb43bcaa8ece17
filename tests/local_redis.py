"""The machine's Redis (127.0.0.1:6379) for the tests that need a real one, shared safely by the parallel
workers of one run (pytest-xdist, scripts/test.sh).

A test names the database it would use if it ran alone (`url(13)`), a number of its own where leftover
keys must not reach another test (a queue's jobs, arq's job ids). Run alone, the name is the database.
Under xdist each worker takes a block of Redis's 16 databases of its own and the names fold into it
(`name % block`): tests on different workers never share a database; tests on the same worker run one
after another and delete what they wrote, as they do when they run alone.
"""

from __future__ import annotations

import os

HOST = "redis://127.0.0.1:6379"
DATABASES = 16  # Redis's default `databases`


def database(name: int) -> int:
    """The database a test that names `name` (0-15) uses in this process."""
    assert 0 <= name < DATABASES, name
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1", ... under xdist, else unset
    if not worker:
        return name
    count = int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    if count > DATABASES:
        raise RuntimeError(f"{count} xdist workers but the machine's Redis has only {DATABASES} databases")
    block = DATABASES // count
    return int(worker.removeprefix("gw")) * block + name % block


def url(name: int) -> str:
    """`redis://127.0.0.1:6379/<database(name)>`."""
    return f"{HOST}/{database(name)}"
