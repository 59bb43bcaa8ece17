"""The supervisor with real child processes: a killed program comes back with growing back-off, the
others are untouched, a stable run resets the back-off, and stop ends every process group."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelet_app.runtime.supervisor import Program, Supervisor, describe_exit

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is dead for our purposes.
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split(")")[-1].split()[0] != "Z"


def _until(condition, timeout: float = 10.0, supervisor: Supervisor | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        if supervisor is not None:
            supervisor.poll()
        time.sleep(0.02)


def _pid_in(pidfile: Path) -> int:
    """The pid a program wrote to `pidfile`, once it has."""
    _until(lambda: pidfile.exists() and pidfile.read_text().strip() != "")
    return int(pidfile.read_text())


def _sleeper_writing_its_pid(pidfile: Path) -> str:
    """Python code for a child that writes its own pid to `pidfile`, then sleeps."""
    return f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(600)"


def _parent_writing_its_childs_pid(pidfile: Path) -> str:
    """Python code for a program that starts a sleeper, writes the sleeper's pid to `pidfile`, then sleeps:
    the sleeper is what a process-group kill must reach."""
    return (
        "import subprocess, time\n"
        f"child = subprocess.Popen({SLEEPER!r})\n"
        f"open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(600)\n"
    )


@pytest.fixture
def supervisor() -> Supervisor:
    sup = Supervisor(backoff_initial_s=0.2, backoff_max_s=0.8, stable_after_s=1.5, stop_grace_s=3)
    yield sup
    sup.stop()


def test_a_killed_program_is_restarted_and_the_other_keeps_running(
    supervisor: Supervisor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "pipelet.supervisor")
    supervisor.add(Program("web", SLEEPER))
    supervisor.add(Program("csms", SLEEPER))
    supervisor.start()
    web, csms = supervisor.pid("web"), supervisor.pid("csms")
    assert web and csms and web != csms

    os.kill(web, signal.SIGKILL)
    _until(lambda: supervisor.pid("web") not in (None, web), supervisor=supervisor)
    assert supervisor.pid("csms") == csms and _alive(csms)  # untouched
    assert supervisor.restarts("web") == 1 and supervisor.restarts("csms") == 0
    assert "web killed by SIGKILL" in caplog.text and "restarting in 0.2 s" in caplog.text


def test_back_off_grows_while_it_keeps_dying_and_resets_after_a_stable_run(
    supervisor: Supervisor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "pipelet.supervisor")
    supervisor.add(Program("crasher", [sys.executable, "-c", "raise SystemExit(3)"]))
    supervisor.start()
    _until(lambda: supervisor.restarts("crasher") >= 4, timeout=20, supervisor=supervisor)
    delays = [
        r.getMessage().split("restarting in ")[1].split(" s")[0]
        for r in caplog.records
        if "restarting" in r.getMessage()
    ]
    assert delays[:4] == ["0.2", "0.4", "0.8", "0.8"]  # doubling, capped
    assert "crasher exited with status 3" in caplog.text

    assert supervisor.backoff_s(1) == 0.2
    stable = Supervisor(backoff_initial_s=0.2, backoff_max_s=0.8, stable_after_s=0.3)
    stable.add(Program("sleepy", [sys.executable, "-c", "import time; time.sleep(0.6); raise SystemExit(1)"]))
    stable.start()
    try:
        _until(lambda: stable.restarts("sleepy") >= 2, timeout=20, supervisor=stable)
        delays = [
            r.getMessage()
            for r in caplog.records
            if "sleepy" in r.getMessage() and "restarting" in r.getMessage()
        ]
        # Each run outlived `stable_after_s`, so every restart is the first of a series: no growth.
        assert all("restarting in 0.2 s (restart 1 in a row)" in line for line in delays)
    finally:
        stable.stop()


def test_stop_ends_every_process_group_including_grandchildren(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    pidfile = tmp_path / "grandchild.pid"
    parent = _parent_writing_its_childs_pid(pidfile)
    supervisor.add(Program("tree", [sys.executable, "-c", parent]))
    supervisor.start()
    grandchild, leader = _pid_in(pidfile), supervisor.pid("tree")
    assert leader is not None
    started = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - started < 5
    _until(lambda: not _alive(grandchild) and not _alive(leader))
    supervisor.poll()
    assert supervisor.pid("tree") is None  # stopped, not restarted


def test_a_dead_leaders_leftovers_are_killed_before_the_restart(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    """Granian's worker outliving a killed `reflex run` would hold the port: the group goes with it."""
    pidfile = tmp_path / "worker.pid"
    parent = _parent_writing_its_childs_pid(pidfile)
    supervisor.add(Program("web", [sys.executable, "-c", parent]))
    supervisor.start()
    worker = _pid_in(pidfile)
    pidfile.unlink()
    os.kill(supervisor.pid("web") or 0, signal.SIGKILL)
    _until(lambda: not _alive(worker), supervisor=supervisor)
    _until(lambda: pidfile.exists(), supervisor=supervisor)  # the restarted program is up again


def test_the_run_loop_stops_everything_on_sigint(tmp_path: Path) -> None:
    """`Supervisor.run` as `pipelet run` uses it: SIGINT to its process stops the children (no orphans)."""
    pidfile = tmp_path / "child.pid"
    child_code = _sleeper_writing_its_pid(pidfile)
    script = (
        "import signal, sys\n"
        "from pipelet_app.runtime.supervisor import Program, Supervisor\n"
        "stopping = []\n"
        "signal.signal(signal.SIGINT, lambda *_: stopping.append(1))\n"
        f"prog = Program('x', [sys.executable, '-c', {child_code!r}])\n"
        "sup = Supervisor(); sup.add(prog); sup.run(lambda: bool(stopping), tick_s=0.05)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ})
    try:
        child = _pid_in(pidfile)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0
        _until(lambda: not _alive(child))
    finally:
        if proc.poll() is None:
            proc.kill()


def test_exit_descriptions() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(0) == "exited with status 0"
    assert describe_exit(2) == "exited with status 2"


def test_children_go_when_the_supervisor_itself_is_killed(tmp_path: Path) -> None:
    """kill -9 of `pipelet run` cannot stop its children politely; PR_SET_PDEATHSIG does (Linux)."""
    pidfile = tmp_path / "child.pid"
    child_code = _sleeper_writing_its_pid(pidfile)
    script = (
        "import sys, time\n"
        "from pipelet_app.runtime.supervisor import Program, Supervisor\n"
        f"sup = Supervisor(); sup.add(Program('x', [sys.executable, '-c', {child_code!r}])); sup.start()\n"
        "time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ})
    try:
        child = _pid_in(pidfile)
        proc.kill()
        proc.wait(10)
        _until(lambda: not _alive(child))
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_program_that_cannot_start_is_retried_and_does_not_stop_the_others(
    supervisor: Supervisor, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "pipelet.supervisor")
    missing = tmp_path / "not-yet-installed"
    supervisor.add(Program("broker", [str(missing)]))
    supervisor.add(Program("csms", SLEEPER))
    supervisor.start()
    assert supervisor.pid("broker") is None and supervisor.pid("csms") is not None
    assert "broker could not start" in caplog.text
    missing.write_text(f"#!/bin/sh\nexec {sys.executable} -c 'import time; time.sleep(600)'\n")
    missing.chmod(0o755)
    _until(lambda: supervisor.pid("broker") is not None, supervisor=supervisor)
