"""The session cookie is the server's (HttpOnly, SameSite, Secure behind https); cookie-authenticated writes
and sockets come from this origin only; every answer carries the security headers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

sys.path.insert(0, str(Path(__file__).parent))

from helpers import bearer, guarded_api

from pipelet_app.api.ratelimit import limiter_for
from pipelet_app.settings import get_settings

FOREIGN = "http://testserver:8081"  # same host, another port: same-site, so SameSite alone lets it through
CSV = "driver_email,start_utc,energy_kwh,station_id\ndriver@acme.demo,2025-03-01T10:00:00Z,1,X\n"


@pytest.fixture
def client(demo: dict) -> Iterator[TestClient]:
    limiter_for.cache_clear()
    get_settings.cache_clear()
    with TestClient(guarded_api(), raise_server_exceptions=False) as test_client:
        yield test_client
    get_settings.cache_clear()


def sign_in(client: TestClient, email: str = "fleet@acme.demo", password: str = "pipelet-fleet"):
    return client.post("/auth/login", data={"email": email, "password": password}, follow_redirects=False)


def test_login_sets_an_httponly_strict_cookie_and_redirects_home(client: TestClient) -> None:
    response = sign_in(client)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("pipelet_session=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain-http PUBLIC_URL: a Secure cookie would never come back
    assert client.get("/api/v1/me").json()["email"] == "fleet@acme.demo"


def test_behind_https_the_cookie_is_secure_and_hsts_is_sent(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "strict-transport-security" not in client.get("/api/v1/health").headers
    monkeypatch.setenv("PUBLIC_URL", "https://pipelet.localhost")  # local: demo logins still allowed
    get_settings.cache_clear()
    response = client.post(
        "/auth/login",
        data={"email": "fleet@acme.demo", "password": "pipelet-fleet"},
        headers={"Origin": "https://pipelet.localhost"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and "Secure" in response.headers["set-cookie"]
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_wrong_password_goes_back_to_the_form_with_a_code_only(client: TestClient) -> None:
    response = sign_in(client, password="not-it-at-all")
    assert response.status_code == 303 and response.headers["location"] == "/login?error=wrong"
    assert "set-cookie" not in response.headers


def test_logout_revokes_and_clears_the_cookie(client: TestClient) -> None:
    sign_in(client)
    token = client.cookies.get("pipelet_session")
    response = client.post("/auth/logout", follow_redirects=False)
    assert response.status_code == 303 and 'pipelet_session=""' in response.headers["set-cookie"]
    replay = client.get("/api/v1/me", headers={"Cookie": f"pipelet_session={token}"})
    assert replay.status_code == 401, "the copied token stops working at once"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": FOREIGN},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_cookie_writes_from_another_origin_are_refused(client: TestClient, headers: dict) -> None:
    sign_in(client)
    response = client.post(
        "/api/v1/fleet/imports/public-sessions",
        content=CSV.encode(),
        headers={"Content-Type": "text/csv", **headers},
    )
    assert response.status_code == 403, response.text
    assert response.json()["error"]["message"].startswith("Origin:")
    same = client.post(
        "/api/v1/fleet/imports/public-sessions",
        content=CSV.encode(),
        headers={"Content-Type": "text/csv", "Origin": "http://testserver"},
    )
    assert same.status_code == 200 and same.json()["imported"] == 1  # the control: own origin works


def test_login_from_another_origin_is_refused(client: TestClient) -> None:
    """No login CSRF: a foreign page cannot sign the browser into the attacker's account."""
    response = client.post(
        "/auth/login",
        data={"email": "fleet@acme.demo", "password": "pipelet-fleet"},
        headers={"Origin": FOREIGN},
        follow_redirects=False,
    )
    assert response.status_code == 403 and "set-cookie" not in response.headers


def test_api_keys_work_from_any_origin(client: TestClient) -> None:
    key = bearer("fleet@acme.demo")
    response = client.post(
        "/api/v1/fleet/imports/public-sessions",
        content=CSV.encode(),
        headers={**key, "Content-Type": "text/csv", "Origin": FOREIGN},
    )
    assert response.status_code == 200, response.text


def test_event_socket_from_another_origin_is_closed(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/_event/?EIO=4&transport=websocket", headers={"Origin": FOREIGN}) as ws,
    ):
        ws.receive_text()
    assert closed.value.code == 1008


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/openapi.json", "/auth/logout", "/nowhere"])
def test_security_headers_on_every_answer(client: TestClient, path: str) -> None:
    response = client.post(path) if path == "/auth/logout" else client.get(path)
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
