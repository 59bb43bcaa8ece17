"""Each network adapter against its local fake: happy path, pagination, 401, 429, 5xx, a changed field (one
row, skipped with its reason) and a changed envelope (the account's integration error).

The fakes serve answers built from the example payloads under tests/fixtures/vendors/<network>/ (SOURCE.md
in each says which are documented and which are our assumption); the shape test ties them together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from pipelet_app.networks.base import (
    BrandUnavailable,
    IntegrationError,
    InvalidCredentials,
    NetworkAdapter,
    ReauthRequired,
    Throttled,
)
from pipelet_app.networks.registry import adapter_class, networks
from tests.fakes.inverters._recorded import assert_same_shape
from tests.fakes.networks import FAKES, FakeChargePoint, FakeEvRange, FakeHelios, FakeLoop
from tests.fakes.networks._server import FakeNetwork, fixture

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    sessions_match: str  # the fault key of the sessions call
    add: Callable[[Any, int], None]  # add the n-th extra finished session (1 kWh each)
    break_row: Callable[[Any], str]  # remove a field from one session row; answers the field's name
    fixture_kwh: float


def _add_loop(fake: FakeLoop, n: int) -> None:
    fake.add_session(f"ses_x{n}", f"2026-12-01T1{n % 10}:00:00Z", f"2026-12-01T1{n % 10}:30:00Z", 1.0)


def _add_evrange(fake: FakeEvRange, n: int) -> None:
    fake.add_session(
        f"S-x{n}", "EVSE-0001", "1", f"2026-12-01T1{n % 10}:00:00Z", f"2026-12-01T1{n % 10}:30:00Z", 1.0
    )


def _add_cp(fake: FakeChargePoint, n: int) -> None:
    fake.add_session(f"7{n:07d}", f"2026-12-01T1{n % 10}:00:00Z", f"2026-12-01T1{n % 10}:30:00Z", 1.0)


def _add_helios(fake: FakeHelios, n: int) -> None:
    fake.add_transaction(60000 + n, f"2026-12-01T1{n % 10}:00:00Z", f"2026-12-01T1{n % 10}:30:00Z", 0, 1000)


def _break(rows: list[dict[str, Any]], field: str) -> str:
    del rows[0][field]
    return field


CASES: dict[str, Case] = {
    "loop": Case("/v1/sessions", _add_loop, lambda f: _break(f.sessions, "started_at"), 18.42),
    "evrange": Case("/sessions", _add_evrange, lambda f: _break(f.sessions, "start_date_time"), 11.5),
    "chargepoint": Case("getChargingSessionData", _add_cp, lambda f: _break(f.sessions, "startTime"), 9.874),
    "helios": Case("/api/v1/transactions", _add_helios, lambda f: _break(f.transactions, "meterStart"), 8.6),
}


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture(params=list(CASES))
def network(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def fake(network: str) -> Iterator[FakeNetwork]:
    with FAKES[network]() as server:
        yield server


def _adapter(
    network: str, fake: FakeNetwork, credentials: dict[str, str] | None = None, **kw: Any
) -> NetworkAdapter:
    creds = credentials if credentials is not None else fake.credentials()  # type: ignore[attr-defined]
    return adapter_class(network)(creds, base_url=fake.url, sleep=kw.pop("sleep", Sleeps()), **kw)


async def _sync(adapter: NetworkAdapter) -> tuple[list, list, Any]:
    async with adapter:
        chargers, skipped = await adapter.discover()
        batch = await adapter.fetch_sessions(chargers, NOW)
    return chargers, skipped + batch.skipped, batch


def test_registry_has_the_four_networks() -> None:
    assert networks() == ["loop", "evrange", "chargepoint", "helios"]


async def test_happy_path(network: str, fake: FakeNetwork) -> None:
    adapter = _adapter(network, fake)
    await adapter.test_credentials()
    chargers, skipped, batch = await _sync(adapter)
    assert skipped == []
    assert len(chargers) == 1 and chargers[0].external_id and chargers[0].connectors
    assert len(batch.sessions) == 1
    session = batch.sessions[0]
    assert session.energy_wh == pytest.approx(CASES[network].fixture_kwh * 1000)
    assert session.charger_external_id == chargers[0].external_id
    assert session.end_utc is not None and session.end_utc > session.start_utc
    assert batch.state, "the cursor is returned with the sessions"


async def test_pagination_reads_every_page(network: str, fake: FakeNetwork) -> None:
    for n in range(5):
        CASES[network].add(fake, n)
    fake.page_size = 2
    _, skipped, batch = await _sync(_adapter(network, fake))
    assert skipped == []
    assert len({s.session_id for s in batch.sessions}) == 6
    pages = [r for r in fake.requests if CASES[network].sessions_match in r[1] or r[1] == "/"]
    assert len(pages) >= 3


async def test_refused_credentials(network: str, fake: FakeNetwork) -> None:
    bad = {name: "wrong-value" for name in fake.credentials()}  # type: ignore[attr-defined]
    with pytest.raises(InvalidCredentials) as caught:
        await _adapter(network, fake, bad).test_credentials()
    assert "wrong-value" not in str(caught.value)


async def test_401_on_a_data_call_is_reauth(network: str, fake: FakeNetwork) -> None:
    fake.inject(CASES[network].sessions_match if network != "chargepoint" else "", "401", times=5)
    with pytest.raises(ReauthRequired):
        await _sync(_adapter(network, fake))


async def test_429_throttles_with_retry_after(network: str, fake: FakeNetwork) -> None:
    fake.retry_after = "120"  # longer than an adapter waits itself: the scheduler must wait
    fake.inject(CASES[network].sessions_match, "429", times=5)
    if network == "evrange":  # connector-level: this connector is skipped with the reason, nothing raised
        _, skipped, batch = await _sync(_adapter(network, fake))
        assert batch.sessions == [] and [s.kind for s in skipped] == ["connector"]
        assert "throttling" in skipped[0].reason
        return
    with pytest.raises(Throttled) as caught:
        await _sync(_adapter(network, fake))
    assert caught.value.retry_after_s == 120


async def test_5xx_is_retried_later(network: str, fake: FakeNetwork) -> None:
    fake.inject(CASES[network].sessions_match, "500", times=5)
    if network == "evrange":
        _, skipped, _ = await _sync(_adapter(network, fake))
        assert "server error (500)" in skipped[0].reason
        return
    with pytest.raises(BrandUnavailable):
        await _sync(_adapter(network, fake))


async def test_maintenance_page_is_retried_later(network: str, fake: FakeNetwork) -> None:
    fake.inject(CASES[network].sessions_match, "html", times=5)
    if network == "evrange":
        _, skipped, _ = await _sync(_adapter(network, fake))
        assert skipped and skipped[0].kind == "connector"
        return
    with pytest.raises(BrandUnavailable):
        await _sync(_adapter(network, fake))


async def test_a_changed_field_skips_that_row_only(network: str, fake: FakeNetwork) -> None:
    CASES[network].add(fake, 1)
    field = CASES[network].break_row(fake)
    _, skipped, batch = await _sync(_adapter(network, fake))
    assert len(batch.sessions) == 1, "the good row is kept"
    assert len(skipped) == 1 and skipped[0].kind == "session"
    assert field in skipped[0].reason


@pytest.mark.parametrize("network", ["loop", "evrange", "helios"])  # chargepoint answers XML elements
async def test_a_charger_row_that_is_not_an_object_is_skipped(network: str, fake: FakeNetwork) -> None:
    """Before, Loop's and EVRange's charger parsers read such a row with `.get`: AttributeError, and the
    whole account's poll ended."""
    rows = {
        "loop": lambda: fake.chargers[fake.sites[0]["id"]],  # type: ignore[attr-defined]
        "evrange": lambda: fake.locations[0]["evses"],  # type: ignore[attr-defined]
        "helios": lambda: fake.chargers,  # type: ignore[attr-defined]
    }[network]()
    rows.append("not a charger")
    chargers, skipped, batch = await _sync(_adapter(network, fake))
    assert len(chargers) == 1 and len(batch.sessions) == 1, "the good charger and its session are kept"
    assert [(s.kind, s.reason) for s in skipped] == [("charger", "not an object")]


