"""Time from `pipelet run` to the first page served, cold (fresh checkout, first build) and warm.

Side by side in the same run: a blank Reflex app started the same way (production, single port), so the
ratio says what Pipelet adds on top of Reflex itself. Machines here are noisy: read the ratios.

    .venv/bin/python benchmarks/startup/run.py            # cold + warm, Pipelet and baseline
    .venv/bin/python benchmarks/startup/run.py --smoke    # one warm start of Pipelet only
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


def timed_start(cmd: list[str], cwd: Path, env: dict[str, str], url_path: str, port: int) -> float:
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_page(f"http://localhost:{port}{url_path}", proc)
        return time.monotonic() - started
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


def measure(smoke: bool) -> dict:
    base_env = {**os.environ, "REFLEX_USE_SYSTEM_BUN": "1", "REFLEX_TELEMETRY_ENABLED": "false"}
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        clone = pipelet_checkout(workdir)
        port = free_port()
        env = {
            **base_env,
            "PYTHONPATH": str(clone),
            "WEB_PORT": str(port),
            "CSMS_PORT": str(free_port()),
            "DATABASE_URL": f"sqlite:///{workdir / 'pipelet.db'}",
            "PIPELET_SECRET_KEY": "bench",
        }
        cmd = [PYTHON, "-m", "pipelet_app.cli.main", "run"]
        runs = ["warm"] if smoke else ["cold", "warm"]
        if smoke:  # a warm start needs one build first; the smoke reuses the repo's own .web when present
            timed_start(cmd, clone, env, "/login", port)
        for label in runs:
            results[f"pipelet_{label}_s"] = timed_start(cmd, clone, env, "/login", port)
        if not smoke:
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
                results[f"blank_reflex_{label}_s"] = timed_start(bcmd, app, base_env, "/", bport)
            for label in runs:
                results[f"ratio_{label}"] = results[f"pipelet_{label}_s"] / results[f"blank_reflex_{label}_s"]
    return {name: round(value, 2) for name, value in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="one warm start of Pipelet only")
    args = parser.parse_args()
    print(json.dumps(measure(args.smoke), indent=2))


if __name__ == "__main__":
    main()
