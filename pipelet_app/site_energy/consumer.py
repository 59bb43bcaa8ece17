"""The MQTT consumer: subscribes to every site's topics, checks each message, stores them in batches.

It never dies on input: a bad message is refused with a logged and counted reason (`stats`), a database
error drops that batch after logging it, and a lost broker connection is retried with backoff until it
comes back. Messages are stored in batches (`BATCH` messages or `FLUSH_S` seconds, whichever first), the
batch written in a thread so receiving goes on meanwhile.

Several consumers (scale-out: one per `pipelet worker`) share the load through an MQTT shared subscription
(`$share/<group>/...`) when `MQTT_SHARED_GROUP` is set; every message then reaches one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from urllib.parse import unquote, urlsplit

from sqlmodel import Session

from pipelet_app import metrics
from pipelet_app.db import session_scope
from pipelet_app.db.types import utcnow
from pipelet_app.domain.site_energy import MAX_EARLY, MAX_LATE
from pipelet_app.site_energy import payloads
from pipelet_app.site_energy.directory import SiteDirectory
from pipelet_app.site_energy.payloads import Refused, Transaction
from pipelet_app.site_energy.store import SampleIn, write_batch, write_transactions

log = logging.getLogger("pipelet.site_energy.mqtt")

TOPICS = ("pipelet/sites/+/measurements", "pipelet/sites/+/transactions")
BATCH = 5000
FLUSH_S = 0.5
BACKOFF_S = (0.5, 1, 2, 5, 10, 30)
LOG_EVERY_S = 60.0
# `stats` is this consumer's own count (tests, the benchmark); the same counts go to /api/v1/metrics.
_ACCEPTED = metrics.MQTT_MESSAGES.labels("accepted")
_STORED = metrics.MQTT_MESSAGES.labels("stored")
_LOST = metrics.MQTT_MESSAGES.labels("lost")


def broker_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname or port == -1:
        raise ValueError(f"MQTT_URL: {redacted_url(url)!r} is not mqtt://[user:password@]host[:port]")
    return parts.hostname, port or 1883


def broker_login(url: str) -> tuple[str | None, str | None]:
    """(username, password) from `mqtt://user:password@host`, percent-decoded; (None, None) without.

    The broker user per site (`pipelet mqtt-acl`) gives the consumer one of its own."""
    parts = urlsplit(url)
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None and username else None
    return username, password


def redacted_url(url: str) -> str:
    """MQTT_URL fit for a log line or the terminal: the password replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:***@{netloc}").geturl()