async def test_a_changed_envelope_is_an_integration_error(network: str, fake: FakeNetwork) -> None:
    fake.inject(CASES[network].sessions_match, "changed")
    with pytest.raises(IntegrationError):
        await _sync(_adapter(network, fake))


async def test_cursor_resumes_and_holds_open_sessions(network: str, fake: FakeNetwork) -> None:
    """A re-poll from the saved cursor still sees a session that was open, and reads it again when it ends."""
    adapter = _adapter(network, fake)
    _, _, first = await _sync(adapter)
    if network == "helios":
        open_row = fake.add_transaction(70001, "2026-12-02T08:00:00Z", None, 5000, None)  # type: ignore[attr-defined]
    else:
        CASES[network].add(fake, 9)
        open_row = fake.sessions[-1]  # type: ignore[attr-defined]
        key = {"loop": "ended_at", "evrange": "end_date_time", "chargepoint": "endTime"}[network]
        start_key = {"loop": "started_at", "evrange": "start_date_time", "chargepoint": "startTime"}[network]
        open_row[start_key], open_row[key] = "2026-12-02T08:00:00Z", None
    _, _, second = await _sync(_adapter(network, fake, state=first.state))
    running = [s for s in second.sessions if s.end_utc is None]
    assert len(running) == 1
    if network == "helios":
        open_row.update(timestampStop="2026-12-02T09:00:00Z", meterStop=12000)
    else:
        open_row[key] = "2026-12-02T09:00:00Z"
    _, _, third = await _sync(_adapter(network, fake, state=second.state))
    assert running[0].session_id in {s.session_id for s in third.sessions if s.end_utc is not None}


