"""Misconfiguration a new user meets (issue 12): each is one stderr line naming the problem, exit 2, fast."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import local_redis
from tests.pipelet_process import free_port, pipelet

ROOT = Path(__file__).resolve().parents[3]


def assert_one_line(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith(message), result.stderr


@pytest.fixture
def k1_input(tmp_path: Path) -> Path:
    sample = pipelet("tax", "sample-input")
    assert sample.returncode == 0, sample.stderr
    path = tmp_path / "return.json"
    path.write_text(sample.stdout)
    return path


def test_k1_out_naming_an_existing_file(k1_input: Path, tmp_path: Path) -> None:
    existing = tmp_path / "already-here.pdf"
    existing.write_text("keep me")
    result = pipelet("tax", "k1", "--input", str(k1_input), "--out", str(existing))
    assert_one_line(result, f"error: out: {existing} exists and is not a directory")
    assert existing.read_text() == "keep me"


def test_k1_out_that_cannot_be_created(k1_input: Path) -> None:
    result = pipelet("tax", "k1", "--input", str(k1_input), "--out", "/proc/nope")
    assert_one_line(result, "error: out: cannot create directory /proc/nope:")


def test_a_refused_k1_leaves_no_empty_out_directory(tmp_path: Path) -> None:
    out = tmp_path / "k1s"
    result = pipelet("tax", "k1", "--input", str(tmp_path / "missing.json"), "--out", str(out))
    assert_one_line(result, f"error: input: {tmp_path / 'missing.json'} does not exist")
    assert not out.exists()


def test_worker_with_unreachable_redis_fails_at_once() -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    started = time.monotonic()
    result = pipelet("worker", env={"REDIS_URL": url})
    assert_one_line(result, "error: REDIS_URL: cannot reach redis://:***@127.0.0.1:")
    assert "hunter2" not in result.stderr
    assert time.monotonic() - started < 30, "no minute of retries"


@pytest.mark.parametrize("variable", ["CSMS_PORT", "WEB_PORT"])
@pytest.mark.parametrize("value", ["70000", "0"])
def test_ports_out_of_range_are_named(variable: str, value: str) -> None:
    result = pipelet("csms", env={variable: value})
    assert_one_line(result, f"error: {variable}: {value} is not a TCP port (1-65535)")


@pytest.mark.parametrize("variable", ["CSMS_TLS_CERT", "CSMS_TLS_KEY"])
def test_missing_tls_file_is_named(tmp_path: Path, variable: str) -> None:
    missing = tmp_path / "nonexistent.pem"
    result = pipelet("csms", env={variable: str(missing)})
    assert_one_line(result, f"error: {variable}: {missing} does not exist")


def test_csms_script_names_a_bad_setting_too() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "csms_server.py")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CSMS_TLS_CERT": "/nonexistent.pem"},
        cwd=ROOT,
    )
    assert_one_line(result, "csms: CSMS_TLS_CERT: /nonexistent.pem does not exist")


def test_a_relative_sqlite_path_does_not_follow_the_working_directory(tmp_path: Path) -> None:
    """Run elsewhere, the default database is the project's, not a new empty file where it was run."""
    code = "from pipelet_app.settings import get_settings; print(get_settings().database_url)"
    env = {**os.environ, "DATABASE_URL": "sqlite:///pipelet.db", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"sqlite:///{ROOT / 'pipelet.db'}"
    assert not (tmp_path / "pipelet.db").exists()


def test_worker_without_secret_key_refuses_to_start() -> None:
    result = pipelet("worker", env={"REDIS_URL": local_redis.url(0), "PIPELET_SECRET_KEY": ""})
    assert_one_line(result, "error: PIPELET_SECRET_KEY: not set")


def test_csms_without_secret_key_refuses_to_start() -> None:
    """No key, no start: the loopback command token derives from it and there is no fallback constant."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "csms_server.py"), "--no-migrate"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PIPELET_SECRET_KEY": ""},
        cwd=ROOT,
    )
    assert_one_line(result, "csms: PIPELET_SECRET_KEY: not set")
