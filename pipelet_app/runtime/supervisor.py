"""Keep the embedded deployment's processes alive: each in its own process group, restarted when it dies.

Why a supervisor rather than "stop everything when one child exits": the web app and the CSMS are
independent for a charger (its socket, Heartbeats and transactions need only the CSMS and the database),
so a crashed web worker must not take every charger offline, and a crashed CSMS must come back without a
person. Each program is restarted with exponential back-off (1 s, 2 s, 4 s ... capped), reset once it
has stayed up for a while, and every exit and restart is logged. Ctrl-C (SIGINT/SIGTERM to `pipelet run`)
stops them all: SIGTERM to each group, SIGKILL to what is left after a grace period.

To add a process to `pipelet run` (an MQTT broker, a worker), build a `Program` and `add` it; nothing
else changes. Production deployments use systemd or compose instead (see docs/deployment.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("pipelet.supervisor")

PR_SET_PDEATHSIG = 1


@dataclass
class Program:
    """One supervised process. `ready` (optional) answers whether it serves yet; it is polled after
    each start until it does, so the log says when the program is back, not only that it was started.
    `restart_argv` (optional) replaces `argv` after the program died: a restart follows a crash and may
    skip the start's one-off work (the web app's front-end build)."""

    name: str
    argv: Sequence[str]
    restart_argv: Sequence[str] | None = None
    env: dict[str, str] | None = None
    cwd: Path | None = None
    ready: Callable[[], bool] | None = None
    on_ready: Callable[[Program], None] | None = None


@dataclass
class _Child:
    program: Program
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0  # restarts since the last stable run: the back-off exponent
    restart_at: float | None = None  # when a dead child is due to start again
    is_ready: bool = False
    history: list[int] = field(default_factory=list)  # exit statuses, oldest first


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the supervisor itself is killed (Linux), so a `kill -9`
    of `pipelet run` does not leave a CSMS holding the port."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def describe_exit(status: int) -> str:
    if status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exited with status {status}"


class Supervisor:
    """Start programs, restart the ones that die, stop them all. Not thread-safe: one caller loop."""

    def __init__(
        self,
        *,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 30.0,
        stable_after_s: float = 60.0,
        stop_grace_s: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        self.stable_after_s = stable_after_s
        self.stop_grace_s = stop_grace_s
        self.clock = clock
        self._children: dict[str, _Child] = {}

    def add(self, program: Program) -> None:
        if program.name in self._children:
            raise ValueError(f"program {program.name!r} is already supervised")
        self._children[program.name] = _Child(program)

    @property
    def names(self) -> list[str]:
        return list(self._children)

    def pid(self, name: str) -> int | None:
        proc = self._children[name].proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def restarts(self, name: str) -> int:
        """Exits seen for `name` since it was first started (each one led to a restart)."""
        return len(self._children[name].history)

    def start(self) -> None:
        for child in self._children.values():
            self._spawn(child)

    def _spawn(self, child: _Child) -> None:
        program = child.program
        child.started_at = self.clock()
        child.restart_at = None
        child.is_ready = False
        argv = program.restart_argv if child.history and program.restart_argv else program.argv
        try:
            child.proc = subprocess.Popen(
                list(argv),
                env=program.env,
                cwd=program.cwd,
                start_new_session=True,  # its own process group: stopped and cleaned up as a whole
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        except OSError as exc:  # not there, not executable: try again with back-off, as if it had died
            child.restarts += 1
            child.history.append(127)
            delay = self.backoff_s(child.restarts)
            child.restart_at = child.started_at + delay
            log.error("%s could not start (%s); trying again in %.1f s", program.name, exc, delay)
            return
        log.info("%s started (pid %s)", program.name, child.proc.pid)

    def backoff_s(self, restarts: int) -> float:
        """Delay before restart number `restarts` (1-based) of a program that keeps dying."""
        return min(self.backoff_initial_s * 2 ** max(restarts - 1, 0), self.backoff_max_s)

    def poll(self) -> None:
        """One supervision step: notice exits, schedule and perform restarts, report readiness."""
        now = self.clock()
        for child in self._children.values():
            proc = child.proc
            if proc is not None and (status := proc.poll()) is not None:
                self._reap_group(proc.pid)
                child.history.append(status)
                child.proc = None
                if now - child.started_at >= self.stable_after_s:
                    child.restarts = 0  # it ran well for a while: this is a fresh failure, not a loop
                child.restarts += 1
                delay = self.backoff_s(child.restarts)
                child.restart_at = now + delay
                log.warning(
                    "%s %s after %.1f s; restarting in %.1f s (restart %d in a row)",
                    child.program.name,
                    describe_exit(status),
                    now - child.started_at,
                    delay,
                    child.restarts,
                )
            elif proc is None and child.restart_at is not None and now >= child.restart_at:
                self._spawn(child)
            elif proc is not None and not child.is_ready and child.program.ready is not None:
                self._check_ready(child, now)

    @staticmethod
    def _check_ready(child: _Child, now: float) -> None:
        program = child.program
        if program.ready is not None and program.ready():
            child.is_ready = True
            log.info("%s is ready (%.1f s after start)", program.name, now - child.started_at)
            if program.on_ready is not None:
                program.on_ready(program)

    def run(self, should_stop: Callable[[], bool], tick_s: float = 0.5) -> None:
        """Start everything and supervise until `should_stop()`; then stop everything."""
        try:
            self.start()
            while not should_stop():
                self.poll()
                time.sleep(tick_s)
        finally:
            self.stop()

    @staticmethod
    def _reap_group(pgid: int) -> None:
        """A dead leader can leave members behind (Granian's worker, a bun process): kill the group, so
        the restarted program finds its port free."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM every program's group, wait up to the grace period, SIGKILL what is left."""
        running = [c for c in self._children.values() if c.proc is not None]
        for child in running:
            child.restart_at = None
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.proc.pid, signal.SIGTERM)  # type: ignore[union-attr]
        deadline = time.monotonic() + self.stop_grace_s
        for child in running:
            proc = child.proc
            assert proc is not None
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s: killing it", child.program.name, self.stop_grace_s)
            self._reap_group(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
            how = "still running" if proc.returncode is None else describe_exit(proc.returncode)
            log.info("%s stopped (%s)", child.program.name, how)
            child.proc = None
        for child in self._children.values():
            child.restart_at = None
