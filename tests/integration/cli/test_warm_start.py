"""`pipelet run` twice on the same checkout: the second start serves the first one's front-end build
(not one file of it rewritten) and says so; the first one built it. Real command, real build: the
fingerprint itself is tested on a copy of the sources in tests/unit/runtime/test_web_start.py."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from tests.pipelet_process import free_port, running_pipelet


def _files(build: Path) -> dict[str, int]:
    return {str(p.relative_to(build)): p.stat().st_mtime_ns for p in build.rglob("*") if p.is_file()}


def test_a_second_start_reuses_the_front_end_build(tmp_path: Path) -> None:
    web_dir = tmp_path / ".web"
    # the build bakes the port into the pages: the same ports for both starts, as `make run` has
    env = {"REFLEX_WEB_WORKDIR": str(web_dir), "WEB_PORT": str(free_port()), "CSMS_PORT": str(free_port())}
    with running_pipelet(tmp_path, env) as first:
        first_log = first["log"].read_text()
    built = _files(web_dir / "build")
    assert "front end: building" in first_log and "reusing the build" not in first_log
    assert "pipelet-fingerprint" in built and any(name.startswith("client/") for name in built)

    with running_pipelet(tmp_path, env) as second:
        with urllib.request.urlopen(f"{second['base']}/login", timeout=10) as response:
            assert b"<html" in response.read(4096).lower()
        second_log = second["log"].read_text()
    assert "front end: reusing the build" in second_log and "front end: building" not in second_log
    assert _files(web_dir / "build") == built  # the build step never ran: every file as the first left it
