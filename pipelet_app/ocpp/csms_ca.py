"""The CSMS's own certificate authority: signs the CSRs chargers send (SignCertificate → CertificateSigned).

Configured by `CSMS_CA_CERT` / `CSMS_CA_KEY` (PEM; RSA or EC). Without them SignCertificate is answered
Rejected with a trace (`base.reject_certificate_signing`). The same CA is the one to put in
`CSMS_TLS_CLIENT_CA`, so a certificate it issues opens a security-profile-3 connection (`tls`).

What is checked before signing (A02/A03, TC_A_11/14): the CSR parses and its signature is valid (the
charger holds the key), its subject CN is the charge point id the charger connected as (the TLS side
admits a client certificate only for that id), and its key is RSA >= 2048 bits or EC P-256/P-384.
`V2GCertificate` CSRs (the station's ISO 15118 SECC certificate, TC_A_12) and combined ones (`COMBINED`,
TC_A_13; put the V2G sub-CA in `CSMS_TLS_CLIENT_CA` too for them to open a profile-3 connection) are
signed by a second CA,
the CPO's V2G sub-CA (`CSMS_V2G_CA_CERT` with the CAs above it, `CSMS_V2G_CA_KEY`): the CSR must be
validly signed with an EC secp256r1 key; the chain sent is leaf, sub-CA and the CAs above it. Without
it they are Rejected.

The certificate issued: the CSR's subject, the CA as issuer, valid from one hour ago (clock skew) for
`VALIDITY_DAYS`, not a CA, key usage digitalSignature + keyAgreement (+ keyEncipherment for RSA),
extended key usage clientAuth; the chain sent is leaf + CA certificate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pipelet_app.clock import utcnow

VALIDITY_DAYS = 365
STATION = "ChargingStationCertificate"
V2G = "V2GCertificate"  # the station's ISO 15118 (SECC) certificate, from the CPO's V2G sub-CA
# One certificate for both the OCPP TLS client and the SECC (A02, TriggerMessage SignCombinedCertificate,
# TC_A_13): the station's SignCertificate then names no type. Issued by the V2G sub-CA, and it must pass
# both rules: subject CN = the charge point id, EC secp256r1 key; it gets clientAuth like a station one.
COMBINED = "CombinedCertificate"
_CURVES = (ec.SECP256R1, ec.SECP384R1)


class CsrRejected(ValueError):
    """The CSR is not signed; the message says why (recorded as the charger's security event)."""


@dataclass(frozen=True)
class CsmsCa:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    kind: str = STATION  # the one certificateType this CA issues
    chain: tuple[x509.Certificate, ...] = ()  # CAs above it, sent after it in CertificateSigned

    @classmethod
    def load(cls, cert_file: str, key_file: str, kind: str = STATION) -> CsmsCa:
        certificates = x509.load_pem_x509_certificates(Path(cert_file).read_bytes())
        key = serialization.load_pem_private_key(Path(key_file).read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_file}: an RSA or EC private key is needed")
        return cls(certificates[0], key, kind, tuple(certificates[1:]))

    def check(
        self, csr_pem: str, charge_point_id: str, certificate_type: str
    ) -> x509.CertificateSigningRequest:
        """The parsed CSR if it may be signed for this charger, else CsrRejected."""
        if certificate_type != self.kind and not (certificate_type == COMBINED and self.kind == V2G):
            raise CsrRejected(f"{certificate_type} is not issued by this CA ({self.kind})")
        try:
            csr = x509.load_pem_x509_csr(csr_pem.encode())
        except ValueError as exc:
            raise CsrRejected(f"not a PEM certificate signing request ({exc})") from None
        if not csr.is_signature_valid:
            raise CsrRejected("the CSR's signature does not match its key")
        names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        common_name = str(names[0].value) if names else ""
        if self.kind == V2G:  # ISO 15118-2: secp256r1 only; CN is the SECC id, not ours to check ...
            key = csr.public_key()
            if not (isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)):
                raise CsrRejected("a V2G certificate needs an EC secp256r1 key")
            if certificate_type != COMBINED:  # ... unless it is also the station's OCPP certificate
                return csr
        if common_name != charge_point_id:
            raise CsrRejected(
                f"subject CN {common_name[:64]!r} is not the charge point id {charge_point_id!r}"
            )
        key = csr.public_key()
        if isinstance(key, rsa.RSAPublicKey):
            if key.key_size < 2048:
                raise CsrRejected(f"RSA key of {key.key_size} bits (at least 2048)")
        elif isinstance(key, ec.EllipticCurvePublicKey):
            if not isinstance(key.curve, _CURVES):
                raise CsrRejected(f"EC curve {key.curve.name} (P-256 or P-384)")
        else:
            raise CsrRejected("an RSA or EC key is needed")
        return csr

    def sign(self, csr: x509.CertificateSigningRequest, certificate_type: str | None = None) -> str:
        """The PEM chain (issued certificate, then the CA's) for a CSR that passed `check`."""
        now = utcnow()
        rsa_key = isinstance(csr.public_key(), rsa.RSAPublicKey)
        builder = (
            x509.CertificateBuilder()
            .subject_name(csr.subject)
            .issuer_name(self.certificate.subject)
            .public_key(csr.public_key())  # type: ignore[arg-type]
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=VALIDITY_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=rsa_key,
                    data_encipherment=False,
                    key_agreement=not rsa_key,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
        )
        if self.kind == STATION or certificate_type == COMBINED:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            )
        certificate = builder.sign(self.key, hashes.SHA256())
        return b"".join(
            c.public_bytes(serialization.Encoding.PEM) for c in (certificate, self.certificate, *self.chain)
        ).decode()


def configured_ca() -> CsmsCa | None:
    """The CA named by the settings, or None when CSMS_CA_CERT / CSMS_CA_KEY are not both set."""
    from pipelet_app.settings import get_settings

    settings = get_settings()
    if not (settings.csms_ca_cert and settings.csms_ca_key):
        return None
    return CsmsCa.load(settings.csms_ca_cert, settings.csms_ca_key)


def configured_v2g_ca() -> CsmsCa | None:
    """The CPO's V2G sub-CA (CSMS_V2G_CA_CERT: its certificate, then the CAs above it; CSMS_V2G_CA_KEY)."""
    from pipelet_app.settings import get_settings

    settings = get_settings()
    if not (settings.csms_v2g_ca_cert and settings.csms_v2g_ca_key):
        return None
    return CsmsCa.load(settings.csms_v2g_ca_cert, settings.csms_v2g_ca_key, V2G)
