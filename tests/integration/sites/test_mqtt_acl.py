"""`pipelet mqtt-acl` against a real Mosquitto of our own (free ports, nothing but the config fragment and
the files the command wrote): a site's user reaches the consumer on its own topics only, anonymous and
wrong passwords are refused, no site's login can take another site's session over on the gateways'
listener, and Pipelet's consumers log in with `mqtt://user:password@host:port` on their own listener.

Mosquitto drops a publish the ACL forbids without telling the sender (MQTT 3.1.1 has no refusal for it),
so "does not arrive" is checked against a control message sent after it on the same connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiomqtt
import pytest
from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import Site, SiteDevice, SiteEnergyMinute, SiteMqttCredential, Tenant, TenantKind
from pipelet_app.db.types import utcnow
from pipelet_app.site_energy import broker_acl
from pipelet_app.site_energy.consumer import Consumer
from tests.integration.sites.mqtt_clients import received
from tests.pipelet_process import free_port, pipelet

pytestmark = pytest.mark.skipif(shutil.which("mosquitto") is None, reason="needs the mosquitto binary")


def issued(stdout: str) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in stdout.splitlines() if line.strip())


class Tenants:
    """Two tenants, one site each, site ids random and high (nothing else on a shared broker uses them)."""

    def __init__(self) -> None:
        self.a, self.b = random.sample(range(10_000_000, 99_999_999), 2)
        tag = uuid.uuid4().hex[:8]
        self.pv_a, self.pv_b = f"pv-a-{tag}", f"pv-b-{tag}"
        with session_scope() as db:
            for site_id, slug, asset in ((self.a, "sun", self.pv_a), (self.b, "moon", self.pv_b)):
                tenant = Tenant(name=slug.title(), slug=f"{slug}-{tag}", kind=TenantKind.OPERATOR)
                db.add(tenant)
                db.flush()
                db.add(Site(id=site_id, tenant_id=tenant.id, name=slug, has_pv_meter=True))
                db.flush()
                db.add(SiteDevice(site_id=site_id, asset_id=asset, kind="pv"))


@pytest.fixture
def tenants(database: str) -> Tenants:
    return Tenants()


@pytest.fixture
def ports() -> tuple[int, int]:
    """(the gateways' listener, the consumers' listener)"""
    site = free_port()
    consumer = free_port()
    while consumer == site:
        consumer = free_port()
    return site, consumer


@pytest.fixture
def acl_dir(
    tenants: Tenants, tmp_path: Path, ports: tuple[int, int]
) -> Iterator[tuple[Path, dict[str, str]]]:
    out = tmp_path / "mqtt"
    site, consumer = ports
    run = pipelet(
        "mqtt-acl",
        "--out",
        str(out),
        "--site-listener",
        f"{site} 127.0.0.1",
        "--consumer-listener",
        f"{consumer} 127.0.0.1",
    )
    assert run.returncode == 0, run.stderr
    yield out, issued(run.stdout)


@contextlib.contextmanager
def mosquitto(out: Path, tmp_path: Path, ports: tuple[int, int], without: str = "") -> Iterator[None]:
    """Mosquitto on the command's fragment alone (its listeners included); `without`: a line taken out."""
    conf = tmp_path / "mosquitto.conf"
    snippet = (out / broker_acl.CONF_FILE).read_text()
    if without:
        assert f"\n{without}\n" in snippet
        snippet = snippet.replace(f"\n{without}\n", "\n")
    # Started as root, mosquitto becomes user `mosquitto`, which may not read a 0600 file of root's in
    # pytest's 0700 directory; a deployment chowns the file instead (docs/deployment.md).
    stay = "user root\n" if os.geteuid() == 0 else ""
    conf.write_text(f"persistence false\n{stay}{snippet}")
    log = (tmp_path / "mosquitto.log").open("w")
    broker = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        for port in ports:
            for _ in range(100):
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                    break
                assert broker.poll() is None, (tmp_path / "mosquitto.log").read_text()
                time.sleep(0.05)
        yield
    finally:
        broker.terminate()
        broker.wait(10)
        log.close()


@contextlib.asynccontextmanager
async def client(
    port: int, user: str | None = None, password: str | None = None, identifier: str | None = None
) -> AsyncIterator:
    identifier = identifier or f"t-{uuid.uuid4().hex[:8]}"
    async with aiomqtt.Client(
        "127.0.0.1", port, username=user, password=password, identifier=identifier
    ) as c:
        yield c


def measurement(asset: str, power: float) -> bytes:
    at = utcnow().isoformat().replace("+00:00", "Z")
    return json.dumps({"assetId": asset, "timestamp": at, "energyValue": 0.0, "powerValue": power}).encode()