class Consumer:
    def __init__(
        self,
        url: str,
        *,
        shared_group: str | None = None,
        batch: int = BATCH,
        flush_s: float = FLUSH_S,
        clock: Callable[[], datetime] = utcnow,
        session_factory: Callable[[], object] = session_scope,
        topics: Sequence[str] = TOPICS,
        identifier: str | None = None,
        persistent: bool = False,
    ) -> None:
        self.host, self.port = broker_address(url)
        self._username, self._password = broker_login(url)  # never logged: lines name host:port only
        self.shared_group = shared_group
        self.topics = tuple(topics)
        # A fixed identifier with a persistent session lets the broker keep QoS 1 messages while the
        # consumer restarts (mosquitto keeps up to its max_queued_messages per session).
        self.identifier = identifier or f"pipelet-site-energy-{uuid.uuid4().hex[:8]}"
        self.persistent = persistent
        self.batch = batch
        self.flush_s = flush_s
        self.clock = clock
        self.session_factory = session_factory
        self.directory = SiteDirectory(lambda: Session(_engine()))
        self.stats: Counter[str] = Counter()
        self._connected_metric = metrics.MQTT_CONNECTED.labels(f"{self.host}:{self.port}")
        self.connected = asyncio.Event()
        self._samples: list[SampleIn] = []
        self._transactions: list[tuple[int, int, Transaction]] = []
        self._pending = 0
        self._logged_at: dict[str, float] = {}

    # ----------------------------------------------------------------------------------- checking

    def refuse(self, reason: str, message: str, topic: str) -> None:
        """Count the refusal; log it, but one line per reason and minute at most (a sender stuck on a bad
        payload must not flood the log), with how many of that reason so far."""
        self.stats["refused"] += 1
        self.stats[f"refused:{reason}"] += 1
        metrics.MQTT_REFUSED.labels(reason).inc()
        now = time.monotonic()
        if now - self._logged_at.get(reason, float("-inf")) >= LOG_EVERY_S:
            self._logged_at[reason] = now
            count = self.stats[f"refused:{reason}"]
            log.warning("MQTT message refused (%s, %d so far) on %s: %s", reason, count, topic, message)

    def accept(self, topic: str, payload: bytes, now: datetime | None = None) -> bool:
        """Check one message and queue it for the next batch; False (and counted) when refused."""
        try:
            self._accept(topic, payload, now or self.clock())
        except Refused as refused:
            self.refuse(refused.reason, refused.message, topic)
            return False
        self.stats["accepted"] += 1
        _ACCEPTED.inc()
        return True

    def _accept(self, topic: str, payload: bytes, now: datetime) -> None:
        site_id, kind = payloads.parse_topic(topic)
        if not self.directory.has_site(site_id):
            raise Refused("unknown-site", f"site {site_id}: no such site with devices")
        doc = payloads.document(payload)
        asset = self.directory.lookup(site_id, payloads.asset_of(doc))
        if asset is None:
            raise Refused("unknown-asset", f"assetId: not a device of site {site_id}")
        if kind == "measurements":
            m = payloads.measurement(doc, asset.kind)
            _check_time(m.ts, now)
            self._samples.append(
                SampleIn(site_id, asset.device_id, asset.kind, m.ts, m.power_w, m.energy_wh, m.soc, "mqtt")
            )
        else:
            if asset.kind != "charger":
                raise Refused("wrong-asset", f"assetId: a {asset.kind} asset has no transactions")
            tx = payloads.transaction(doc)
            _check_time(tx.ts, now)
            self._transactions.append((site_id, asset.device_id, tx))
        self._pending += 1

    # ----------------------------------------------------------------------------------- storing

    def take(self, limit: int | None = None) -> tuple[list[SampleIn], list[tuple[int, int, Transaction]]]:
        """The oldest queued messages, at most `limit` of each kind (a backlog is written in batches)."""
        limit = limit or max(len(self._samples), len(self._transactions), 1)
        samples, self._samples = self._samples[:limit], self._samples[limit:]
        transactions, self._transactions = self._transactions[:limit], self._transactions[limit:]
        self._pending = len(self._samples) + len(self._transactions)
        return samples, transactions

    def store(self, samples: list[SampleIn], transactions: list[tuple[int, int, Transaction]]) -> None:
        """Write one batch (blocking; the loop calls it in a thread). A failed batch is logged, not fatal."""
        if not samples and not transactions:
            return
        try:
            with self.session_factory() as db:  # type: ignore[attr-defined]
                write_batch(db, samples, self.clock())
                write_transactions(db, transactions)
        except Exception:
            self.stats["batches_failed"] += 1
            self.stats["lost"] += len(samples) + len(transactions)
            _LOST.inc(len(samples) + len(transactions))
            log.exception("site energy batch of %d messages not stored", len(samples) + len(transactions))
            return
        self.stats["stored"] += len(samples) + len(transactions)
        _STORED.inc(len(samples) + len(transactions))
        self.stats["batches"] += 1

    async def flush(self) -> None:
        samples, transactions = self.take()
        await asyncio.to_thread(self.store, samples, transactions)

    # ----------------------------------------------------------------------------------- the loop

    def _topics(self) -> list[str]:
        if self.shared_group:
            return [f"$share/{self.shared_group}/{t}" for t in self.topics]
        return list(self.topics)

    async def run(self) -> None:
        """Consume until cancelled; reconnects by itself."""
        import aiomqtt

        await asyncio.to_thread(self.directory.reload)
        attempt = 0
        while True:
            try:
                async with aiomqtt.Client(
                    self.host,
                    self.port,
                    username=self._username,
                    password=self._password,
                    identifier=self.identifier,
                    clean_session=not self.persistent,
                    queue_type=self._direct_queue(),
                ) as client:
                    for topic in self._topics():
                        await client.subscribe(topic, qos=1)
                    attempt = 0
                    self.stats["connects"] += 1
                    self.connected.set()
                    self._connected_metric.set(1)
                    log.info("MQTT consumer connected to %s:%s", self.host, self.port)
                    await self._receive(client)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await self.flush()
                raise
            except aiomqtt.MqttError as exc:
                self.connected.clear()
                self._connected_metric.set(0)
                metrics.MQTT_DISCONNECTS.inc()
                delay = BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]
                attempt += 1
                self.stats["disconnects"] += 1
                log.warning("MQTT broker %s:%s: %s; retrying in %ss", self.host, self.port, exc, delay)
                await self.flush()
                await asyncio.sleep(delay)
            except Exception:  # a bug must not stop the data: log it and start over
                self.connected.clear()
                self._connected_metric.set(0)
                self.stats["errors"] += 1
                log.exception("MQTT consumer error; restarting the connection")
                await asyncio.sleep(1)

    def _direct_queue(self) -> type[asyncio.Queue]:
        """aiomqtt's incoming-message queue (its `queue_type`), replaced by a hand-over to `accept`.

        aiomqtt puts every message into this queue from paho's read callback; its iterator then costs a
        task per message. Checking the message right there halves the work per message (the benchmark's
        ceiling is the MQTT client's receive loop), and nothing can be lost between queue and reader:
        the queue stays empty, and its iterator serves only to notice a lost connection.
        """
        consumer = self

        class HandOver(asyncio.Queue):
            def put_nowait(self, item) -> None:
                consumer.receive(item)

        return HandOver

    def receive(self, message) -> None:
        """One message from the broker; whatever goes wrong with it stays with it."""
        try:
            payload = message.payload
            if not isinstance(payload, bytes | bytearray):
                payload = str(payload).encode()
            self.accept(str(message.topic), bytes(payload))
        except Exception:  # a bug or a database hiccup in a look-up: count it, keep receiving
            self.stats["errors"] += 1
            log.exception("MQTT message on %s could not be handled", getattr(message, "topic", "?"))

    async def _receive(self, client) -> None:
        """Wait until the connection drops (messages arrive through `_direct_queue`); a separate task
        writes the batches meanwhile."""
        writer = asyncio.create_task(self._write_batches(), name="site-energy-writer")
        reader = asyncio.create_task(_until_disconnected(client), name="site-energy-connection")
        try:
            done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # the connection's MqttError, or why the writer died: run() handles both
        finally:
            for task in (reader, writer):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _write_batches(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while self._pending == 0:
                await asyncio.sleep(min(self.flush_s, 0.05))
            deadline = loop.time() + self.flush_s
            while self._pending < self.batch and loop.time() < deadline:
                await asyncio.sleep(min(0.01, self.flush_s))
            samples, transactions = self.take(self.batch)
            await asyncio.to_thread(self.store, samples, transactions)


async def _until_disconnected(client) -> None:
    async for _never in client.messages:  # the hand-over queue stays empty; this ends on a disconnect
        pass


def _check_time(ts: datetime, now: datetime) -> None:
    if ts > now + MAX_EARLY:
        raise Refused("future-timestamp", f"timestamp: {ts.isoformat()} is more than 5 minutes ahead")
    if ts < now - MAX_LATE:
        raise Refused("too-late", f"timestamp: {ts.isoformat()} is more than 24 hours old")


def _engine():
    from pipelet_app.db import get_engine

    return get_engine()
