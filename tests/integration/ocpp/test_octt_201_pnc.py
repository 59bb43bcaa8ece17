"""ISO 15118 Plug & Charge through the CSMS by OCTT ids (blocks C and M), over raw sockets, against a
local V2G PKI, a local OCSP responder and a fake mobility operator (`tests/fakes/pnc_fake.py`)."""

from __future__ import annotations

import base64

import pytest
from cryptography.x509 import ocsp
from csms_helpers import add_charger, add_tenant, add_token, url_of
from rawcp import RawChargePoint

from pipelet_app.ocpp.plug_and_charge import certificate_hash
from pipelet_app.ocpp.server import CsmsServer
from pipelet_app.settings import get_settings
from tests.fakes.pnc_fake import running_mobility_operator, running_ocsp, v2g_pki

V201 = ("ocpp2.0.1",)
EMAID = "DEPNCC123456781"


@pytest.fixture(autouse=True)
def loopback_responders_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local OCSP responder listens on loopback, which a station may not name unless allowed."""
    monkeypatch.setenv("CSMS_OUTBOUND_ALLOWED_HOSTS", "127.0.0.1")
    get_settings.cache_clear()


@pytest.fixture
def station() -> str:
    tenant = add_tenant("op-pnc")
    add_charger("CS-PNC", tenant_id=tenant)
    add_token(tenant, EMAID)
    return "CS-PNC"


def authorize(hash_data: dict) -> dict:
    return {"idToken": {"idToken": EMAID, "type": "eMAID"}, "iso15118CertificateHashData": [hash_data]}


@pytest.mark.parametrize(("tc", "revoked"), [("TC_C_50", False), ("TC_C_51", True)])
async def test_contract_certificate_checked_by_ocsp(
    csms: CsmsServer, station: str, tc: str, revoked: bool
) -> None:
    pki = v2g_pki()
    contract = pki.contract(EMAID)
    if revoked:
        pki.revoked.add(contract.serial_number)
    with running_ocsp(pki, {contract.serial_number: contract}) as responder:
        hash_data = {**certificate_hash(contract, pki.mo_ca), "responderURL": responder.url}
        async with RawChargePoint(url_of(csms), station, subprotocols=V201) as cp:
            await cp.boot201()
            answer = await cp.ok("Authorize", authorize(hash_data))
    assert responder.requests == [contract.serial_number]
    if revoked:  # C07.FR.16
        assert (
            answer["certificateStatus"] == "CertificateRevoked"
            and answer["idTokenInfo"]["status"] == "Invalid"
        )
    else:
        assert answer["certificateStatus"] == "Accepted" and answer["idTokenInfo"]["status"] == "Accepted"


async def test_unreachable_or_unknown_ocsp_fails_closed(csms: CsmsServer, station: str) -> None:
    pki = v2g_pki()
    contract = pki.contract(EMAID)
    async with RawChargePoint(url_of(csms), station, subprotocols=V201) as cp:
        await cp.boot201()
        with running_ocsp(pki, {}) as responder:  # does not know the certificate
            unknown = {**certificate_hash(contract, pki.mo_ca), "responderURL": responder.url}
            answer = await cp.ok("Authorize", authorize(unknown))
        assert answer == {"idTokenInfo": {"status": "Invalid"}, "certificateStatus": "CertChainError"}
        gone = {**unknown, "responderURL": responder.url}  # the responder is down now
        answer = await cp.ok("Authorize", authorize(gone))
        assert answer["certificateStatus"] == "CertChainError"
        plain = await cp.ok("Authorize", {"idToken": {"idToken": EMAID, "type": "eMAID"}})
        assert plain == {"idTokenInfo": {"status": "Accepted"}}  # no certificate: the token alone


async def test_TC_M_24_certificate_status_via_ocsp(csms: CsmsServer, station: str) -> None:
    pki = v2g_pki()
    station_cert = pki.contract("CS-PNC-V2G")
    with running_ocsp(pki, {station_cert.serial_number: station_cert}) as responder:
        async with RawChargePoint(url_of(csms), station, subprotocols=V201) as cp:
            await cp.boot201()
            data = {**certificate_hash(station_cert, pki.mo_ca), "responderURL": responder.url}
            answer = await cp.ok("GetCertificateStatus", {"ocspRequestData": data})
    assert answer["status"] == "Accepted"
    response = ocsp.load_der_ocsp_response(base64.b64decode(answer["ocspResult"]))  # DER, RFC 6960
    assert response.serial_number == station_cert.serial_number
    assert response.certificate_status == ocsp.OCSPCertStatus.GOOD


@pytest.mark.parametrize(("tc", "action"), [("TC_M_26", "Install"), ("TC_M_28", "Update")])
async def test_ev_certificate_relayed_to_the_mobility_operator(
    csms: CsmsServer, station: str, monkeypatch: pytest.MonkeyPatch, tc: str, action: str
) -> None:
    with running_mobility_operator() as operator:
        monkeypatch.setenv("CSMS_CONTRACT_CERT_URL", operator.url)
        get_settings.cache_clear()
        async with RawChargePoint(url_of(csms), station, subprotocols=V201) as cp:
            await cp.boot201()
            request = {
                "iso15118SchemaVersion": "urn:iso:15118:2:2013:MsgDef",
                "action": action,
                "exiRequest": "RVhJ",
            }
            answer = await cp.ok("Get15118EVCertificate", request)
    assert operator.requests == [request]
    assert answer == {
        "status": "Accepted",
        "exiResponse": base64.b64encode(f"{action}Res for RVhJ".encode()).decode(),
    }


async def test_ev_certificate_without_a_source_fails(csms: CsmsServer, station: str) -> None:
    async with RawChargePoint(url_of(csms), station, subprotocols=V201) as cp:
        await cp.boot201()
        request = {
            "iso15118SchemaVersion": "urn:iso:15118:2:2013:MsgDef",
            "action": "Install",
            "exiRequest": "RVhJ",
        }
        answer = await cp.ok("Get15118EVCertificate", request)
    assert answer["status"] == "Failed" and answer["exiResponse"] == ""


def pem_chain(*certificates: object) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return "".join(c.public_bytes(Encoding.PEM).decode() for c in certificates)  # type: ignore[attr-defined]


async def test_TC_C_52_central_contract_certificate_validation(
    csms: CsmsServer, station: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    import datetime as dt
    from pathlib import Path

    from cryptography.hazmat.primitives.serialization import Encoding

    pki, foreign = v2g_pki(), v2g_pki()
    roots = Path(str(tmp_path)) / "v2g-roots.pem"
    roots.write_bytes(pki.root.public_bytes(Encoding.PEM))
    known: dict = {}
    with running_ocsp(pki, known) as responder:
        good = pki.contract(EMAID, ocsp_url=responder.url)
        revoked = pki.contract(EMAID, ocsp_url=responder.url)
        old = pki.contract(
            EMAID,
            ocsp_url=responder.url,
            valid=(dt.datetime(2001, 1, 1, tzinfo=dt.UTC), dt.datetime(2002, 1, 1, tzinfo=dt.UTC)),
        )
        stranger = foreign.contract(EMAID, ocsp_url=responder.url)
        for certificate in (good, revoked, old):
            known[certificate.serial_number] = certificate
        pki.revoked.add(revoked.serial_number)

        async def status_of(chain: str) -> tuple[str, str]:
            answer = await cp.ok(
                "Authorize", {"idToken": {"idToken": EMAID, "type": "eMAID"}, "certificate": chain}
            )
            return answer["certificateStatus"], answer["idTokenInfo"]["status"]

        async with RawChargePoint(url_of(csms), station, subprotocols=V201) as cp:
            await cp.boot201()
            # without configured roots nothing can be trusted
            assert await status_of(pem_chain(good, pki.mo_ca)) == ("CertChainError", "Invalid")
            monkeypatch.setenv("CSMS_V2G_ROOTS", str(roots))
            get_settings.cache_clear()
            assert await status_of(pem_chain(good, pki.mo_ca)) == ("Accepted", "Accepted")
            assert await status_of(pem_chain(revoked, pki.mo_ca)) == ("CertificateRevoked", "Invalid")
            assert await status_of(pem_chain(old, pki.mo_ca)) == ("CertificateExpired", "Invalid")
            assert await status_of(pem_chain(stranger, foreign.mo_ca)) == ("CertChainError", "Invalid")
            assert await status_of(pem_chain(good, foreign.mo_ca)) == ("SignatureError", "Invalid")
    assert responder.requests == [good.serial_number, revoked.serial_number]  # asked only about sound chains


async def test_ocsp_answers_must_be_signed_by_a_configured_v2g_certificate(
    csms: CsmsServer, station: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from pathlib import Path

    from cryptography.hazmat.primitives.serialization import Encoding

    pki, foreign = v2g_pki(), v2g_pki()
    contract = pki.contract(EMAID)
    bundles = {}
    for name, certificates in (("ours", (pki.root, pki.mo_ca)), ("foreign", (foreign.root, foreign.mo_ca))):
        bundles[name] = Path(str(tmp_path)) / f"{name}.pem"
        bundles[name].write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in certificates))
    with running_ocsp(pki, {contract.serial_number: contract}) as responder:
        hash_data = {**certificate_hash(contract, pki.mo_ca), "responderURL": responder.url}
        async with RawChargePoint(url_of(csms), station, subprotocols=V201) as cp:
            await cp.boot201()
            for bundle, expected in (("ours", "Accepted"), ("foreign", "CertChainError")):
                monkeypatch.setenv("CSMS_V2G_ROOTS", str(bundles[bundle]))
                get_settings.cache_clear()
                answer = await cp.ok("Authorize", authorize(hash_data))
                assert answer["certificateStatus"] == expected, bundle
                status = await cp.ok("GetCertificateStatus", {"ocspRequestData": hash_data})
                assert status["status"] == ("Accepted" if expected == "Accepted" else "Failed")


@pytest.mark.parametrize(
    "named",
    [
        "http://localhost:{port}/",
        "http://[::1]:{port}/",
        "http://169.254.169.254/latest/meta-data/",
        "ftp://x/",
    ],
)
async def test_a_station_cannot_make_the_csms_call_an_internal_address(
    csms: CsmsServer, station: str, monkeypatch: pytest.MonkeyPatch, named: str
) -> None:
    """Server-side request forgery: the responder URL is the station's word. Loopback, link-local (cloud
    metadata) and other schemes are refused without a request, and the Authorize fails closed."""
    monkeypatch.setenv("CSMS_OUTBOUND_ALLOWED_HOSTS", "")
    get_settings.cache_clear()
    pki = v2g_pki()
    contract = pki.contract(EMAID)
    with running_ocsp(pki, {contract.serial_number: contract}) as responder:
        port = responder.url.rsplit(":", 1)[1].strip("/")
        hash_data = {**certificate_hash(contract, pki.mo_ca), "responderURL": named.format(port=port)}
        async with RawChargePoint(url_of(csms), station, subprotocols=V201) as cp:
            await cp.boot201()
            answer = await cp.ok("Authorize", authorize(hash_data))
    assert responder.requests == []
    assert answer == {"idTokenInfo": {"status": "Invalid"}, "certificateStatus": "CertChainError"}
