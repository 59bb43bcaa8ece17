"""Security profile 2: TLS + HTTP Basic on the same CSMS code path (self-signed certificate)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from csms_helpers import add_charger, charger_row
from rawcp import RawChargePoint
from websockets.exceptions import InvalidMessage, InvalidStatus

from pipelet_app.ocpp.server import CsmsServer


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
