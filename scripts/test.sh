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

echo "== unit + integration"
.venv/bin/pytest -p no:playwright tests/unit tests/integration -q "$@" || status=1

echo "== dates: the \`dates\` tests again at each awkward instant, on SQLite (docs/time.md)"
PIPELET_TEST_NOW=awkward .venv/bin/pytest -p no:playwright tests/unit tests/integration -m "dates and not postgres" -q "$@" \
  || status=1

echo "== browser (Playwright on Debian's Chromium)"
.venv/bin/pytest tests/e2e -q "$@" || status=1

echo "== benchmark smoke runs (each benchmark's --smoke: a short run that proves it still works)"
for bench in benchmarks/*/run.py; do
  echo "-- $bench --smoke"
  timeout 600 .venv/bin/python "$bench" --smoke > "out/smoke-$(basename "$(dirname "$bench")").log" 2>&1 \
    || { echo "FAILED: $bench (see out/smoke-*.log)"; tail -20 "out/smoke-$(basename "$(dirname "$bench")").log"; status=1; }
done

exit $status
