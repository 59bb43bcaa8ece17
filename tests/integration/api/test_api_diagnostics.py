"""`/api/v1/diagnostics` on SQLite and PostgreSQL: admins only; the report names the database, its
migration against the head, Redis, the CSMS nodes' sockets, workers, the job queue and the integrations;
the download holds none of the secrets the installation was started with."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient

from pipelet_app.api import build_api
from pipelet_app.metrics import SNAPSHOT_KEY
from pipelet_app.settings import get_settings
from tests import local_redis
from tests.integration.api.onboarding_helpers import SONNEN, key_of

SECRETS = {
    "PIPELET_SECRET_KEY_PREVIOUS": "previous-secret-key-value-1234567890",
    "STRIPE_API_KEY": "sk_test_diagnostics_stripe_secret",
    "STRIPE_WEBHOOK_SECRET": "whsec_diagnostics_webhook_secret",
    "SMTP_URL": "smtp://mailer:diag-mail-password@127.0.0.1:2525",
    "ENPHASE_CLIENT_SECRET": "diag-enphase-client-secret",
}
LOCAL_REDIS = local_redis.url(13)


@pytest.fixture
def client(demo: dict, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with TestClient(build_api(), raise_server_exceptions=False) as test_client:
        yield test_client
    get_settings.cache_clear()


def test_admins_get_the_report_and_others_do_not(client: TestClient) -> None:
    admin = key_of("admin@pipelet.demo")
    body = client.get("/api/v1/diagnostics", headers=admin).json()
    assert body["database"]["status"] == "ok"
    assert body["database"]["migration"] == body["database"]["migration_head"] is not None
    assert body["database"]["rows"]["chargers"] > 0
    assert body["redis"]["status"].startswith("not configured")  # the embedded deployment
    assert body["csms_nodes"] == [{"node": "csms", "status": "not answering"}]  # no CSMS in this test
    assert body["versions"]["pipelet"] and body["versions"]["ocpp"] != "not installed"
    assert body["settings"]["stripe_api_key"] == "<redacted>"
    for who in (SONNEN, "fleet@acme.demo", "driver@acme.demo", "investor@pipelet.demo"):
        assert client.get("/api/v1/diagnostics", headers=key_of(who)).status_code == 403
        assert client.get("/api/v1/diagnostics/download", headers=key_of(who)).status_code == 403
    assert client.get("/api/v1/diagnostics/download").status_code == 401


def test_the_download_holds_no_secret(client: TestClient) -> None:
    answer = client.get("/api/v1/diagnostics/download", headers=key_of("admin@pipelet.demo"))
    assert answer.status_code == 200
    assert "attachment" in answer.headers["content-disposition"]
    text = answer.text
    for secret in (*SECRETS.values(), "diag-mail-password", get_settings().pipelet_secret_key):
        assert secret not in text, secret
    assert "127.0.0.1:2525" in text  # the SMTP host is still there to debug with


def test_scale_out_lists_redis_nodes_workers_and_the_queue(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        store = redis.Redis.from_url(LOCAL_REDIS, socket_connect_timeout=2)
        store.ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    node_text = (
        "# HELP pipelet_csms_connections Charger sockets open on this CSMS node\n"
        "# TYPE pipelet_csms_connections gauge\n"
        'pipelet_csms_connections{ocpp_version="1.6"} 7.0\n'
        'pipelet_csms_connections{ocpp_version="2.0.1"} 3.0\n'
    )
    store.set(SNAPSHOT_KEY + "csms:diag-node", node_text, ex=60)
    store.set(SNAPSHOT_KEY + "worker:diag-host:1", "", ex=60)
    store.set(SNAPSHOT_KEY + "worker:diag-host:2", "# nothing\n", ex=60)
    monkeypatch.setenv("REDIS_URL", LOCAL_REDIS)
    get_settings.cache_clear()
    try:
        body = client.get("/api/v1/diagnostics", headers=key_of("admin@pipelet.demo")).json()
    finally:
        store.delete(
            *(SNAPSHOT_KEY + k for k in ("csms:diag-node", "worker:diag-host:1", "worker:diag-host:2"))
        )
    assert body["redis"]["status"] == "ok" and body["queue_depth"] is not None
    node = next(n for n in body["csms_nodes"] if n["node"] == "csms:diag-node")
    assert node["connections"] == 10 and node["by_version"] == {"1.6": 7, "2.0.1": 3}
    assert {"worker": "worker:diag-host:2"} in body["workers"]

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens: reported, not raised
    get_settings.cache_clear()
    down = client.get("/api/v1/diagnostics", headers=key_of("admin@pipelet.demo")).json()
    assert down["redis"]["status"].startswith("unreachable") and down["database"]["status"] == "ok"


def test_integrations_show_accounts_failures_and_last_success(client: TestClient) -> None:
    from datetime import timedelta

    from sqlmodel import select

    from pipelet_app.clock import utcnow
    from pipelet_app.db import session_scope
    from pipelet_app.db.models import Driver, NetworkAccount, PvAccount, User

    now = utcnow().replace(microsecond=0)
    with session_scope() as db:
        first, second, third = db.exec(select(Driver).limit(3)).all()  # one account per driver and brand
        tenant = db.exec(select(User).where(User.email == SONNEN)).one().tenant_id
        db.add(PvAccount(driver_id=first.id, brand="fronius", credentials_enc="x", status="connected",
                         last_sync_utc=now - timedelta(hours=1)))  # fmt: skip
        db.add(PvAccount(driver_id=second.id, brand="fronius", credentials_enc="x", status="reauth-needed",
                         last_sync_utc=now - timedelta(days=3)))  # fmt: skip
        db.add(PvAccount(driver_id=third.id, brand="sma", credentials_enc=None, status="error"))  # gone
        db.add(NetworkAccount(tenant_id=tenant, network="evrange", label="diag", credentials_enc="x",
                              status="error", last_success_utc=now - timedelta(minutes=5)))  # fmt: skip
        db.commit()
    found = client.get("/api/v1/diagnostics", headers=key_of("admin@pipelet.demo")).json()["integrations"]
    by_name = {(i["kind"], i["name"]): i for i in found}
    fronius = by_name[("inverter", "fronius")]
    assert fronius["accounts"] >= 2 and fronius["failing"] >= 1
    assert fronius["last_success_utc"].startswith((now - timedelta(hours=1)).isoformat()[:16])
    assert ("inverter", "sma") not in by_name or by_name[("inverter", "sma")]["failing"] == 0
    evrange = by_name[("network", "evrange")]
    assert evrange["accounts"] == 1 and evrange["failing"] == 1
