"""`pipelet run` as a user starts it, for the browser suite, the resilience tests and the benchmarks
that measure the embedded deployment: one launcher, so all of them start, wait for and stop it alike;
and `pipelet` as a user runs a command of it, for the tests that read its exit code and output."""

from __future__ import annotations

import fcntl
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# Ports handed out below the kernel's ephemeral range (32768+), so no outgoing connection takes one
# between our choice and the server's bind.
_PORTS = range(20000, 32000)
_PORT_LOCKS = Path(os.environ.get("TMPDIR", "/tmp")) / "pipelet-test-ports"
_held: list[int] = []  # lock files' descriptors, held until this process exits


def free_port() -> int:
    """A loopback port nothing listens on, reserved for this process until it exits.

    The kernel's `bind(0)` choice was not enough: parallel test workers (and other checkouts' test
    runs on the same machine) were handed the same port, and a test then talked to another worker's
    CSMS ("unknown charge point", CI of session 12). A lock file per port, taken with `flock`,
    makes the choice exclusive across processes; the kernel drops the lock when the process dies."""
    _PORT_LOCKS.mkdir(exist_ok=True)
    # scripts/test.sh picks the shared web port in a process that has exited since: never hand it out
    shared = int(os.environ.get("PIPELET_RUN_WEB_PORT") or 0)
    start = random.randrange(len(_PORTS))
    for i in range(len(_PORTS)):
        port = _PORTS[(start + i) % len(_PORTS)]
        if port == shared:
            continue
        fd = os.open(_PORT_LOCKS / str(port), os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # something outside our tests listens there
                os.close(fd)
                continue
        _held.append(fd)
        return port
    raise RuntimeError(f"no free port left in {_PORTS}")


def pipelet(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """One `pipelet` command in a process of its own, from the repository root, with this environment
    plus `env`; its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "pipelet_app.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def wait_for(url: str, timeout: float, proc: subprocess.Popen) -> None:
    """Until `url` answers 200; fails at once when the process died, naming its exit code."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"pipelet run exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def stop(proc: subprocess.Popen, grace_s: float = 30) -> None:
    """Ctrl-C to the whole process group (as a terminal would), then SIGKILL after `grace_s`."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def running_pipelet(workdir: Path, env: dict[str, str] | None = None) -> Iterator[dict]:
    """`pipelet run` on a fresh SQLite database in `workdir`, demo seeded; yields where it listens.

    Yields `base` (web + API), `csms` (ws:// URL), `csms_port`, `demo` (`seed-demo --json`: logins,
    charge points with passwords), `env`, `proc` and `log` (its combined output). `env` adds to or
    overrides the defaults (e.g. `REFLEX_WEB_WORKDIR` for a front end of its own, `WEB_PORT` to start
    twice on the same port). Without `WEB_PORT` there, the port is PIPELET_RUN_WEB_PORT when set, else a
    free one: the build bakes the port in, so starts that share one port (scripts/test.sh's benchmark
    smoke runs) share one front-end build instead of building one each.
    """
    env = env or {}
    web_port = int(env.get("WEB_PORT") or os.environ.get("PIPELET_RUN_WEB_PORT") or free_port())
    csms_port = int(env.get("CSMS_PORT") or free_port())
    full_env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{workdir / 'pipelet.db'}",
        "PIPELET_SECRET_KEY": f"test-secret-{workdir.name}",
        "WEB_PORT": str(web_port),
        "CSMS_PORT": str(csms_port),
        "REFLEX_USE_SYSTEM_BUN": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
        **env,
    }
    log_path = workdir / "pipelet-run.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipelet_app.cli.main", "run"],
            cwd=ROOT,
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://localhost:{web_port}"
        try:
            wait_for(f"{base}/api/v1/health", 900, proc)  # a first front-end build takes minutes
            wait_for(f"{base}/login", 120, proc)
            seeded = subprocess.run(
                [sys.executable, "-m", "pipelet_app.cli.main", "seed-demo", "--json"],
                cwd=ROOT, env=full_env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            yield {
                "base": base,
                "csms": f"ws://127.0.0.1:{csms_port}",
                "csms_port": csms_port,
                "demo": json.loads(seeded.stdout),
                "env": full_env,
                "proc": proc,
                "log": log_path,
            }
        finally:
            stop(proc)
