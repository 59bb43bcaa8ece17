"""Structured logs: one JSON object per line, with the request / charger / job the line belongs to.

Why contextvars: the ids are set once where the work starts (the API middleware, a charger's socket, a
background job) and every log line below it carries them without each call passing them on; asyncio
copies the context into each task, so two chargers' lines never mix ids.

Only the standard library, so every process (web, CSMS, worker, CLI) can call `configure()` first thing.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
charger_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("charger_id", default=None)
job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)
_IDS = {"request_id": request_id, "charger_id": charger_id, "job_id": job_id}
# Attributes every LogRecord has; anything else a caller passed in `extra=` goes into the JSON object.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


def current_ids() -> dict[str, str]:
    """The ids set in this context (only those that are set)."""
    return {name: value for name, var in _IDS.items() if (value := var.get()) is not None}


@contextlib.contextmanager
def bound(**ids: str | None) -> Iterator[None]:
    """Set some of request_id / charger_id / job_id for the block (restored after it)."""
    tokens = [(_IDS[name], _IDS[name].set(value)) for name, value in ids.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg", ids..., extras..., "exc"}`: one line a record, with traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **current_ids(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class ContextFilter(logging.Filter):
    """For the plain-text format: puts the ids on the record so `%(ids)s` can print them."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = current_ids()
        record.ids = " ".join(f"{k}={v}" for k, v in ids.items()) if ids else "-"
        return True


def configure(level: str | int = "INFO", *, replace: bool = True) -> None:
    """Root logging for a process: JSON lines (LOG_FORMAT=json, the default) or text (LOG_FORMAT=text).

    `replace` drops the root's other handlers, so a CLI that starts the CSMS does not double its lines;
    the web app passes False and only adds ours once (Reflex and test runners keep theirs).
    """
    root = logging.getLogger()
    if not replace and any(getattr(h, "_pipelet", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._pipelet = True  # type: ignore[attr-defined]
    if _log_format() == "text":
        handler.addFilter(ContextFilter())
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(ids)s] %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
    if replace:
        for old in list(root.handlers):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)


def _log_format() -> str:
    try:
        from pipelet_app.settings import get_settings

        return get_settings().log_format
    except Exception:  # settings not valid yet: the caller reports that; log as JSON meanwhile
        return "json"
