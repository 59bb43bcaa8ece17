"""Local stand-ins for the ISO 15118 Plug & Charge world, over real HTTP on loopback: a V2G PKI (root,
mobility-operator sub-CA, contract certificates) built with `cryptography`, an RFC 6960 OCSP responder
signed by the sub-CA that answers good / revoked per serial number, and a mobility operator's
contract-certificate endpoint that answers Get15118EVCertificate relays."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from tests.fakes import serving

VALID = (dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(2100, 1, 1, tzinfo=dt.UTC))


def _issue(
    cn: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, Any] | None,
    ca: bool,
    ocsp_url: str | None = None,
    valid: tuple[dt.datetime, dt.datetime] = VALID,
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    issuer_name, signer = (issuer[0].subject, issuer[1]) if issuer else (subject, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ocsp_url:
        access = x509.AccessDescription(
            AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
        )
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    return builder.sign(signer, hashes.SHA256())


@dataclass
class V2gPki:
    root: x509.Certificate
    mo_ca: x509.Certificate
    mo_key: ec.EllipticCurvePrivateKey
    revoked: set[int] = field(default_factory=set)

    def contract(
        self, emaid: str, ocsp_url: str | None = None, valid: tuple[dt.datetime, dt.datetime] = VALID
    ) -> x509.Certificate:
        key = ec.generate_private_key(ec.SECP256R1())
        return _issue(emaid, key, (self.mo_ca, self.mo_key), ca=False, ocsp_url=ocsp_url, valid=valid)


def v2g_pki() -> V2gPki:
    root_key, mo_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = _issue("V2G Root", root_key, None, ca=True)
    return V2gPki(root, _issue("MO Sub-CA", mo_key, (root, root_key), ca=True), mo_key)


@dataclass
class Fake:
    url: str
    requests: list[Any] = field(default_factory=list)


@contextmanager
def running_ocsp(pki: V2gPki, known: dict[int, x509.Certificate]) -> Iterator[Fake]:
    """Answers OCSP requests for the certificates in `known` (serial -> certificate issued by the MO
    sub-CA): revoked when the serial is in `pki.revoked`, else good; unknown serials are `unknown`."""
    fake = Fake("")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            request = ocsp.load_der_ocsp_request(body)
            fake.requests.append(request.serial_number)
            now = dt.datetime.now(dt.UTC)
            certificate = known.get(request.serial_number)
            if certificate is None:
                status, revoked_at = ocsp.OCSPCertStatus.UNKNOWN, None
                certificate = pki.contract("unknown")
            elif request.serial_number in pki.revoked:
                status, revoked_at = ocsp.OCSPCertStatus.REVOKED, now - dt.timedelta(days=1)
            else:
                status, revoked_at = ocsp.OCSPCertStatus.GOOD, None
            response = (
                ocsp.OCSPResponseBuilder()
                .add_response(
                    cert=certificate,
                    issuer=pki.mo_ca,
                    algorithm=hashes.SHA256(),
                    cert_status=status,
                    this_update=now,
                    next_update=now + dt.timedelta(hours=1),
                    revocation_time=revoked_at,
                    revocation_reason=None,
                )
                .responder_id(ocsp.OCSPResponderEncoding.HASH, pki.mo_ca)
                .sign(pki.mo_key, hashes.SHA256())
            )
            from cryptography.hazmat.primitives.serialization import Encoding

            der = response.public_bytes(Encoding.DER)
            self.send_response(200)
            self.send_header("Content-Type", "application/ocsp-response")
            self.send_header("Content-Length", str(len(der)))
            self.end_headers()
            self.wfile.write(der)

    with serving(Handler) as url:
        fake.url = f"{url}/"
        yield fake


@contextmanager
def running_mobility_operator() -> Iterator[Fake]:
    """Answers Get15118EVCertificate relays: Accepted with an EXI response naming the request."""
    fake = Fake("")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            fake.requests.append(request)
            exi = base64.b64encode(f"{request['action']}Res for {request['exiRequest']}".encode()).decode()
            body = json.dumps({"status": "Accepted", "exiResponse": exi}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as url:
        fake.url = f"{url}/"
        yield fake
