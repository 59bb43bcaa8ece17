"""Every brand's adapter against its fake cloud: the behaviour the poll job and connect flow rely on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pipelet_app.inverters.base import (
    BrandUnavailable,
    CounterSnapshot,
    IntegrationError,
    InvalidCredentials,
    InverterAdapter,
    InverterError,
    Throttled,
)
from pipelet_app.inverters.registry import adapter_class, brands, create_adapter
from pipelet_app.inverters.service import ConnectionStatus, connect, poll_account
from tests.fakes.inverters import HARNESSES
from tests.fakes.inverters._harness import BrandHarness
from tests.fakes.inverters._server import FakeCloud
from tests.pipelet_process import free_port


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest) -> BrandHarness:
    return HARNESSES[request.param]


@pytest.fixture
def fake(harness: BrandHarness) -> Iterator[FakeCloud]:
    with harness.make_fake() as server:
        yield server


def make(
    harness: BrandHarness,
    fake: FakeCloud,
    credentials: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
) -> InverterAdapter:
    return create_adapter(
        harness.brand,
        credentials if credentials is not None else harness.good_credentials(fake),
        base_url=fake.base_url,
        clock=fake.clock.now,
        state=state,
        **harness.adapter_kwargs(fake),
    )


def secrets_of(credentials: dict[str, Any]) -> list[str]:
    return [v for v in credentials.values() if isinstance(v, str) and len(v) >= 6]


def assert_no_secret(error: InverterError, credentials: dict[str, Any]) -> None:
    text = f"{error} {error.message!r} {error.args!r}"
    for secret in secrets_of(credentials):
        assert secret not in text


def test_every_fake_brand_is_registered(harness: BrandHarness) -> None:
    assert harness.brand in brands()
    assert adapter_class(harness.brand).brand == harness.brand


async def test_connect_with_good_credentials(harness: BrandHarness, fake: FakeCloud) -> None:
    async with make(harness, fake) as adapter:
        await adapter.test_credentials()


async def test_wrong_credentials_are_refused(harness: BrandHarness, fake: FakeCloud) -> None:
    bad = harness.bad_credentials(fake)
    async with make(harness, fake, bad) as adapter:
        with pytest.raises(InvalidCredentials) as caught:
            await adapter.test_credentials()
    assert_no_secret(caught.value, bad)
    assert caught.value.brand == harness.brand


async def test_detects_the_wallbox_and_skips_systems_without_one(
    harness: BrandHarness, fake: FakeCloud
) -> None:
    async with make(harness, fake) as adapter:
        systems = await adapter.list_systems()
        found = await adapter.discover()
    assert len(systems) >= harness.min_systems, (
        "fakes have a second system without a charger where brands can"
    )
    assert [box.serial for _, box in found] == [harness.wallbox(fake).serial]
    system, box = found[0]
    assert box.system_id == system.system_id


async def test_counter_rises_through_simulated_sessions(harness: BrandHarness, fake: FakeCloud) -> None:
    """Polls every 30 min with a fresh adapter each time (as the poll job does, carrying state and tokens)."""
    credentials = harness.good_credentials(fake)
    state: dict[str, Any] = {}
    wallbox = harness.wallbox(fake)
    async with make(harness, fake, credentials, state) as adapter:
        system, box = (await adapter.discover())[0]
    snaps: list[CounterSnapshot] = []

    async def poll() -> None:
        nonlocal credentials
        async with make(harness, fake, credentials, state) as adapter:
            snaps.append(await adapter.fetch_snapshot(system, box))
            if adapter.credentials_changed:
                credentials = adapter.credentials

    settle = 900 if harness.interval_based else 0
    wallbox.advance(1800)
    await poll()
    first = snaps[-1].lifetime_wh
    wallbox.start(7400)
    for _ in range(4):
        wallbox.advance(1800)
        await poll()
    wallbox.stop()
    wallbox.advance(3600 + settle)
    await poll()
    energy_one = wallbox.sessions[-1].energy_wh
    assert snaps[-1].lifetime_wh - first == pytest.approx(energy_one, abs=harness.energy_tolerance_wh)
    wallbox.start(3700)
    for _ in range(3):
        wallbox.advance(1800)
        await poll()
    wallbox.stop()
    wallbox.advance(1800 + settle)
    await poll()
    energy_two = wallbox.sessions[-1].energy_wh

    values = [s.lifetime_wh for s in snaps]
    assert values == sorted(values), "the counter never goes backwards"
    assert values[2] > values[1] > values[0], "the counter rises while charging"
    assert values[-1] - first == pytest.approx(energy_one + energy_two, abs=2 * harness.energy_tolerance_wh)
    times = [s.time_utc for s in snaps]
    assert times == sorted(times)
    assert all(t.utcoffset() is not None and t.utcoffset().total_seconds() == 0 for t in times)


async def test_throttle_answer_raises_throttled_with_retry_after(
    harness: BrandHarness, fake: FakeCloud
) -> None:
    credentials = harness.good_credentials(fake)
    async with make(harness, fake, credentials) as adapter:
        system, box = (await adapter.discover())[0]
        fake.inject("throttle", match=harness.snapshot_match)
        with pytest.raises(Throttled) as caught:
            await adapter.fetch_snapshot(system, box)
    assert caught.value.retry_after_s >= 1
    assert_no_secret(caught.value, credentials)


@pytest.mark.parametrize("fault", ["500", "html"])
async def test_broken_answers_raise_brand_unavailable(
    harness: BrandHarness, fake: FakeCloud, fault: str
) -> None:
    credentials = harness.good_credentials(fake)
    async with make(harness, fake, credentials) as adapter:
        system, box = (await adapter.discover())[0]
        fake.inject(fault, match=harness.snapshot_match)
        with pytest.raises(BrandUnavailable) as caught:
            await adapter.fetch_snapshot(system, box)
        assert_no_secret(caught.value, credentials)
        # the next poll works again: nothing was left half-done
        snapshot = await adapter.fetch_snapshot(system, box)
    assert snapshot.lifetime_wh >= 0


ODD_BODIES = [
    [],
    "maintenance",
    None,
    {"success": True, "failCode": 0, "code": "0", "result_code": "1", "data": None, "result_data": None},
    {"success": True, "failCode": 0, "code": "0", "result_code": "1", "data": [1, "x"], "records": [1]},
    {"success": True, "data": {"channels": "x"}, "result": {"items": [{"guid": 1}]}, "intervals": [{}]},
    {"set": [{"time": "yesterday"}], "meterEnergyDetails": {"meters": [{"values": [{"value": 1}]}]}},
]


async def test_answers_of_unexpected_shape_are_integration_errors(
    harness: BrandHarness, fake: FakeCloud, caplog: pytest.LogCaptureFixture
) -> None:
    """A 2xx answer whose structure the adapter does not know is our problem, not the vendor being down:
    IntegrationError (never BrandUnavailable "retry later"), logged with a stack, and the next normal
    answer is read again. A shape whose *value* is merely absent (null counter) may stay BrandUnavailable."""
    async with make(harness, fake) as adapter:
        system, box = (await adapter.discover())[0]
        for body in [{}, *ODD_BODIES]:
            caplog.clear()
            fake.inject("body", match=harness.snapshot_match, body=body)
            with pytest.raises(InverterError) as caught:
                await adapter.fetch_snapshot(system, box)
            assert not isinstance(caught.value, Throttled | InvalidCredentials)
            if isinstance(caught.value, IntegrationError):
                assert any(r.levelname == "ERROR" and (r.exc_info or r.stack_info) for r in caplog.records)
            else:  # only a value-level gap may be "retry later", never a missing structure
                assert isinstance(caught.value, BrandUnavailable)
                assert "lacks the field" not in str(caught.value) and "format" not in str(caught.value)
        with caplog.at_level("ERROR"):
            fake.inject("body", match=harness.snapshot_match, body={})
            with pytest.raises(IntegrationError) as empty:
                await adapter.fetch_snapshot(system, box)
        assert "Pipelet" in str(empty.value)
        assert (await adapter.fetch_snapshot(system, box)).lifetime_wh >= 0


async def test_expired_session_is_renewed_without_the_driver(harness: BrandHarness, fake: FakeCloud) -> None:
    if harness.expire_session is None:
        pytest.skip(f"{harness.brand} authenticates every request with a static key")
    credentials = harness.good_credentials(fake)
    async with make(harness, fake, credentials) as adapter:
        system, box = (await adapter.discover())[0]
        harness.expire_session(fake)
        snapshot = await adapter.fetch_snapshot(system, box)
    assert snapshot.lifetime_wh >= 0


async def test_unreachable_cloud_is_brand_unavailable(harness: BrandHarness, fake: FakeCloud) -> None:
    port = free_port()
    credentials = harness.good_credentials(fake)
    adapter = create_adapter(
        harness.brand, credentials, base_url=f"http://127.0.0.1:{port}", clock=fake.clock.now
    )
    async with adapter:
        with pytest.raises(BrandUnavailable) as caught:
            await adapter.test_credentials()
    assert_no_secret(caught.value, credentials)


async def test_poll_account_connected_then_reauth_when_credentials_stop_working(
    harness: BrandHarness, fake: FakeCloud
) -> None:
    kwargs: dict[str, Any] = dict(
        base_url=fake.base_url, clock=fake.clock.now, **harness.adapter_kwargs(fake)
    )
    result = await connect(harness.brand, harness.good_credentials(fake), **kwargs)
    harness.wallbox(fake).charge(minutes=30, power_w=7_000)
    fake.clock.advance(3_600)
    good = await poll_account(harness.brand, result.credentials, result.found, state=result.state, **kwargs)
    assert good.status is ConnectionStatus.CONNECTED, good.message
    assert good.requests >= 1 and good.next_poll_utc is not None
    assert len(good.snapshots) + len(good.native_sessions) == 1

    bad = harness.bad_credentials(fake)
    revoked = await poll_account(harness.brand, bad, result.found, state=good.state, **kwargs)
    assert revoked.status is ConnectionStatus.REAUTH_NEEDED
    assert revoked.next_poll_utc is None
    for secret in secrets_of(bad):
        assert secret not in (revoked.message or "")