# ------------------------------------------------------------------------------ network specifics


async def test_loop_refreshes_an_expired_token_once() -> None:
    with FakeLoop() as fake:
        adapter = _adapter("loop", fake)
        await adapter.test_credentials()
        fake.revoke_tokens()
        _, _, batch = await _sync(adapter)
        assert batch.sessions and adapter.credentials_changed and fake.tokens_issued == 2


async def test_evrange_retries_with_back_off_then_succeeds() -> None:
    with FakeEvRange() as fake:
        fake.add_connector("EVSE-0002", "1")
        fake.add_session("S-2", "EVSE-0002", "1", "2026-12-01T08:00:00Z", "2026-12-01T09:00:00Z", 3.0)
        fake.inject("EVSE-0001/1/sessions", "500", times=2)
        fake.inject("EVSE-0002/1/sessions", "429", times=1)
        sleeps = Sleeps()
        _, skipped, batch = await _sync(_adapter("evrange", fake, sleep=sleeps))
        assert skipped == [] and {s.session_id for s in batch.sessions} == {"S-100001", "S-2"}
        assert sleeps.waits == [1.0, 2.0, 2.0]  # back-off 1 s, 2 s for the 5xx; Retry-After 2 s for the 429
        assert set(batch.state["connectors"]) == {"EVSE-0001/1", "EVSE-0002/1"}


