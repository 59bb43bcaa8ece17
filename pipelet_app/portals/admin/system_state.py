"""State of `/admin/system`: the diagnostics report (operations.diagnostics), admins only.

The database half runs through the guard on a worker thread (role checked there); the network probes
(Redis, CSMS nodes) run on the event loop afterwards, only when the guard let the admin through.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from pipelet_app.i18n.catalogue import translate
from pipelet_app.i18n.formatting import current_locale, in_locale, when
from pipelet_app.operations.diagnostics import (
    EMBEDDED_WORKER,
    NOT_ANSWERING,
    NOT_CONFIGURED,
    OK,
    UNREACHABLE,
    collect_sync,
    report,
)
from pipelet_app.portals.session_state import SessionState


def _text(value: Any) -> str:
    return "—" if value is None else str(value)


_STATUS_WORDS = {
    OK: "diag_status.ok",
    NOT_CONFIGURED: "diag_status.not_configured",
    NOT_ANSWERING: "diag_status.not_answering",
}


def _status(status: str) -> str:
    """A probe's status in the reader's words ("in Ordnung", "nicht erreichbar (ConnectionError)"); the
    exception class stays, it is what support asks for. Anything unforeseen is shown as it is."""
    locale = current_locale()
    if status.startswith(UNREACHABLE + ": "):
        return translate("diag_status.unreachable", locale).format(error=status.split(": ", 1)[1])
    key = _STATUS_WORDS.get(status)
    return translate(key, locale) if key else status


def _worker(name: str) -> str:
    return translate("diag_status.embedded_worker", current_locale()) if name == EMBEDDED_WORKER else name


def view(found: dict[str, Any]) -> dict[str, Any]:
    """The report as strings for the page (the download keeps the raw JSON)."""
    db = found["database"]
    facts = [
        ("diag.database", _status(db["status"])),
        ("diag.dialect", _text(db.get("dialect"))),
        ("diag.latency", f"{db['latency_ms']} ms" if "latency_ms" in db else "—"),
        ("diag.migration", f"{_text(db.get('migration'))} / {_text(db.get('migration_head'))}"),
        ("diag.redis", _status(found["redis"]["status"])),
        ("diag.queue", _text(found.get("queue_depth"))),
    ]
    return {
        "facts": [{"label": key, "value": value} for key, value in facts],
        "migration_behind": db.get("migration") != db.get("migration_head"),
        "rows": [{"table": k, "count": str(v)} for k, v in db.get("rows", {}).items()],
        "nodes": [
            {
                "node": n["node"],
                "status": _status(n.get("status", OK)),
                "connections": _text(n.get("connections")),
                "versions": ", ".join(f"{v}: {c}" for v, c in n.get("by_version", {}).items()) or "—",
            }
            for n in found["csms_nodes"]
        ],
        "workers": [_worker(w["worker"]) for w in found["workers"]],
        "integrations": [
            {
                "name": i["name"],
                "accounts": str(i["accounts"]),
                "failing": str(i["failing"]),
                "last_success": when(i["last_success_utc"]) if i["last_success_utc"] else "—",
            }
            for i in found["integrations"]
        ],
        "versions": [{"package": k, "version": v} for k, v in found["versions"].items()],
    }


class SystemState(SessionState):
    facts: list[dict[str, str]] = []
    rows: list[dict[str, str]] = []
    nodes: list[dict[str, str]] = []
    workers: list[str] = []
    integrations: list[dict[str, str]] = []
    versions: list[dict[str, str]] = []
    migration_behind: bool = False
    loaded: bool = False

    @rx.event
    async def load(self):
        self.loaded = False
        result = await self._guarded_off_loop(collect_sync)
        if result.value is None:
            return result.redirect
        found = await report(result.value)
        with in_locale(self.locale):  # the guard's locale ends with its call; the times are formatted here
            shown = view(found)
        self.facts, self.rows, self.nodes = shown["facts"], shown["rows"], shown["nodes"]
        self.workers, self.integrations = shown["workers"], shown["integrations"]
        self.versions, self.migration_behind = shown["versions"], shown["migration_behind"]
        self.loaded = True
        return None
