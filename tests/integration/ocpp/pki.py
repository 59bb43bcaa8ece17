"""A local test PKI built with `cryptography`: a server root with an RSA and an ECDSA server certificate
for 127.0.0.1, the CSMS's charger CA (it signs charger certificates and CSRs), charger certificates and
a self-signed impostor. Validity is fixed (2000-2100): OpenSSL checks it against the system clock,
which a test's time travel does not move."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Pipelet Test"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def issue(
    subject: str,
    key: Key,
    issuer: tuple[x509.Certificate, Key] | None,
    *,
    ca: bool = False,
    server: bool = False,
    client: bool = False,
) -> x509.Certificate:
    issuer_name, signer = (issuer[0].subject, issuer[1]) if issuer else (name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        .not_valid_after(dt.datetime(2100, 1, 1, tzinfo=dt.UTC))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if client:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def key_pem(key: Key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def csr_for(common_name: str, key: Key) -> str:
    request = (
        x509.CertificateSigningRequestBuilder().subject_name(name(common_name)).sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM).decode()


@dataclass
class Pki:
    dir: Path
    server_root: Path  # what chargers trust
    rsa_cert: Path
    rsa_key: Path
    ec_cert: Path
    ec_key: Path
    charger_ca: Path  # CSMS_TLS_CLIENT_CA and CSMS_CA_CERT
    charger_ca_key: Path
    ca_pair: tuple[x509.Certificate, Key]

    def charger(self, charge_point_id: str, *, self_signed: bool = False) -> tuple[Path, Path]:
        """A client certificate (and key) for `charge_point_id`: issued by the charger CA, or self-signed."""
        key = ec_key()
        certificate = issue(charge_point_id, key, None if self_signed else self.ca_pair, client=True)
        kind = "self" if self_signed else "ca"
        cert_path, key_path = (
            self.dir / f"{charge_point_id}-{kind}.pem",
            self.dir / f"{charge_point_id}-{kind}.key",
        )
        cert_path.write_bytes(pem(certificate))
        key_path.write_bytes(key_pem(key))
        return cert_path, key_path


def build(directory: Path) -> Pki:
    root_key = ec_key()
    root = issue("Test Server Root", root_key, None, ca=True)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server_ec_key = ec_key()
    ca_key = ec_key()
    ca = issue("Test CSMS Charger CA", ca_key, None, ca=True)
    files = {
        "server_root": pem(root),
        "rsa_cert": pem(issue("127.0.0.1", rsa_key, (root, root_key), server=True)),
        "rsa_key": key_pem(rsa_key),
        "ec_cert": pem(issue("127.0.0.1", server_ec_key, (root, root_key), server=True)),
        "ec_key": key_pem(server_ec_key),
        "charger_ca": pem(ca),
        "charger_ca_key": key_pem(ca_key),
    }
    paths = {}
    for field, content in files.items():
        path = directory / f"{field}.pem"
        path.write_bytes(content)
        paths[field] = path
    return Pki(dir=directory, ca_pair=(ca, ca_key), **paths)
