"""Time from `pipelet run` to "Ready" (the first page served), cold (fresh checkout, first build) and warm,
and from a kill -9 of the supervised web process to its first page again (the supervisor's restart).

Side by side in the same run: a blank Reflex app started the same way (production, single port), so the
ratio says what Pipelet adds on top of Reflex itself. Machines here are noisy: read the ratios.

    .venv/bin/python benchmarks/startup/run.py            # cold + warm + restart, Pipelet and baseline
    .venv/bin/python benchmarks/startup/run.py --no-baseline   # Pipelet only
    .venv/bin/python benchmarks/startup/run.py --smoke    # one warm start of this checkout's Pipelet only

The smoke starts this checkout (not a clone) on PIPELET_RUN_WEB_PORT when set (scripts/test.sh), so it
serves the front end the browser suite and the other smokes built; when that start had to build, it is
not counted and a second start is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_page(url: str, proc: subprocess.Popen, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200 and b"<html" in response.read(2048).lower():
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(url)


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the direct children of `pid`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if ppid == pid:
                found.append((int(entry.name), cmdline))
    return found


def supervised_restart_s(proc: subprocess.Popen, url: str) -> float:
    """kill -9 of `pipelet run`'s web child; seconds until `url` serves a page again."""
    (web,) = [pid for pid, cmd in children(proc.pid) if "web_start" in cmd or "reflex run" in cmd]
    os.kill(web, signal.SIGKILL)
    killed = time.monotonic()
    while any(pid == web for pid, _ in children(proc.pid)) or page_answers(url):
        time.sleep(0.05)  # until the supervisor has reaped it and its port is closed
    wait_page(url, proc)
    return time.monotonic() - killed


def page_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def timed_start(
    cmd: list[str],
    cwd: Path,
    env: dict[str, str],
    url_path: str,
    port: int,
    restart: bool = False,
    log: Path | None = None,
) -> tuple[float, float | None]:
    """(seconds to the first page, seconds the supervised web restart took when `restart`); the process's
    output goes to `log` when given."""
    started = time.monotonic()
    with open(log or os.devnull, "w") as out:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://localhost:{port}{url_path}"
    try:
        wait_page(url, proc)
        took = time.monotonic() - started
        return took, supervised_restart_s(proc, url) if restart else None
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def pipelet_checkout(workdir: Path) -> Path:
    clone = workdir / "pipelet"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    return clone


def baseline_app(workdir: Path, env: dict[str, str]) -> Path:
    app = workdir / "blank"
    app.mkdir()
    subprocess.run(
        [PYTHON, "-m", "reflex", "init", "--template", "blank", "--loglevel", "error"],
        cwd=app,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    shutil.rmtree(app / ".web", ignore_errors=True)
    return app


PIPELET_RUN = [PYTHON, "-m", "pipelet_app.cli.main", "run"]


def pipelet_env(base_env: dict[str, str], checkout: Path, workdir: Path, web_port: int) -> dict[str, str]:
    """`pipelet run` of `checkout` on `web_port`, a CSMS port of its own and a database in `workdir`."""
    return {
        **base_env,
        "PYTHONPATH": str(checkout),
        "WEB_PORT": str(web_port),
        "CSMS_PORT": str(free_port()),
        "DATABASE_URL": f"sqlite:///{workdir / 'pipelet.db'}",
        "PIPELET_SECRET_KEY": "bench",
    }


def smoke_warm_start(workdir: Path, base_env: dict[str, str]) -> float:
    """Seconds to the first page of a warm start of this checkout (its own .web): the first start when
    the build there matches, else the one after it."""
    port = int(os.environ.get("PIPELET_RUN_WEB_PORT") or free_port())
    env = pipelet_env(base_env, ROOT, workdir, port)
    log = workdir / "first-start.log"
    took, _ = timed_start(PIPELET_RUN, ROOT, env, "/login", port, log=log)
    if "front end: reusing the build" in log.read_text():
        return took
    took, _ = timed_start(PIPELET_RUN, ROOT, env, "/login", port, log=workdir / "warm-start.log")
    if "front end: reusing the build" not in (workdir / "warm-start.log").read_text():
        raise RuntimeError("the second start built the front end again: the warm start is broken")
    return took


def measure(smoke: bool, baseline: bool = True) -> dict:
    base_env = {**os.environ, "REFLEX_USE_SYSTEM_BUN": "1", "REFLEX_TELEMETRY_ENABLED": "false"}
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if smoke:
            return {"pipelet_warm_s": round(smoke_warm_start(workdir, base_env), 2)}
        clone = pipelet_checkout(workdir)
        port = free_port()
        env = pipelet_env(base_env, clone, workdir, port)
        runs = ["cold", "warm"]
        for label in runs:
            took, restart = timed_start(PIPELET_RUN, clone, env, "/login", port, restart=True)
            results[f"pipelet_{label}_s"] = took
            if restart is not None:
                results[f"pipelet_{label}_web_restart_s"] = restart
        if baseline:
            app = baseline_app(workdir, base_env)
            bport = free_port()
            bcmd = [
                PYTHON,
                "-m",
                "reflex",
                "run",
                "--env",
                "prod",
                "--single-port",
                "--frontend-port",
                str(bport),
                "--backend-port",
                str(bport),
                "--loglevel",
                "error",
            ]
            for label in runs:
                results[f"blank_reflex_{label}_s"] = timed_start(bcmd, app, base_env, "/", bport)[0]
            for label in runs:
                results[f"ratio_{label}"] = results[f"pipelet_{label}_s"] / results[f"blank_reflex_{label}_s"]
    return {name: round(value, 2) for name, value in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="one warm start of Pipelet only")
    parser.add_argument("--no-baseline", action="store_true", help="skip the blank Reflex app")
    args = parser.parse_args()
    print(json.dumps(measure(args.smoke, baseline=not args.no_baseline), indent=2))


if __name__ == "__main__":
    main()