async def test_a_site_user_reaches_only_its_own_topics(
    tenants: Tenants, acl_dir: tuple[Path, dict[str, str]], tmp_path: Path, ports: tuple[int, int]
) -> None:
    out, passwords = acl_dir
    site_port, consumer_port = ports
    user_a, user_b = broker_acl.site_user(tenants.a), broker_acl.site_user(tenants.b)
    consumer = (broker_acl.CONSUMER_USER, passwords[broker_acl.CONSUMER_USER])
    assert {user_a, user_b, broker_acl.CONSUMER_USER} <= set(passwords)
    assert (out / broker_acl.PASSWORD_FILE).stat().st_mode & 0o777 == 0o600
    assert all(p not in (out / broker_acl.PASSWORD_FILE).read_text() for p in passwords.values())
    with mosquitto(out, tmp_path, ports):
        # Two consumer processes, one login, on their listener: neither takes the other's session over.
        async with client(consumer_port, *consumer) as sub, client(consumer_port, *consumer) as other:
            await sub.subscribe("pipelet/sites/+/+", qos=1)
            await other.subscribe("pipelet/sites/+/+", qos=1)
            async with client(site_port, user_a, passwords[user_a]) as pub:
                await pub.publish(f"pipelet/sites/{tenants.b}/measurements", b"into B", qos=1)
                await pub.publish(f"pipelet/sites/{tenants.b}/transactions", b"into B too", qos=1)
                await pub.publish(f"pipelet/sites/{tenants.a}/measurements", b"own", qos=1)
                await pub.publish(f"pipelet/sites/{tenants.a}/transactions", b"own tx", qos=1)
            own = [
                (f"pipelet/sites/{tenants.a}/measurements", b"own"),
                (f"pipelet/sites/{tenants.a}/transactions", b"own tx"),
            ]
            assert await received(sub) == own
            assert await received(other, 0.3) == own

        # A site user cannot listen to anyone's data either (subscribing is not in its rights).
        async with client(site_port, user_b, passwords[user_b]) as spy:
            await spy.subscribe(f"pipelet/sites/{tenants.a}/measurements", qos=1)
            async with client(site_port, user_a, passwords[user_a]) as pub:
                await pub.publish(f"pipelet/sites/{tenants.a}/measurements", b"private", qos=1)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(aiter(spy.messages)), 0.7)

        for port in ports:
            for user, password in ((None, None), (user_a, "wrong"), (user_a, passwords[user_b])):
                with pytest.raises(aiomqtt.MqttError):
                    async with client(port, user, password):
                        pass


@pytest.mark.parametrize("bound", [True, False], ids=["use_username_as_clientid", "line-removed"])
async def test_a_site_login_cannot_take_another_sites_session_over(
    tenants: Tenants,
    acl_dir: tuple[Path, dict[str, str]],
    tmp_path: Path,
    ports: tuple[int, int],
    bound: bool,
) -> None:
    """MQTT lets a connection with a client id in use take that session over, and a password file does
    not tie ids to users: A's login connecting as `site-B` disconnected B's gateway. On the gateways'
    listener (`use_username_as_clientid true`) A's connection gets id `site-A` whatever it asks for, so
    B's session carries on. `line-removed`: the fragment without that line, where B is kicked off."""
    out, passwords = acl_dir
    site_port, consumer_port = ports
    user_a, user_b = broker_acl.site_user(tenants.a), broker_acl.site_user(tenants.b)
    consumer = (broker_acl.CONSUMER_USER, passwords[broker_acl.CONSUMER_USER])
    topic_b = f"pipelet/sites/{tenants.b}/measurements"
    with mosquitto(out, tmp_path, ports, without="" if bound else "use_username_as_clientid true"):
        async with client(consumer_port, *consumer) as sub:
            await sub.subscribe("pipelet/sites/+/+", qos=1)
            with contextlib.suppress(aiomqtt.MqttError):  # B's client, once kicked off, fails on leaving
                async with client(site_port, user_b, passwords[user_b], identifier=user_b) as gateway_b:
                    await gateway_b.publish(topic_b, b"B before", qos=1)
                    async with client(site_port, user_a, passwords[user_a], identifier=user_b) as intruder:
                        await intruder.publish(topic_b, b"A as B", qos=1)  # dropped: not A's topic
                        await asyncio.sleep(0.3)  # a takeover has closed B's session by now
                        with contextlib.suppress(aiomqtt.MqttError):
                            await asyncio.wait_for(gateway_b.publish(topic_b, b"B after", qos=1), 2)
            got = await received(sub)
    log = (tmp_path / "mosquitto.log").read_text()
    if bound:
        assert got == [(topic_b, b"B before"), (topic_b, b"B after")], log
    else:
        assert got == [(topic_b, b"B before")], log


