"""State of `/admin/system`: the diagnostics report (operations.diagnostics), admins only.

The database half runs through the guard on a worker thread (role checked there); the network probes
(Redis, CSMS nodes) run on the event loop afterwards, only when the guard let the admin through.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from pipelet_app.i18n.formatting import in_locale, when
from pipelet_app.operations.diagnostics import collect_sync, report
from pipelet_app.portals.session_state import SessionState


def _text(value: Any) -> str:
    return "—" if value is None else str(value)


def view(found: dict[str, Any]) -> dict[str, Any]:
    """The report as strings for the page (the download keeps the raw JSON)."""
    db = found["database"]
    facts = [
        ("diag.database", db["status"]),
        ("diag.dialect", _text(db.get("dialect"))),
        ("diag.latency", f"{db['latency_ms']} ms" if "latency_ms" in db else "—"),
        ("diag.migration", f"{_text(db.get('migration'))} / {_text(db.get('migration_head'))}"),
        ("diag.redis", found["redis"]["status"]),
        ("diag.queue", _text(found.get("queue_depth"))),
    ]
    return {
        "facts": [{"label": key, "value": value} for key, value in facts],
        "migration_behind": db.get("migration") != db.get("migration_head"),
        "rows": [{"table": k, "count": str(v)} for k, v in db.get("rows", {}).items()],
        "nodes": [
            {
                "node": n["node"],
                "status": n.get("status", "ok"),
                "connections": _text(n.get("connections")),
                "versions": ", ".join(f"{v}: {c}" for v, c in n.get("by_version", {}).items()) or "—",
            }
            for n in found["csms_nodes"]
        ],
        "workers": [w["worker"] for w in found["workers"]],
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
