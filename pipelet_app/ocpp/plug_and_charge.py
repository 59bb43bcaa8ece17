"""ISO 15118 Plug & Charge on the CSMS side (OCPP 2.0.1 C07, M01/M02, M06).

- Authorize with `iso15118CertificateHashData` (the station validated the contract certificate chain
  and sends its hashes, C07): the CSMS builds an RFC 6960 OCSP request from them, POSTs it to the
  `responderURL` given and answers `certificateStatus` Accepted (good) or CertificateRevoked (revoked;
  the token is then Invalid, C07.FR.16). An OCSP answer that cannot be had, fails to parse or does not
  speak of the certificate asked about is CertChainError and the token Invalid: fail closed (TC_C_50/51).
- Authorize with the contract `certificate` itself (central validation, TC_C_52): the chain's dates
  and signatures are checked up to a root in `CSMS_V2G_ROOTS` (CertificateExpired, SignatureError,
  CertChainError otherwise), then the leaf's own OCSP responder (its Authority Information Access) is
  asked as above; without roots configured or without an OCSP URL: CertChainError.
- GetCertificateStatus (M06): the same OCSP query for the station's own (V2G) certificates; the DER
  OCSPResponse goes back base64 encoded (TC_M_24).
- Get15118EVCertificate (M01 install / M02 update): relayed as JSON
  `{"iso15118SchemaVersion", "action", "exiRequest"}` to the contract-certificate source at
  `CSMS_CONTRACT_CERT_URL` (a mobility operator's or a contract-certificate pool's endpoint), whose
  `{"status", "exiResponse"}` is the answer; without one configured, or when it fails: Failed
  (TC_M_26/28).

All of this is network I/O, so it runs before the message's database transaction (`base.prepare_call`),
never on the writer thread.

OCSP answers must be signed by a certificate of `CSMS_V2G_ROOTS` (roots and the sub-CAs that answer
OCSP), directly or through a delegated OCSP-signing certificate one of them issued. Without that
setting they are taken unverified (logged once per process), which is only acceptable where the
stations' responder URLs are trusted. The responder URL comes from the station: it must be a public
address, or a host the operator allowed (`ocpp/outbound.py`, `CSMS_OUTBOUND_ALLOWED_HOSTS`).
"""

from __future__ import annotations

import base64
import itertools
import logging
from datetime import datetime
from typing import Any

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp

from pipelet_app.ocpp.outbound import AddressRefused, check_public_url

LOGGER = logging.getLogger("pipelet.csms.pnc")
TIMEOUT_S = 5.0
_ALGORITHMS: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}


_WARNED: list[bool] = []  # the unverified-OCSP warning, once per process


class OcspFailed(Exception):
    """No usable OCSP answer (unreachable, malformed, not about the certificate asked)."""


def ocsp_request(hash_data: dict[str, Any]) -> bytes:
    """The DER OCSPRequest for one OCSPRequestDataType / CertificateHashDataType (camelCase)."""
    try:
        algorithm = _ALGORITHMS[str(hash_data["hashAlgorithm"])]()
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate_by_hash(
                bytes.fromhex(str(hash_data["issuerNameHash"])),
                bytes.fromhex(str(hash_data["issuerKeyHash"])),
                int(str(hash_data["serialNumber"]), 16),
                algorithm,
            )
            .build()
        )
    except (KeyError, ValueError) as exc:
        raise OcspFailed(f"unusable certificate hash data ({exc})") from None
    return request.public_bytes(serialization.Encoding.DER)


def _signed_by(response: ocsp.OCSPResponse, certificate: x509.Certificate) -> bool:
    key = certificate.public_key()
    algorithm = response.signature_hash_algorithm
    try:
        if isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey) and algorithm is not None:
            key.verify(response.signature, response.tbs_response_bytes, padding.PKCS1v15(), algorithm)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def trusted_signature(response: ocsp.OCSPResponse, trusted: list[x509.Certificate]) -> bool:
    """Whether a certificate of `trusted` (CSMS_V2G_ROOTS: roots and the sub-CAs that answer OCSP)
    signed the response, directly or through a delegated responder certificate it issued for OCSP
    signing (RFC 6960 §4.2.2.2)."""
    if any(_signed_by(response, certificate) for certificate in trusted):
        return True
    for delegate in response.certificates:
        if not _signed_by(response, delegate):
            continue
        try:
            usage = delegate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            continue
        if x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING not in usage:
            continue
        for issuer in trusted:
            try:
                delegate.verify_directly_issued_by(issuer)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return True
    return False


async def query(
    hash_data: dict[str, Any], trusted: list[x509.Certificate] | None = None
) -> tuple[str, bytes]:
    """("good" | "revoked" | "unknown", the DER OCSPResponse) from the responder the hash data names.
    With `trusted` certificates the response must be signed by one of them (`trusted_signature`)."""
    url = str(hash_data.get("responderURL") or "")
    try:
        await check_public_url(url)  # the station names it: no internal addresses (see `outbound`)
    except AddressRefused as exc:
        raise OcspFailed(f"responderURL: {exc}") from None
    body = ocsp_request(hash_data)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as client:
            answer = await client.post(
                url, content=body, headers={"Content-Type": "application/ocsp-request"}
            )
    except httpx.HTTPError as exc:
        raise OcspFailed(f"OCSP responder unreachable ({type(exc).__name__})") from None
    if answer.status_code != 200:
        raise OcspFailed(f"OCSP responder answered HTTP {answer.status_code}")
    try:
        response = ocsp.load_der_ocsp_response(answer.content)
    except ValueError as exc:
        raise OcspFailed(f"not an OCSP response ({exc})") from None
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise OcspFailed(f"OCSP response status {response.response_status.name}")
    if response.serial_number != int(str(hash_data["serialNumber"]), 16) or (
        response.issuer_key_hash.hex() != str(hash_data["issuerKeyHash"]).lower()
    ):
        raise OcspFailed("the OCSP response is about another certificate")
    if trusted:
        if not trusted_signature(response, trusted):
            raise OcspFailed("the OCSP response is not signed by a trusted V2G certificate")
    elif not _WARNED:
        _WARNED.append(True)
        LOGGER.warning("OCSP answers are taken unverified: set CSMS_V2G_ROOTS to check their signatures")
    status = {
        ocsp.OCSPCertStatus.GOOD: "good",
        ocsp.OCSPCertStatus.REVOKED: "revoked",
    }.get(response.certificate_status, "unknown")
    return status, answer.content