@pytest.mark.parametrize("group", [None, "pipelet"], ids=["embedded", "workers"])
async def test_the_consumer_logs_in_with_the_url_and_stores_only_what_the_acl_lets_through(
    tenants: Tenants,
    acl_dir: tuple[Path, dict[str, str]],
    tmp_path: Path,
    ports: tuple[int, int],
    group: str | None,
) -> None:
    """`group`: the workers' shared subscription ($share/pipelet/...) must pass the same ACL."""
    out, passwords = acl_dir
    site_port, consumer_port = ports
    user_a = broker_acl.site_user(tenants.a)
    consumer_pw = passwords[broker_acl.CONSUMER_USER]
    with mosquitto(out, tmp_path, ports):
        url = f"mqtt://{broker_acl.CONSUMER_USER}:{consumer_pw}@127.0.0.1:{consumer_port}"
        consumer = Consumer(url, flush_s=0.1, shared_group=group)
        task = asyncio.create_task(consumer.run())
        try:
            await asyncio.wait_for(consumer.connected.wait(), 10)
            async with client(site_port, user_a, passwords[user_a]) as pub:
                # A's gateway sends B's asset on B's topic (dropped by the broker), then its own.
                for site_id, asset, power in ((tenants.b, tenants.pv_b, 9), (tenants.a, tenants.pv_a, 1500)):
                    await pub.publish(
                        f"pipelet/sites/{site_id}/measurements", measurement(asset, power), qos=1
                    )
            deadline = asyncio.get_running_loop().time() + 10
            while consumer.stats["stored"] < 1:
                assert asyncio.get_running_loop().time() < deadline, consumer.stats
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert consumer.stats["accepted"] == 1 and consumer.stats["refused"] == 0
    with session_scope() as db:
        rows = db.exec(select(SiteEnergyMinute)).all()
        assert [(r.site_id, r.pv_w) for r in rows] == [(tenants.a, 1500)]


def test_a_rerun_keeps_passwords_and_rotates_only_when_asked(
    tenants: Tenants, acl_dir: tuple[Path, dict[str, str]]
) -> None:
    out, first = acl_dir
    user_a, user_b = broker_acl.site_user(tenants.a), broker_acl.site_user(tenants.b)
    hashes = broker_acl.read_password_file(out / broker_acl.PASSWORD_FILE)
    assert broker_acl.check_password(first[user_a], hashes[user_a])
    assert not broker_acl.check_password(first[user_b], hashes[user_a])

    again = pipelet("mqtt-acl", "--out", str(out))
    assert again.returncode == 0 and again.stdout == "", again.stderr
    assert broker_acl.read_password_file(out / broker_acl.PASSWORD_FILE) == hashes

    rotated = pipelet("mqtt-acl", "--out", str(out), "--rotate-site", str(tenants.a))
    assert rotated.returncode == 0, rotated.stderr
    new = issued(rotated.stdout)
    assert set(new) == {user_a} and new[user_a] != first[user_a]
    now = broker_acl.read_password_file(out / broker_acl.PASSWORD_FILE)
    assert broker_acl.check_password(new[user_a], now[user_a])
    assert not broker_acl.check_password(first[user_a], now[user_a])
    assert now[user_b] == hashes[user_b]
    assert all(secret not in rotated.stderr for secret in new.values())

    missing = pipelet("mqtt-acl", "--out", str(out), "--rotate-site", "1")
    assert missing.returncode == 2 and missing.stderr.strip() == "error: --rotate-site: no site 1"

    everything = issued(pipelet("mqtt-acl", "--out", str(out), "--rotate").stdout)
    assert set(everything) == {user_a, user_b, broker_acl.CONSUMER_USER}


def test_the_password_file_carries_the_database_s_credentials_both_ways(
    tenants: Tenants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One record for both kinds of broker: a hash the portal or API stored reaches the password file,
    and what the command issues or takes over from an older file is stored for the portal's broker."""
    out = tmp_path / "mqtt"
    user_a, user_b = broker_acl.site_user(tenants.a), broker_acl.site_user(tenants.b)
    from_portal = "issued-in-the-portal"
    older_file = "from-a-file-of-session-9"
    out.mkdir()
    (out / broker_acl.PASSWORD_FILE).write_text(f"{user_b}:{broker_acl.hash_password(older_file)}\n")
    with session_scope() as db:
        db.add(SiteMqttCredential(site_id=tenants.a, password_hash=broker_acl.hash_password(from_portal)))
    run = pipelet("mqtt-acl", "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert set(issued(run.stdout)) == {broker_acl.CONSUMER_USER}  # both sites kept their passwords
    hashes = broker_acl.read_password_file(out / broker_acl.PASSWORD_FILE)
    assert broker_acl.check_password(from_portal, hashes[user_a])
    assert broker_acl.check_password(older_file, hashes[user_b])

    def stored(site_id: int) -> str:
        with session_scope() as db:
            row = db.get(SiteMqttCredential, site_id)
            assert row is not None
            return row.password_hash

    assert broker_acl.check_password(older_file, stored(tenants.b))  # taken over from the file
    assert "MQTT_ADMIN_URL" not in run.stderr
    # A dynsec broker behind MQTT_ADMIN_URL is not told by this command: it says so.
    monkeypatch.setenv("MQTT_ADMIN_URL", "mqtt://pipelet-admin:x@127.0.0.1:1")
    run = pipelet("mqtt-acl", "--out", str(out), "--rotate-site", str(tenants.a))
    assert "MQTT_ADMIN_URL is set" in run.stderr and "x@" not in run.stderr
    rotated = issued(run.stdout)
    assert broker_acl.check_password(rotated[user_a], stored(tenants.a))
    assert not broker_acl.check_password(from_portal, stored(tenants.a))