async def test_evrange_throttled_connector_keeps_its_cursor_while_others_sync() -> None:
    with FakeEvRange() as fake:
        fake.add_connector("EVSE-0002", "1")
        fake.add_session("S-2", "EVSE-0002", "1", "2026-12-01T08:00:00Z", "2026-12-01T09:00:00Z", 3.0)
        adapter = _adapter("evrange", fake)
        _, _, first = await _sync(adapter)
        fake.retry_after = "300"
        fake.inject("EVSE-0001/1/sessions", "429", times=3)
        _, skipped, second = await _sync(_adapter("evrange", fake, state=first.state))
        assert [(s.kind, s.ref) for s in skipped] == [("connector", "EVSE-0001/1")]
        assert {s.session_id for s in second.sessions} == {"S-2"}
        assert second.state["connectors"]["EVSE-0001/1"] == first.state["connectors"]["EVSE-0001/1"]


async def test_chargepoint_sends_the_documented_envelope() -> None:
    with FakeChargePoint() as fake:
        seen: list[bytes] = []

        async def record(request: httpx.Request) -> httpx.Response:
            seen.append(request.content)
            async with httpx.AsyncClient() as client:
                return await client.post(fake.url, content=request.content, headers=dict(request.headers))

        client = httpx.AsyncClient(transport=httpx.MockTransport(record))
        adapter = _adapter("chargepoint", fake, client=client)
        await adapter.test_credentials()
        await client.aclose()
    documented = fixture("chargepoint", "getStations_request.xml").strip()
    sent = seen[0].decode()
    cp = fake.credentials()
    assert sent == documented.replace("API_KEY", cp["api_key"]).replace("API_PASSWORD", cp["api_password"])


async def test_chargepoint_refuses_a_doctype() -> None:
    with FakeChargePoint() as fake:

        async def evil(request: httpx.Request) -> httpx.Response:
            return httpx.Response(
                200, text='<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
            )

        client = httpx.AsyncClient(transport=httpx.MockTransport(evil))
        with pytest.raises(BrandUnavailable, match="document type"):
            await _adapter("chargepoint", fake, client=client).test_credentials()
        await client.aclose()


async def test_helios_identifies_chargers_by_their_ocpp_vendor() -> None:
    with FakeHelios() as fake:
        fake.chargers.append(
            {**fake.chargers[0], "chargePointId": "HEL-CP-0002", "ocpp": {"chargePointModel": "x"}}
        )
        chargers, skipped = await _adapter("helios", fake).discover()
    assert [(c.vendor, c.serial) for c in chargers] == [("Alfen BV", "ACE0001234")]
    assert skipped[0].ref == "HEL-CP-0002" and "chargePointVendor" in skipped[0].reason


@pytest.mark.parametrize(
    ("network", "path", "name", "key"),
    [
        ("loop", "/v1/sites", "sites.json", None),
        ("loop", "/v1/sessions?started_after=2026-01-01T00:00:00Z", "sessions.json", None),
        ("evrange", "/ocpi/2.2.1/locations", "locations.json", None),
        (
            "evrange",
            "/ocpi/2.2.1/connectors/EVSE-0001/1/sessions?date_from=2026-01-01T00:00:00Z",
            "sessions.json",
            None,
        ),
        ("helios", "/api/v1/chargers", "chargers.json", None),
        ("helios", "/api/v1/transactions?since=2026-01-01T00:00:00Z", "transactions.json", None),
    ],
)
def test_fakes_serve_the_fixture_shapes(network: str, path: str, name: str, key: None) -> None:
    with FAKES[network]() as fake:
        creds = fake.credentials()  # type: ignore[attr-defined]
        headers = {
            "loop": {},
            "evrange": {"Authorization": f"Token {creds.get('token')}"},
            "helios": {"X-API-Key": str(creds.get("api_key"))},
        }[network]
        if network == "loop":
            token = httpx.post(
                f"{fake.url}/oauth/token", data={"grant_type": "client_credentials", **creds}
            ).json()
            assert_same_shape(token, fixture("loop", "token.json"))
            headers = {"Authorization": f"Bearer {token['access_token']}"}
        served = httpx.get(f"{fake.url}{path}", headers=headers).json()
    assert_same_shape(served, fixture(network, name))
