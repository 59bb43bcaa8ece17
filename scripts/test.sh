#!/usr/bin/env bash
# The whole test suite: lint, unit + integration (SQLite and PostgreSQL), then the browser suite.
# The browser suite runs as its own pytest invocation: pytest-playwright's event loop breaks
# pytest-asyncio tests in the same process.
set -uo pipefail
cd "$(dirname "$0")/.."
export REFLEX_USE_SYSTEM_BUN=1 REFLEX_TELEMETRY_ENABLED=false
status=0
mkdir -p out

echo "== ruff"
.venv/bin/ruff check . || status=1
.venv/bin/lint-imports || status=1

# Unit + integration run on parallel workers (pytest-xdist), a test file at a time per worker (its module
# fixtures and order stay together). Most of their time is waiting (sockets, subprocesses, PostgreSQL), so
# twice as many workers as cores; PYTEST_WORKERS=N sets it (0: no workers, all in this process). Workers
# keep apart: a PostgreSQL database and temp dirs each (tests/conftest.py), Redis databases each
# (tests/local_redis.py), random MQTT site ids. Tests marked `timing` measure latency under a load they
# make themselves, so they run after, alone.
workers=${PYTEST_WORKERS:-$((2 * $(nproc)))}
[ "$workers" -le 8 ] || workers=8
parallel=(-n "$workers" --dist loadfile)

echo "== unit + integration ($workers workers)"
.venv/bin/pytest -p no:playwright tests/unit tests/integration -q "${parallel[@]}" -m "not timing" "$@" || status=1

echo "== timing: the tests that bound a latency under load, alone"
.venv/bin/pytest -p no:playwright tests/unit tests/integration -q -m timing "$@"
rc=$?
[ $rc -eq 0 ] || [ $rc -eq 5 ] || status=1  # 5: none selected (arguments that pick other tests)

echo "== dates: the \`dates\` tests again at each awkward instant, on SQLite (docs/time.md)"
PIPELET_TEST_NOW=awkward .venv/bin/pytest -p no:playwright tests/unit tests/integration -m "dates and not postgres" -q \
  "${parallel[@]}" "$@" || status=1

# One web port for the browser suite's server and every smoke that starts `pipelet run`
# (tests/pipelet_process.py): the build bakes the port in, so the smokes serve the suite's front-end build
# as it is instead of building the checkout's .web again.
PIPELET_RUN_WEB_PORT=$(.venv/bin/python -c 'from tests.pipelet_process import free_port; print(free_port())')
export PIPELET_RUN_WEB_PORT

echo "== browser (Playwright on Debian's Chromium)"
.venv/bin/pytest tests/e2e -q "$@" || status=1

echo "== benchmark smoke runs (each benchmark's --smoke: a short run that proves it still works)"
for bench in benchmarks/*/run.py; do
  echo "-- $bench --smoke"
  timeout 600 .venv/bin/python "$bench" --smoke > "out/smoke-$(basename "$(dirname "$bench")").log" 2>&1 \
    || { echo "FAILED: $bench (see out/smoke-*.log)"; tail -20 "out/smoke-$(basename "$(dirname "$bench")").log"; status=1; }
done

exit $status
