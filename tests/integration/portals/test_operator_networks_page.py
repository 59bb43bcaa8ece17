"""`/operator/networks` data on both databases: each integration's state, last successful sync and the cause
of its last failure, rows skipped, in the page's language; Sync now; other tenants and roles refused; no
credential anywhere in what the page gets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from pipelet_app.auth import Forbidden, InvalidInput, NotFound, Principal
from pipelet_app.db import session_scope
from pipelet_app.db.models import NetworkAccount, User
from pipelet_app.i18n.catalogue import MESSAGES
from pipelet_app.i18n.formatting import in_locale
from pipelet_app.portals.operator import network_data as data
from pipelet_app.services import networks as service
from pipelet_app.settings import get_settings
from pollers import networks as poller
from tests.fakes.networks import FakeHelios, FakeLoop

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def _principal(email: str) -> Principal:
    with session_scope() as db:
        return Principal.of(db.exec(select(User).where(User.email == email)).one())


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeLoop, FakeHelios]]:
    with FakeLoop() as loop, FakeHelios() as helios:
        monkeypatch.setenv("LOOP_API_BASE", loop.url)
        monkeypatch.setenv("HELIOS_API_BASE", helios.url)
        get_settings.cache_clear()
        yield loop, helios
    get_settings.cache_clear()


async def test_the_page_shows_state_success_and_cause(demo: dict, fakes: tuple[FakeLoop, FakeHelios]) -> None:
    loop, helios = fakes
    son, north = _principal("operator@sonnenstrom.demo"), _principal("operator@northwind.demo")
    with session_scope() as db:
        empty = data.networks_view(db, son)
        ok = service.save_account(db, son, "helios", "Werkhof", helios.credentials())
        bad = service.save_account(db, son, "loop", "Depot", loop.credentials())
        for account_id in (ok["id"], bad["id"]):
            db.get(NetworkAccount, account_id).next_poll_utc = NOW  # type: ignore[union-attr]
    assert empty["accounts"] == [] and [a["network"] for a in empty["available"]] == [
        "Loop",
        "EVRange",
        "ChargePoint",
        "Helios",
    ]
    assert [a["configured"] for a in empty["available"]] == ["yes", "no", "yes", "yes"]
    loop.inject("/v1/sites", "500", times=5)
    helios.transactions[0].pop("idTag")
    helios.add_transaction(50002, "2026-12-01T08:00:00Z", "2026-12-01T09:00:00Z", 0, 1000)
    del helios.transactions[1]["timestampStart"]
    await poller.poll_due(clock=lambda: NOW)

    with session_scope() as db:
        view = data.networks_view(db, son)
        assert data.networks_view(db, north)["accounts"] == []
        with pytest.raises(NotFound):
            data.sync_now(db, north, str(bad["id"]))
        with pytest.raises(NotFound):
            data.sync_now(db, son, "x1")
        with pytest.raises(Forbidden):
            data.networks_view(db, _principal("driver@acme.demo"))
        assert data.sync_now(db, son, str(bad["id"])) == bad["id"]
    rows = {r["network"]: r for r in view["accounts"]}
    assert rows["Helios"]["status"] == "connected" and rows["Helios"]["last_error"] == "—"
    assert rows["Helios"]["last_success"].startswith("2026-12-02 12:00")
    assert rows["Helios"]["skipped"] == "session 50002: no 'timestampStart'"
    with in_locale("de"), session_scope() as db:  # the row's kind in the page's language
        german = {r["network"]: r for r in data.networks_view(db, son)["accounts"]}
    assert german["Helios"]["skipped"] == "Ladevorgang 50002: no 'timestampStart'"
    assert (rows["Helios"]["sessions"], rows["Helios"]["chargers"]) == ("1", "1")
    assert rows["Loop"]["status"] == "error" and rows["Loop"]["last_success"] == "—"
    assert "server error (500)" in rows["Loop"]["last_error"]
    text = str(view)
    for secret in (*loop.credentials().values(), *helios.credentials().values()):
        assert secret not in text
    for locale in ("en", "de"):  # every state the page shows has words in both languages
        for status in ("pending", "connected", "throttled", "error", "integration-error", "reauth-needed"):
            assert f"network_status.{status}" in MESSAGES[locale]
        for auth in {a["auth"] for a in view["available"]}:  # the page words the sign-in kind
            assert f"network_auth.{auth}" in MESSAGES[locale]


async def test_the_page_maps_a_network_location_to_a_site(
    demo: dict, fakes: tuple[FakeLoop, FakeHelios]
) -> None:
    from pipelet_app.auth import InvalidInput
    from pipelet_app.db.models import ChargingSession, Site

    loop, _ = fakes
    son, north = _principal("operator@sonnenstrom.demo"), _principal("operator@northwind.demo")
    with session_scope() as db:
        account = service.save_account(db, son, "loop", "Depot", loop.credentials())
        db.get(NetworkAccount, account["id"]).next_poll_utc = NOW  # type: ignore[union-attr]
        site = db.exec(select(Site).where(Site.tenant_id == son.tenant_id).order_by(Site.id)).first()
        foreign = db.exec(select(Site).where(Site.tenant_id == north.tenant_id)).first()
        assert site is not None and foreign is not None
    await poller.poll_due(clock=lambda: NOW)
    with session_scope() as db:
        view = data.networks_view(db, son)
    assert view["locations"] == [
        {
            "account_id": str(account["id"]),
            "account": "Loop Depot",
            "location_id": "site_7Qp2",
            "name": "Depot Nord",
            "chargers": "1",
            "site_id": data.NO_SITE,
        }
    ]
    assert {"id": str(site.id), "name": site.name} in view["sites"]
    assert str(foreign.id) not in {s["id"] for s in view["sites"]}

    with session_scope() as db:
        data.map_location(db, son, str(account["id"]), "site_7Qp2", str(site.id))
    with session_scope() as db:
        assert data.networks_view(db, son)["locations"][0]["site_id"] == str(site.id)
        stored = db.exec(select(ChargingSession).where(ChargingSession.reason == "network-loop")).one()
        assert stored.network_site_id == site.id
        with pytest.raises(NotFound):
            data.map_location(db, north, str(account["id"]), "site_7Qp2", str(foreign.id))
        with pytest.raises(NotFound):
            data.map_location(db, son, str(account["id"]), "site_7Qp2", str(foreign.id))
        with pytest.raises(InvalidInput, match=r"^site_id"):
            data.map_location(db, son, str(account["id"]), "site_7Qp2", "first")
    with session_scope() as db:
        data.map_location(db, son, str(account["id"]), "site_7Qp2", data.NO_SITE)
    with session_scope() as db:
        assert data.networks_view(db, son)["locations"][0]["site_id"] == data.NO_SITE
    for locale in ("en", "de"):
        for key in ("networks.locations", "networks.location", "networks.location_site", "networks.no_site"):
            assert MESSAGES[locale][key]


def test_the_connect_form_checks_tests_and_stores_like_the_api(
    demo: dict, fakes: tuple[FakeLoop, FakeHelios], caplog: pytest.LogCaptureFixture
) -> None:
    """The page's connect form (`network_data.connect`): the operator role first; the API's checks and live
    test, their refusals in the page's language naming the field; stored in the caller's tenant only; the
    secret in no answer, error, view or log line."""
    caplog.set_level("DEBUG")
    loop, _ = fakes
    son, north = _principal("operator@sonnenstrom.demo"), _principal("operator@northwind.demo")
    good = loop.credentials()
    secret = good["client_secret"]
    with session_scope() as db, pytest.raises(Forbidden):
        data.connect(db, _principal("driver@acme.demo"), {"network": "loop", "label": "Depot", **good})

    def refusal(form: dict[str, str]) -> str:
        with in_locale("de"), session_scope() as db, pytest.raises(InvalidInput) as refused:
            data.connect(db, son, form)
        return refused.value.message

    assert refusal({"network": "loop", "client_id": good["client_id"]}) == (
        "Client-Secret: für dieses Netzwerk erforderlich."
    )
    assert refusal({"network": "nope", **good}) == "Netzwerk: bitte eines aus der Liste wählen."
    wrong = refusal({"network": "loop", **good, "client_secret": "wrong-secret-123"})
    # the adapter's English ("Loop refused the client id or secret") says nothing the German does not
    assert wrong == "Zugangsdaten: vom Netzwerk abgelehnt."

    with session_scope() as db:  # the other networks' inputs the form posts too are not the chosen one's
        account_id = data.connect(db, son, {"network": "loop", "label": "Depot", **good, "api_key": "x"})
    with session_scope() as db:
        row = db.get(NetworkAccount, account_id)
        assert row is not None and row.tenant_id == son.tenant_id and secret not in row.credentials_enc
        assert secret not in repr(data.networks_view(db, son))
        assert [a["label"] for a in data.networks_view(db, son)["accounts"]] == ["Depot"]
        assert data.networks_view(db, north)["accounts"] == []
    taken = refusal({"network": "loop", "label": "Depot", **good})
    assert (
        taken == "Ihr Name für das Konto: Ihre Organisation hat bei diesem Netzwerk schon ein Konto „Depot“."
    )
    assert secret not in caplog.text and "wrong-secret-123" not in caplog.text


def test_the_replace_form_tests_and_keeps_the_account(
    demo: dict, fakes: tuple[FakeLoop, FakeHelios], caplog: pytest.LogCaptureFixture
) -> None:
    """The page's replace form (`network_data.replace_credentials`): the operator role and the tenant
    first; refused credentials worded in the page's language and the stored ones kept; accepted ones
    stored in place (same account, still listed once); no secret in any error, view or log line."""
    caplog.set_level("DEBUG")
    _, helios = fakes
    son, north = _principal("operator@sonnenstrom.demo"), _principal("operator@northwind.demo")
    with session_scope() as db:
        account_id = service.save_account(db, son, "helios", "Werkhof", helios.credentials())["id"]
    with session_scope() as db:
        stored = db.get(NetworkAccount, account_id).credentials_enc  # type: ignore[union-attr]
        assert [a["name"] for a in data.networks_view(db, son)["accounts"]] == ["Helios Werkhof"]
    helios.rotate("helios-rotated-key-42")
    form = {"account": str(account_id), "api_key": "helios-rotated-key-42", "client_id": "ignored"}
    with session_scope() as db, pytest.raises(Forbidden):
        data.replace_credentials(db, _principal("driver@acme.demo"), form)
    with session_scope() as db, pytest.raises(NotFound):
        data.replace_credentials(db, north, form)

    def refusal(values: dict[str, str]) -> str:
        with in_locale("de"), session_scope() as db, pytest.raises(InvalidInput) as refused:
            data.replace_credentials(db, son, values)
        return refused.value.message

    assert refusal({"api_key": "x"}) == "Konto: bitte eines aus der Liste wählen."
    assert refusal({"account": str(account_id)}) == "API-Schlüssel: für dieses Netzwerk erforderlich."
    wrong = refusal({"account": str(account_id), "api_key": "wrong-key-777"})
    # no English adapter text, and no "connect the account again": the stored credentials stay in force
    assert wrong == "Zugangsdaten: vom Netzwerk abgelehnt (HTTP 401)."
    with session_scope() as db:
        assert db.get(NetworkAccount, account_id).credentials_enc == stored  # type: ignore[union-attr]

    with session_scope() as db:
        assert data.replace_credentials(db, son, form) == account_id
    with session_scope() as db:
        row = db.get(NetworkAccount, account_id)
        assert row is not None and row.credentials_enc != stored and row.status == "pending"
        assert "helios-rotated-key-42" not in (row.credentials_enc or "")
        assert "helios-rotated-key-42" not in repr(data.networks_view(db, son))
        assert [a["id"] for a in data.networks_view(db, son)["accounts"]] == [str(account_id)]
    assert "helios-rotated-key-42" not in caplog.text and "wrong-key-777" not in caplog.text
    for locale in ("en", "de"):
        for key in (
            "networks.replace",
            "networks.replace_hint",
            "networks.replace_button",
            "networks.replaced",
        ):
            assert MESSAGES[locale][key]
