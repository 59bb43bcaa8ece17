"""Site MQTT credentials from the API, live on the embedded broker of `pipelet run` (a real Mosquitto with
the dynamic security plugin, on a free port, started exactly as `pipelet run` starts it).

What must hold: nobody publishes without a login; a site's user reaches the consumer on its own site's
topics only (tenant A cannot write into tenant B's site); the consumer reads, directly and as a worker's
shared subscription; a rotated password stops the old one at once, open sessions included, with no
broker restart; and a broker restarted from the database knows the current password and not the old one.

Mosquitto drops a publish its ACL forbids without telling the sender (MQTT 3.1.1 has no refusal for it),
so "does not arrive" is checked against a control message sent after it on the same connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from pipelet_app.auth import Principal
from pipelet_app.cli.broker import broker_program, mosquitto_binary
from pipelet_app.db import session_scope
from pipelet_app.db.models import SiteMqttCredential, User
from pipelet_app.domain.mqtt_access import check_password
from pipelet_app.services import site_mqtt
from pipelet_app.settings import get_settings
from pipelet_app.site_energy import broker_admin
from pipelet_app.site_energy.consumer import broker_login
from pipelet_app.site_energy.embedded_broker import dynsec_plugin
from tests.integration.api_keys import key_of, site_of
from tests.integration.sites.mqtt_clients import mqtt, received
from tests.pipelet_process import free_port

pytestmark = pytest.mark.skipif(
    mosquitto_binary() is None or dynsec_plugin() is None,
    reason="needs mosquitto and its dynamic security plugin (scripts/bootstrap.sh installs both)",
)
SON, NW = "operator@sonnenstrom.demo", "operator@northwind.demo"


class Broker:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.dir = tmp_path / "mqtt"
        program, line, self.urls = broker_program(f"mqtt://127.0.0.1:{self.port}", dict(os.environ), self.dir)
        assert program is not None and "embedded" in line, line
        self.program = program
        self.log = tmp_path / "mosquitto.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("a") as log:
            self.proc = subprocess.Popen(
                list(self.program.argv), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        for _ in range(200):
            assert self.proc.poll() is None, self.log.read_text()
            if self.program.ready and self.program.ready():
                return
            asyncio.run(asyncio.sleep(0.05))
        raise AssertionError(self.log.read_text())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)

    def login(self, which: str) -> tuple[str, str]:
        user, password = broker_login(self.urls[which])
        assert user and password
        return user, password


@pytest.fixture
def broker(demo: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Broker]:
    running = Broker(tmp_path)
    running.start()
    monkeypatch.setenv("MQTT_ADMIN_URL", running.urls["MQTT_ADMIN_URL"])
    get_settings.cache_clear()
    yield running
    running.stop()
    get_settings.cache_clear()


def issue(client: TestClient, email: str, site_id: int) -> dict:
    answer = client.post(f"/api/v1/sites/{site_id}/mqtt-credentials", headers=key_of(email))
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_tenants_sites_and_anonymous_are_kept_apart_on_the_embedded_broker(
    client: TestClient, broker: Broker
) -> None:
    site_a, site_b = site_of(SON), site_of(NW)
    status = client.get(f"/api/v1/sites/{site_a}/mqtt-credentials", headers=key_of(SON))
    assert status.json() == {"username": f"site-{site_a}", "client_id": f"site-{site_a}", "issued_at": None}
    a, b = issue(client, SON, site_a), issue(client, NW, site_b)
    status = client.get(f"/api/v1/sites/{site_a}/mqtt-credentials", headers=key_of(SON)).json()
    assert status["issued_at"] == a["issued_at"] and a["password"] not in str(status)
    assert client.get(f"/api/v1/sites/{site_a}/mqtt-credentials", headers=key_of(NW)).status_code == 404
    assert a["username"] == f"site-{site_a}" and a["client_id"] == f"site-{site_a}" and a["live"] is True
    assert a["measurements_topic"] == f"pipelet/sites/{site_a}/measurements"
    # Only a hash is kept, and it is the password's.
    with session_scope() as db:
        row = db.get(SiteMqttCredential, site_a)
        assert row is not None and a["password"] not in row.password_hash
        assert check_password(a["password"], row.password_hash)
    # Another tenant's operator cannot issue (or learn that the site exists).
    other = client.post(f"/api/v1/sites/{site_b}/mqtt-credentials", headers=key_of(SON))
    assert other.status_code == 404 and "password" not in other.text

    async def scenario() -> None:
        consumer = broker.login("MQTT_URL")
        async with mqtt(broker.port, consumer) as sub:
            await sub.subscribe("pipelet/sites/+/+", qos=1)
            async with mqtt(broker.port, (a["username"], a["password"])) as pub:
                await pub.publish(f"pipelet/sites/{site_b}/measurements", b"into B", qos=1)
                await pub.publish(f"pipelet/sites/{site_b}/transactions", b"into B too", qos=1)
                await pub.publish(f"pipelet/sites/{site_a}/measurements", b"own", qos=1)
            async with mqtt(broker.port, (b["username"], b["password"])) as pub:
                await pub.publish(f"pipelet/sites/{site_b}/transactions", b"B's own", qos=1)
            assert await received(sub) == [
                (f"pipelet/sites/{site_a}/measurements", b"own"),
                (f"pipelet/sites/{site_b}/transactions", b"B's own"),
            ]
        # The workers' shared subscription passes too.
        async with mqtt(broker.port, consumer) as shared:
            await shared.subscribe("$share/pipelet/pipelet/sites/+/measurements", qos=1)
            async with mqtt(broker.port, (a["username"], a["password"])) as pub:
                await pub.publish(f"pipelet/sites/{site_a}/measurements", b"shared", qos=1)
            assert await received(shared, 0.7) == [(f"pipelet/sites/{site_a}/measurements", b"shared")]
        # A site cannot listen to anyone's data, its own included.
        async with mqtt(broker.port, (b["username"], b["password"])) as spy:
            await spy.subscribe("pipelet/sites/+/+", qos=1)
            async with mqtt(broker.port, (a["username"], a["password"])) as pub:
                await pub.publish(f"pipelet/sites/{site_a}/measurements", b"private", qos=1)
            assert await received(spy, 0.7) == []
        # No login, a wrong password, another site's password: refused at connect.
        for login in (None, (a["username"], "wrong"), (a["username"], b["password"])):
            with pytest.raises(aiomqtt.MqttError):
                async with mqtt(broker.port, login):
                    pass

    asyncio.run(scenario())


def test_a_rotated_password_stops_the_old_one_at_once_and_after_a_restart(
    client: TestClient, broker: Broker
) -> None:
    site_a = site_of(SON)
    first = issue(client, SON, site_a)
    old = (first["username"], first["password"])

    async def rotate_while_connected() -> dict:
        consumer = broker.login("MQTT_URL")
        async with mqtt(broker.port, consumer) as sub:
            await sub.subscribe("pipelet/sites/+/+", qos=1)
            async with mqtt(broker.port, old) as gateway:
                await gateway.publish(f"pipelet/sites/{site_a}/measurements", b"before", qos=1)
                second = await asyncio.to_thread(issue, client, SON, site_a)
                # The broker closed the old session: what it sends now never arrives.
                with contextlib.suppress(aiomqtt.MqttError):
                    await gateway.publish(f"pipelet/sites/{site_a}/measurements", b"after", qos=0)
            assert await received(sub) == [(f"pipelet/sites/{site_a}/measurements", b"before")]
        with pytest.raises(aiomqtt.MqttError):
            async with mqtt(broker.port, old):
                pass
        async with mqtt(broker.port, (second["username"], second["password"])):
            pass
        return second

    second = asyncio.run(rotate_while_connected())
    assert second["password"] != first["password"]

    # A restart rebuilds the broker's config from the database: the current password, not the old one.
    broker.stop()
    broker.start()

    async def after_restart() -> None:
        with pytest.raises(aiomqtt.MqttError):
            async with mqtt(broker.port, old):
                pass
        async with mqtt(broker.port, broker.login("MQTT_URL")) as sub:
            await sub.subscribe("pipelet/sites/+/+", qos=1)
            async with mqtt(broker.port, (second["username"], second["password"])) as pub:
                await pub.publish(f"pipelet/sites/{site_a}/measurements", b"restarted", qos=1)
            assert await received(sub, 0.7) == [(f"pipelet/sites/{site_a}/measurements", b"restarted")]

    asyncio.run(after_restart())


def test_a_broker_that_does_not_confirm_changes_nothing(
    client: TestClient, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    site_a = site_of(SON)
    first = issue(client, SON, site_a)
    with session_scope() as db:
        before = db.get(SiteMqttCredential, site_a).password_hash  # type: ignore[union-attr]
    broker.stop()
    answer = client.post(f"/api/v1/sites/{site_a}/mqtt-credentials", headers=key_of(SON))
    assert answer.status_code == 502 and "nothing changed" in answer.text and 'password"' not in answer.text
    assert "outcome is unknown" not in answer.text  # the broker was not reached: it surely kept the old one
    with session_scope() as db:
        assert db.get(SiteMqttCredential, site_a).password_hash == before  # type: ignore[union-attr]
    broker.start()

    async def still_the_first() -> None:
        async with mqtt(broker.port, (first["username"], first["password"])):
            pass

    asyncio.run(still_the_first())


def test_a_site_login_cannot_use_another_client_id_nor_kick_another_sites_gateway(
    client: TestClient, broker: Broker
) -> None:
    """MQTT lets a connection with a client id in use take over that session: without a bound client id,
    site B's login connecting as `site-A` (A's gateway's id) disconnected A's gateway. Each site's login
    may connect with its own client id only, so B is refused and A's session carries on."""
    site_a, site_b = site_of(SON), site_of(NW)
    a, b = issue(client, SON, site_a), issue(client, NW, site_b)
    login_a, login_b = (a["username"], a["password"]), (b["username"], b["password"])

    async def scenario() -> None:
        async with mqtt(broker.port, broker.login("MQTT_URL")) as sub:
            await sub.subscribe("pipelet/sites/+/+", qos=1)
            async with mqtt(broker.port, login_a, client_id=a["client_id"]) as gateway_a:
                for foreign in (a["client_id"], f"t-{uuid.uuid4().hex[:8]}"):
                    with pytest.raises(aiomqtt.MqttError):
                        async with mqtt(broker.port, login_b, client_id=foreign):
                            pass
                await asyncio.sleep(0.3)  # a takeover would have closed A's session by now
                await gateway_a.publish(f"pipelet/sites/{site_a}/measurements", b"still connected", qos=1)
            async with mqtt(broker.port, login_b, client_id=b["client_id"]) as gateway_b:
                await gateway_b.publish(f"pipelet/sites/{site_b}/measurements", b"B with its own id", qos=1)
            assert await received(sub) == [
                (f"pipelet/sites/{site_a}/measurements", b"still connected"),
                (f"pipelet/sites/{site_b}/measurements", b"B with its own id"),
            ]

    asyncio.run(scenario())
    # The restarted broker (config rebuilt from the database) binds the client ids too.
    broker.stop()
    broker.start()

    async def after_restart() -> None:
        with pytest.raises(aiomqtt.MqttError):
            async with mqtt(broker.port, login_b, client_id=a["client_id"]):
                pass
        async with mqtt(broker.port, login_b):
            pass

    asyncio.run(after_restart())


