"""Security profile 2: TLS + HTTP Basic on the same CSMS code path (self-signed certificate), and operator
commands reaching chargers through a CSMS that speaks only TLS (the `pipelet run` layout)."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from csms_helpers import CsmsProcess, add_charger, add_tenant, charger_row
from rawcp import RawChargePoint
from test_csms_api_commands import operator_key
from websockets.exceptions import InvalidMessage, InvalidStatus

from pipelet_app.api import build_api
from pipelet_app.ocpp import commands
from pipelet_app.ocpp.server import CsmsServer
from pipelet_app.settings import get_settings
from tests.pipelet_process import free_port


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # OpenSSL checks validity against the system clock, which a test's time travel does not move
        .not_valid_before(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "csms.pem", tmp_path / "csms.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


async def test_security_profile_2_tls_with_basic_auth(db: str, tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    add_charger("CP-TLS", password="tls-password-1")
    server = CsmsServer("127.0.0.1", 0, node_id="tls-node", ssl_context=server_ctx)
    await server.start()
    try:
        base = f"wss://127.0.0.1:{server.port}"
        async with RawChargePoint(base, "CP-TLS", password="tls-password-1", ssl_context=client_ctx) as cp:
            assert (await cp.boot16())["status"] == "Accepted"
            assert charger_row("CP-TLS").is_online
        with pytest.raises(InvalidStatus) as refused:
            await RawChargePoint(base, "CP-TLS", password="wrong-password", ssl_context=client_ctx).connect()
        assert refused.value.response.status_code == 401
        with pytest.raises((OSError, InvalidMessage)):  # plain ws:// to a TLS port never upgrades
            await RawChargePoint(
                f"ws://127.0.0.1:{server.port}", "CP-TLS", password="tls-password-1"
            ).connect()
    finally:
        await server.stop()


async def test_api_command_reaches_a_charger_through_a_tls_only_csms(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web process and `python csms_server.py` share CSMS_PORT / CSMS_TLS_CERT as under `pipelet run`:
    the loopback command path dials wss:// trusting that certificate; a web process that does not trust
    it gets a 503 naming the CSMS, never the charger's 409."""
    cert, key = self_signed(tmp_path)
    port = free_port()
    env = {"CSMS_PORT": str(port), "CSMS_TLS_CERT": str(cert), "CSMS_TLS_KEY": str(key)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    assert commands._local_server is None, "the command must leave this process"
    tenant = add_tenant("op")
    add_charger("CP-WSS", tenant_id=tenant, password="wss-password-1")
    headers = operator_key(tenant, "ops@op.test")
    csms = CsmsProcess(port, env)
    await csms.start()
    try:
        transport = httpx.ASGITransport(app=build_api())
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://pipelet") as api,
            RawChargePoint(
                f"wss://127.0.0.1:{port}",
                "CP-WSS",
                password="wss-password-1",
                ssl_context=ssl.create_default_context(cafile=str(cert)),
            ) as cp,
        ):
            assert (await cp.boot16())["status"] == "Accepted"
            received: list[dict] = []
            cp.responders["Reset"] = lambda payload: received.append(payload) or {"status": "Rejected"}
            url = "/api/v1/chargers/CP-WSS/commands/reset"
            answer = await api.post(url, json={"type": "Hard"}, headers=headers)
            assert answer.status_code == 200, answer.text
            assert answer.json()["response"] == {"status": "Rejected"}
            assert received == [{"type": "Hard"}]

            (tmp_path / "other").mkdir()
            other_cert, _ = self_signed(tmp_path / "other")
            for untrusting in (None, str(other_cert)):  # plain ws:// to the TLS port; a foreign cert
                if untrusting is None:
                    monkeypatch.delenv("CSMS_TLS_CERT")
                    monkeypatch.delenv("CSMS_TLS_KEY")
                else:
                    monkeypatch.setenv("CSMS_TLS_CERT", untrusting)
                get_settings.cache_clear()
                refused = await api.post(url, json={"type": "Hard"}, headers=headers)
                assert refused.status_code == 503, refused.text
                assert f"127.0.0.1:{port}/internal/commands" in refused.text
            assert received == [{"type": "Hard"}], "nothing reached the charger over an untrusted path"
    finally:
        csms.stop()


async def test_loopback_trusts_a_ca_issued_certificate_by_its_own_file(tmp_path: Path) -> None:
    """A real deployment's certificate is CA-issued and names the public host, not 127.0.0.1: the
    loopback dial still trusts it, through the very file the CSMS serves (leaf alone, or leaf + key)."""
    from pipelet_app.ocpp.commands import loopback_tls_context

    def issue(
        subject: str,
        issuer: str,
        key: ec.EllipticCurvePrivateKey,
        signer: ec.EllipticCurvePrivateKey,
        ca: bool,
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
            .not_valid_after(dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName("csms.example.com")]), False
            )
        return builder.sign(signer, hashes.SHA256())

    root_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    leaf = issue("csms.example.com", "Test Root", leaf_key, root_key, ca=False)
    leaf_pem = leaf.public_bytes(serialization.Encoding.PEM)
    key_pem = leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "leaf.pem").write_bytes(leaf_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    (tmp_path / "combined.pem").write_bytes(leaf_pem + key_pem)
    (tmp_path / "other").mkdir()
    foreign, _ = self_signed(tmp_path / "other")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "key.pem")
    server = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0, ssl=server_ctx)
    port = server.sockets[0].getsockname()[1]
    try:
        for trusted in ("leaf.pem", "combined.pem"):
            _, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=loopback_tls_context(str(tmp_path / trusted))
            )
            writer.close()
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection("127.0.0.1", port, ssl=loopback_tls_context(str(foreign)))
    finally:
        server.close()
