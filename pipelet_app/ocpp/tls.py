"""The CSMS's TLS: security profiles 2 and 3 on one port.

- `server_context`: TLS 1.2 or newer (TC_A_06), the OCPP 2.0.1 cipher list (A00.FR.318/319: the
  ECDHE suites and AES128-GCM-SHA256 / AES256-GCM-SHA384), one server certificate from
  `CSMS_TLS_CERT`/`CSMS_TLS_KEY` and optionally a second of the other key type from
  `CSMS_TLS_CERT_2`/`CSMS_TLS_KEY_2` (RSA beside ECDSA: OpenSSL picks per handshake what the client
  supports). With `CSMS_TLS_CLIENT_CA` client certificates are requested and verified against that
  bundle: a certificate that does not chain to it (a self-signed one, say) fails the handshake
  (TC_A_08); a client without one may still come in over profile 2 (Basic auth).
- `connection_profile`: which profile a socket came in on: 3 with a verified client certificate,
  2 over TLS, 1 with Basic credentials on plain ws, 0 without any.
- `certificate_identity`: the subject CN of the verified client certificate; a profile-3 socket is
  admitted as the charger that CN names, and only as it (A00.FR.4xx).
"""

from __future__ import annotations

import ssl
from typing import Any

# OCPP 2.0.1 part 2 A00.FR.318 (profile 2 and 3 servers SHALL support these) and .319 (may).
CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "AES128-GCM-SHA256",
        "AES256-GCM-SHA384",
    )
)


def server_context(
    cert: str | None,
    key: str | None = None,
    *,
    cert_2: str | None = None,
    key_2: str | None = None,
    client_ca: str | None = None,
) -> ssl.SSLContext | None:
    """The listening socket's TLS context, or None (plain ws://, profiles 0/1) without a certificate."""
    if not cert:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(CIPHERS)  # TLS 1.3 suites are not affected by this list, and stay on
    context.load_cert_chain(cert, key or None)
    if cert_2:
        context.load_cert_chain(cert_2, key_2 or None)
    if client_ca:
        context.load_verify_locations(cafile=client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def settings_context() -> ssl.SSLContext | None:
    """`server_context` from the CSMS_TLS_* settings."""
    from pipelet_app.settings import get_settings

    s = get_settings()
    return server_context(
        s.csms_tls_cert,
        s.csms_tls_key,
        cert_2=s.csms_tls_cert_2,
        key_2=s.csms_tls_key_2,
        client_ca=s.csms_tls_client_ca,
    )


def peer_certificate(transport: Any) -> dict[str, Any] | None:
    """The client certificate the handshake verified (None: none, or plain TCP)."""
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None:
        return None
    return ssl_object.getpeercert() or None


def certificate_identity(certificate: dict[str, Any] | None) -> str | None:
    """The subject commonName of a verified certificate (`getpeercert()` shape)."""
    for rdn in (certificate or {}).get("subject", ()):
        for name, value in rdn:
            if name == "commonName":
                return str(value)
    return None


def connection_profile(tls: bool, certificate: dict[str, Any] | None, basic: bool) -> int:
    if tls and certificate:
        return 3
    if tls:
        return 2
    return 1 if basic else 0