async def contract_status(
    hash_data: list[dict[str, Any]], trusted: list[x509.Certificate] | None = None
) -> str:
    """AuthorizeCertificateStatusEnumType for the contract certificate chain the station sent (leaf
    first): Accepted only when every entry is good."""
    for entry in hash_data:
        try:
            status, _ = await query(entry, trusted)
        except OcspFailed as exc:
            LOGGER.info("contract certificate OCSP check failed: %s", exc)
            return "CertChainError"
        if status == "revoked":
            return "CertificateRevoked"
        if status != "good":
            return "CertChainError"
    return "Accepted"


async def certificate_status(
    ocsp_request_data: dict[str, Any], trusted: list[x509.Certificate] | None = None
) -> dict[str, Any]:
    """The GetCertificateStatusResponse for one OCSPRequestDataType."""
    try:
        _, der = await query(ocsp_request_data, trusted)
    except OcspFailed as exc:
        LOGGER.info("GetCertificateStatus OCSP query failed: %s", exc)
        return {
            "status": "Failed",
            "statusInfo": {"reasonCode": "OcspFailed", "additionalInfo": str(exc)[:512]},
        }
    return {"status": "Accepted", "ocspResult": base64.b64encode(der).decode()}


async def ev_certificate(
    source_url: str | None, schema_version: str, action: str, exi_request: str
) -> dict[str, Any]:
    """The Get15118EVCertificateResponse, relayed from the contract-certificate source."""
    if not source_url:
        return {"status": "Failed", "exiResponse": "", "statusInfo": {"reasonCode": "NoContractCertSource"}}
    payload = {"iso15118SchemaVersion": schema_version, "action": action, "exiRequest": exi_request}
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False) as client:
            answer = await client.post(source_url, json=payload)
        answer.raise_for_status()
        data = answer.json()
        status, exi = str(data["status"]), str(data.get("exiResponse", ""))
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        LOGGER.warning("contract certificate source failed: %s", exc)
        return {
            "status": "Failed",
            "exiResponse": "",
            "statusInfo": {"reasonCode": "ContractCertSourceFailed"},
        }
    return {"status": "Accepted" if status == "Accepted" else "Failed", "exiResponse": exi}


def _ocsp_url(certificate: x509.Certificate) -> str | None:
    try:
        access = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return None
    for description in access:
        if description.access_method == x509.oid.AuthorityInformationAccessOID.OCSP:
            return str(description.access_location.value)
    return None


def load_roots(path: str | None) -> list[x509.Certificate]:
    """The V2G / mobility-operator roots contract certificates must chain to (`CSMS_V2G_ROOTS`)."""
    if not path:
        return []
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificates(handle.read())


def _chain_error(chain: list[x509.Certificate], roots: list[x509.Certificate], now: datetime) -> str | None:
    """Why the chain (leaf first) is not good, as an AuthorizeCertificateStatusEnumType, else None."""
    for certificate in chain:
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            return "CertificateExpired"
    try:
        for child, parent in itertools.pairwise(chain):
            child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return "SignatureError"
    top = chain[-1]
    for root in roots:
        if not root.not_valid_before_utc <= now <= root.not_valid_after_utc:
            continue
        if top == root:
            return None
        if top.issuer != root.subject:
            continue
        try:
            top.verify_directly_issued_by(root)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return None
    return "CertChainError"


async def central_contract_status(certificate_pem: str, roots: list[x509.Certificate]) -> str:
    """C07 central validation (TC_C_52): the station sent the contract certificate chain itself (PEM,
    leaf first). The CSMS checks validity dates and signatures up to a configured root, then asks the
    OCSP responder the leaf names (Authority Information Access) about the leaf."""
    from pipelet_app.clock import utcnow

    try:
        chain = x509.load_pem_x509_certificates(certificate_pem.encode())
    except ValueError:
        return "CertChainError"
    if not roots:
        LOGGER.info("contract certificate sent for central validation, but CSMS_V2G_ROOTS is not set")
        return "CertChainError"
    error = _chain_error(chain, roots, utcnow())
    if error is not None:
        return error
    leaf = chain[0]
    issuer = chain[1] if len(chain) > 1 else next(r for r in roots if r.subject == leaf.issuer)
    url = _ocsp_url(leaf)
    if url is None:
        return "CertChainError"  # revocation cannot be checked: fail closed
    # The leaf's issuer (now known to chain to a root) may sign the OCSP answer itself (RFC 6960).
    return await contract_status(
        [{**certificate_hash(leaf, issuer), "responderURL": url}], [*roots, *chain[1:]]
    )


def certificate_hash(certificate: x509.Certificate, issuer: x509.Certificate) -> dict[str, str]:
    """The CertificateHashDataType of `certificate` (SHA256, RFC 6960 hashes), as a station computes it."""
    request = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA256()).build()
    return {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": request.issuer_name_hash.hex(),
        "issuerKeyHash": request.issuer_key_hash.hex(),
        "serialNumber": format(certificate.serial_number, "x"),
    }