def test_a_broker_that_takes_the_command_but_does_not_answer_says_the_outcome_is_unknown(
    client: TestClient, broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command went out, the answer did not come: the broker may have applied the new password, so
    the 502 must not promise that the old one still works; the database stays as it was."""
    site_a = site_of(SON)
    issue(client, SON, site_a)
    with session_scope() as db:
        before = db.get(SiteMqttCredential, site_a).password_hash  # type: ignore[union-attr]
    real_send = broker_admin.send

    async def answer_lost(
        url: str, commands: list[dict], timeout: float = broker_admin.TIMEOUT_S
    ) -> list[dict]:
        await real_send(url, commands, timeout)  # the broker applies it...
        raise broker_admin.OutcomeUnknown("the MQTT broker did not answer the admin command")  # ...unheard

    monkeypatch.setattr(broker_admin, "send", answer_lost)
    answer = client.post(f"/api/v1/sites/{site_a}/mqtt-credentials", headers=key_of(SON))
    assert answer.status_code == 502 and "outcome is unknown" in answer.text and "Issue again" in answer.text
    assert "still works" not in answer.text and "nothing changed" not in answer.text
    with session_scope() as db:
        assert db.get(SiteMqttCredential, site_a).password_hash == before  # type: ignore[union-attr]
    monkeypatch.setattr(broker_admin, "send", real_send)
    again = issue(client, SON, site_a)

    async def works() -> None:
        async with mqtt(broker.port, (again["username"], again["password"])):
            pass

    asyncio.run(works())


def test_without_an_admin_url_the_credential_is_stored_for_mqtt_acl(
    client: TestClient, demo: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MQTT_ADMIN_URL", raising=False)
    get_settings.cache_clear()
    site_a = site_of(SON)
    issued = issue(client, SON, site_a)
    assert issued["live"] is False
    with session_scope() as db:
        row = db.get(SiteMqttCredential, site_a)
        assert row is not None and check_password(issued["password"], row.password_hash)


def test_two_operators_issuing_at_once_both_get_an_answer_and_the_later_password_holds(
    demo: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one issue waits for the broker (0.5 s here), a second for the same site waits for it instead
    of failing on the primary key; the stored hash is the password the second answer showed."""

    pushed: list[str] = []

    async def slow_broker(_url: str, _site_id: int, password: str) -> None:
        await asyncio.sleep(0.5)
        pushed.append(password)

    monkeypatch.setattr(broker_admin, "set_site_password", slow_broker)
    monkeypatch.setenv("MQTT_ADMIN_URL", "mqtt://pipelet-admin:x@127.0.0.1:1")
    get_settings.cache_clear()
    site_a = site_of(SON)
    with session_scope() as db:
        son = Principal.of(db.exec(select(User).where(User.email == SON)).one())

    answers: list[dict] = []

    def issue_one() -> None:
        with session_scope() as db:
            answers.append(asyncio.run(site_mqtt.issue_credential(db, son, site_a)))

    threads = [threading.Thread(target=issue_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    get_settings.cache_clear()
    assert len(answers) == 2 and len({a["password"] for a in answers}) == 2
    with session_scope() as db:
        row = db.get(SiteMqttCredential, site_a)
        assert row is not None and check_password(pushed[-1], row.password_hash)


@pytest.mark.parametrize(
    ("body", "field"),
    [({"password": "my-own-secret"}, "password:"), ({"username": "site-1"}, "username:"), ([1], "body:")],
)
def test_a_body_with_a_field_is_refused_naming_it_and_the_password_stays(
    client: TestClient, demo: dict, monkeypatch: pytest.MonkeyPatch, body: object, field: str
) -> None:
    """Issuing cuts the live password: a client that believes it sets its own must get a 422, not a
    rotation that locks its gateway out. No body, or `{}`, issues as before."""
    monkeypatch.delenv("MQTT_ADMIN_URL", raising=False)
    get_settings.cache_clear()
    site_a = site_of(SON)
    first = issue(client, SON, site_a)
    answer = client.post(f"/api/v1/sites/{site_a}/mqtt-credentials", json=body, headers=key_of(SON))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["message"].startswith(field), answer.text
    with session_scope() as db:
        row = db.get(SiteMqttCredential, site_a)
        assert row is not None and check_password(first["password"], row.password_hash)
    empty = client.post(f"/api/v1/sites/{site_a}/mqtt-credentials", json={}, headers=key_of(SON))
    assert empty.status_code == 201, empty.text
