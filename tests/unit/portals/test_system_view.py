"""/admin/system's view of the diagnostics report: each probe's status in the reader's words (en, de);
the report itself (the download, GET /api/v1/diagnostics) keeps its codes."""

from __future__ import annotations

import pytest

from pipelet_app.i18n.formatting import in_locale
from pipelet_app.operations.diagnostics import EMBEDDED_WORKER, NOT_ANSWERING, NOT_CONFIGURED, OK, UNREACHABLE
from pipelet_app.portals.admin.system_state import view


def _report(database: str, redis: str, node: str) -> dict:
    return {
        "database": {"status": database},
        "redis": {"status": redis},
        "queue_depth": None,
        "csms_nodes": [{"node": "csms", "status": node}],
        "workers": [{"worker": EMBEDDED_WORKER}, {"worker": "worker-1"}],
        "integrations": [],
        "versions": {},
    }


@pytest.mark.parametrize(
    ("locale", "ok", "unreachable", "embedded", "silent", "worker"),
    [
        ("en", "OK", "unreachable (ConnectionError)", "not configured (embedded deployment)", "not answering",
         "embedded in the web process"),
        ("de", "in Ordnung", "nicht erreichbar (ConnectionError)",
         "nicht eingerichtet (eingebettete Installation)", "antwortet nicht", "im Webprozess eingebettet"),
    ],
)  # fmt: skip
def test_probe_statuses_read_as_words(
    locale: str, ok: str, unreachable: str, embedded: str, silent: str, worker: str
) -> None:
    with in_locale(locale):
        down = view(_report(f"{UNREACHABLE}: ConnectionError", NOT_CONFIGURED, NOT_ANSWERING))
        up = view(_report(OK, OK, OK))
    facts = {f["label"]: f["value"] for f in down["facts"]}
    assert (facts["diag.database"], facts["diag.redis"]) == (unreachable, embedded)
    assert down["nodes"][0]["status"] == silent
    assert down["workers"] == [worker, "worker-1"]  # a worker's own name stays
    assert {f["label"]: f["value"] for f in up["facts"]}["diag.database"] == ok
    assert up["nodes"][0]["status"] == ok


def test_an_unforeseen_status_is_shown_as_it_is() -> None:
    with in_locale("de"):
        shown = view(_report("degraded", OK, OK))
    assert {f["label"]: f["value"] for f in shown["facts"]}["diag.database"] == "degraded"
