"""OCPP 2.0.1 CSMS test cases of block A (security) by their OCTT ids, over raw sockets with a local PKI
(`pki.py`): security profile 3 (client certificates requested and verified), RSA and ECDSA server
certificates side by side, TLS 1.2 as the floor, and the CSMS CA signing chargers' CSRs."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from csms_helpers import add_charger, add_tenant
from pki import Pki, build, csr_for, ec_key, key_pem
from rawcp import RawChargePoint
from sqlmodel import select
from websockets.exceptions import InvalidMessage, InvalidStatus

from pipelet_app.db import session_scope
from pipelet_app.db.models import SecurityEvent
from pipelet_app.ocpp.csms_ca import CsmsCa
from pipelet_app.ocpp.server import CsmsServer
from pipelet_app.ocpp.tls import server_context
from tests.waiting import wait_for

V201 = ("ocpp2.0.1",)


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return build(tmp_path)


@pytest.fixture
async def csms_tls(db: str, pki: Pki) -> AsyncIterator[CsmsServer]:
    context = server_context(
        str(pki.rsa_cert),
        str(pki.rsa_key),
        cert_2=str(pki.ec_cert),
        key_2=str(pki.ec_key),
        client_ca=str(pki.charger_ca),
    )
    ca = CsmsCa.load(str(pki.charger_ca), str(pki.charger_ca_key))
    server = CsmsServer("127.0.0.1", 0, node_id="octt-a", ssl_context=context, ca=ca, ping_interval_s=30)
    await server.start()
    yield server
    await server.stop()


def client(
    pki: Pki, cert: Path | None = None, key: Path | None = None, **versions: ssl.TLSVersion
) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.server_root))
    for attribute, version in versions.items():
        setattr(context, attribute, version)
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context


def base(server: CsmsServer) -> str:
    return f"wss://127.0.0.1:{server.port}"


def station(charge_point_id: str = "CS-A", password: str | None = "station-password-1") -> str:
    add_charger(charge_point_id, password=password, tenant_id=add_tenant(f"op-{charge_point_id.lower()}"))
    return charge_point_id


def events(charge_point_id: str) -> list[tuple[str, str | None]]:
    with session_scope() as s:
        rows = s.exec(select(SecurityEvent).where(SecurityEvent.charge_point_id == charge_point_id)).all()
        return [(row.event_type, row.tech_info) for row in rows]


async def test_TC_A_04_server_certificates_rsa_and_ecdsa_with_the_ocpp_ciphers(
    csms_tls: CsmsServer, pki: Pki
) -> None:
    cp_id = station()
    served = {}
    for cipher in (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "AES128-GCM-SHA256",
        "AES256-GCM-SHA384",
    ):
        context = client(pki, maximum_version=ssl.TLSVersion.TLSv1_2)
        context.set_ciphers(cipher)
        async with RawChargePoint(
            base(csms_tls), cp_id, V201, password="station-password-1", ssl_context=context
        ) as cp:
            assert (await cp.boot201())["status"] == "Accepted"
            assert cp.ws is not None
            ssl_object = cp.ws.transport.get_extra_info("ssl_object")
            assert ssl_object.cipher()[0] == cipher
            served[cipher] = x509.load_der_x509_certificate(ssl_object.getpeercert(binary_form=True))
    key_types = {name: type(cert.public_key()).__name__ for name, cert in served.items()}
    assert "ECDSA" not in key_types["ECDHE-RSA-AES128-GCM-SHA256"]  # the RSA certificate
    assert isinstance(served["ECDHE-ECDSA-AES256-GCM-SHA384"].public_key(), ec.EllipticCurvePublicKey)


async def test_TC_A_06_tls_below_1_2_is_refused(csms_tls: CsmsServer, pki: Pki) -> None:
    cp_id = station()
    old = client(pki, maximum_version=ssl.TLSVersion.TLSv1_1)
    old.set_ciphers("ALL:@SECLEVEL=0")
    with pytest.raises((ssl.SSLError, OSError)):
        await RawChargePoint(
            base(csms_tls), cp_id, V201, password="station-password-1", ssl_context=old
        ).connect()
    async with RawChargePoint(
        base(csms_tls), cp_id, V201, password="station-password-1", ssl_context=client(pki)
    ) as cp:
        assert (await cp.boot201())["status"] == "Accepted"


async def test_TC_A_07_client_certificate_admits_without_a_password(csms_tls: CsmsServer, pki: Pki) -> None:
    cp_id = station()
    cert, key = pki.charger(cp_id)
    async with RawChargePoint(base(csms_tls), cp_id, V201, ssl_context=client(pki, cert, key)) as cp:
        assert (await cp.boot201())["status"] == "Accepted"
        assert csms_tls.connections[cp_id].authenticated


async def test_TC_A_08_untrusted_client_certificate_is_refused(csms_tls: CsmsServer, pki: Pki) -> None:
    cp_id = station()
    impostor = pki.charger(cp_id, self_signed=True)
    with pytest.raises((ssl.SSLError, OSError, InvalidMessage, EOFError)):
        cp = RawChargePoint(base(csms_tls), cp_id, V201, ssl_context=client(pki, *impostor))
        await cp.connect()
        await cp.boot201()  # TLS 1.3 reports a refused client certificate after the handshake
    assert cp_id not in csms_tls.connections
    # a certificate from the right CA but for another station opens no socket either
    other = pki.charger("CS-OTHER")
    with pytest.raises(InvalidStatus) as refused:
        await RawChargePoint(base(csms_tls), cp_id, V201, ssl_context=client(pki, *other)).connect()
    assert refused.value.response.status_code == 403
    async with RawChargePoint(
        base(csms_tls), cp_id, V201, ssl_context=client(pki, *pki.charger(cp_id))
    ) as cp:
        assert (await cp.boot201())["status"] == "Accepted"


async def test_TC_A_11_csms_ca_signs_the_stations_csr(csms_tls: CsmsServer, pki: Pki) -> None:
    cp_id = station()
    new_key = ec_key()
    async with RawChargePoint(
        base(csms_tls), cp_id, V201, password="station-password-1", ssl_context=client(pki)
    ) as cp:
        await cp.boot201()
        signed: list[dict] = []
        cp.responders["CertificateSigned"] = lambda p: signed.append(p) or {"status": "Accepted"}
        answer = await cp.ok(
            "SignCertificate",
            {"csr": csr_for(cp_id, new_key), "certificateType": "ChargingStationCertificate"},
        )
        assert answer == {"status": "Accepted"}
        await wait_for(lambda: bool(signed), what="CertificateSigned")
    [message] = signed
    assert message["certificateType"] == "ChargingStationCertificate"
    chain = x509.load_pem_x509_certificates(message["certificateChain"].encode())
    leaf, issuer = chain
    assert issuer == pki.ca_pair[0] and leaf.issuer == issuer.subject
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cp_id
    assert (
        ExtendedKeyUsageOID.CLIENT_AUTH
        in leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    )
    leaf.verify_directly_issued_by(issuer)
    # step 2-3: the station reconnects with the new certificate and key, and is let in
    (pki.dir / "new.pem").write_bytes(message["certificateChain"].encode())
    (pki.dir / "new.key").write_bytes(key_pem(new_key))
    context = client(pki, pki.dir / "new.pem", pki.dir / "new.key")
    async with RawChargePoint(base(csms_tls), cp_id, V201, ssl_context=context) as cp:
        assert (await cp.boot201())["status"] == "Accepted"


async def test_TC_A_14_station_rejects_the_signed_certificate(csms_tls: CsmsServer, pki: Pki) -> None:
    cp_id = station()
    async with RawChargePoint(
        base(csms_tls), cp_id, V201, password="station-password-1", ssl_context=client(pki)
    ) as cp:
        await cp.boot201()
        cp.responders["CertificateSigned"] = lambda p: {"status": "Rejected"}
        assert (await cp.ok("SignCertificate", {"csr": csr_for(cp_id, ec_key())}))["status"] == "Accepted"
        await wait_for(lambda: any(e == "CertificateSignedRejected" for e, _ in events(cp_id)), what="event")
        await cp.ok(
            "SecurityEventNotification",
            {"type": "InvalidChargingStationCertificate", "timestamp": "2026-01-01T00:00:00Z"},
        )
    assert ("InvalidChargingStationCertificate", None) in events(cp_id)


async def test_csrs_the_ca_must_not_sign_are_rejected_with_a_reason(csms_tls: CsmsServer, pki: Pki) -> None:
    cp_id = station()
    async with RawChargePoint(
        base(csms_tls), cp_id, V201, password="station-password-1", ssl_context=client(pki)
    ) as cp:
        await cp.boot201()
        signed: list[dict] = []
        cp.responders["CertificateSigned"] = lambda p: signed.append(p) or {"status": "Accepted"}
        for csr, kind in (
            (csr_for("CS-SOMEONE-ELSE", ec_key()), "ChargingStationCertificate"),
            (
                "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----",
                "ChargingStationCertificate",
            ),
            (csr_for(cp_id, ec_key()), "V2GCertificate"),
        ):
            assert (await cp.ok("SignCertificate", {"csr": csr, "certificateType": kind}))[
                "status"
            ] == "Rejected"
        await asyncio.sleep(0.3)
    assert signed == []  # nothing was signed
    reasons = [info or "" for event, info in events(cp_id) if event == "SignCertificateRejected"]
    assert len(reasons) == 3
    assert "is not the charge point id" in reasons[0] and "V2GCertificate" in reasons[2]


async def test_TC_A_19_security_profile_upgrade_without_fallback(csms_tls: CsmsServer, pki: Pki) -> None:
    from pipelet_app.ocpp.commands import send_command

    cp_id = station()
    cert = pki.charger(cp_id)
    sp2 = {"password": "station-password-1", "ssl_context": client(pki)}
    async with RawChargePoint(base(csms_tls), cp_id, V201, **sp2) as cp:  # type: ignore[arg-type]
        await cp.boot201()
        for action in ("SetNetworkProfile", "Reset"):
            cp.responders[action] = lambda p: {"status": "Accepted"}
        cp.responders["SetVariables"] = lambda p: {
            "setVariableResult": [
                {"attributeStatus": "Accepted", "component": i["component"], "variable": i["variable"]}
                for i in p["setVariableData"]
            ]
        }
        connection = {
            "ocppVersion": "OCPP20",
            "ocppTransport": "JSON",
            "ocppCsmsUrl": base(csms_tls),
            "messageTimeout": 30,
            "securityProfile": 3,
            "ocppInterface": "Wired0",
        }
        await send_command(cp_id, "SetNetworkProfile", {"configurationSlot": 2, "connectionData": connection})
        await send_command(
            cp_id,
            "change-configuration",
            {
                "setVariableData": [
                    {
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "NetworkConfigurationPriority"},
                        "attributeValue": "2,1",
                    }
                ]
            },
        )
        await send_command(cp_id, "reset", {"type": "Immediate"})
    # Not yet seen on profile 3: falling back to the old slot still works (nothing locked out early).
    async with RawChargePoint(base(csms_tls), cp_id, V201, **sp2) as cp:  # type: ignore[arg-type]
        assert (await cp.boot201())["status"] == "Accepted"
    async with RawChargePoint(base(csms_tls), cp_id, V201, ssl_context=client(pki, *cert)) as cp:
        assert (await cp.boot201())["status"] == "Accepted"  # steps 7-9
    with pytest.raises(InvalidStatus) as refused:  # steps 10-11: profile 2 no more
        await RawChargePoint(base(csms_tls), cp_id, V201, **sp2).connect()  # type: ignore[arg-type]
    assert refused.value.response.status_code == 401
    assert b"security profile 3" in refused.value.response.body
    async with RawChargePoint(base(csms_tls), cp_id, V201, ssl_context=client(pki, *cert)) as cp:
        assert (await cp.boot201())["status"] == "Accepted"  # steps 12-13
    assert any(event == "SecurityProfileRaised" for event, _ in events(cp_id))


async def test_TC_A_12_v2g_certificate_signed_by_the_cpo_sub_ca(db: str, pki: Pki) -> None:
    """The station's ISO 15118 (SECC) certificate: a V2GCertificate CSR signed by the CPO's V2G sub-CA,
    the chain sent up to the V2G root; a non-P-256 key is refused, and the station CA never signs V2G."""
    from pki import issue, pem

    v2g_root_key, cpo_key = ec_key(), ec_key()
    v2g_root = issue("V2G Root", v2g_root_key, None, ca=True)
    cpo = issue("CPO Sub-CA", cpo_key, (v2g_root, v2g_root_key), ca=True)
    (pki.dir / "cpo.pem").write_bytes(pem(cpo) + pem(v2g_root))
    (pki.dir / "cpo.key").write_bytes(key_pem(cpo_key))
    v2g_ca = CsmsCa.load(str(pki.dir / "cpo.pem"), str(pki.dir / "cpo.key"), "V2GCertificate")
    station_ca = CsmsCa.load(str(pki.charger_ca), str(pki.charger_ca_key))
    server = CsmsServer("127.0.0.1", 0, node_id="octt-a12", ca=station_ca, v2g_ca=v2g_ca, ping_interval_s=30)
    await server.start()
    try:
        cp_id = station(password=None)
        async with RawChargePoint(f"ws://127.0.0.1:{server.port}", cp_id, V201) as cp:
            await cp.boot201()
            signed: list[dict] = []
            cp.responders["CertificateSigned"] = lambda p: signed.append(p) or {"status": "Accepted"}
            secc = csr_for("SECC-DE-PIP-E1", ec_key())
            answer = await cp.ok("SignCertificate", {"csr": secc, "certificateType": "V2GCertificate"})
            assert answer == {"status": "Accepted"}
            await wait_for(lambda: bool(signed), what="CertificateSigned")
            p384 = csr_for("SECC-DE-PIP-E1", ec.generate_private_key(ec.SECP384R1()))
            refused = await cp.ok("SignCertificate", {"csr": p384, "certificateType": "V2GCertificate"})
            assert refused == {"status": "Rejected"}
    finally:
        await server.stop()
    [message] = signed
    assert message["certificateType"] == "V2GCertificate"
    leaf, sub_ca, root = x509.load_pem_x509_certificates(message["certificateChain"].encode())
    assert (sub_ca, root) == (cpo, v2g_root)
    leaf.verify_directly_issued_by(cpo)
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "SECC-DE-PIP-E1"
    assert any("V2G certificate needs an EC secp256r1 key" in (info or "") for _, info in events(cp_id))


async def test_TC_A_13_combined_certificate_signed_by_the_v2g_sub_ca_and_usable_for_profile_3(
    db: str, pki: Pki
) -> None:
    """TriggerMessage(SignCombinedCertificate) from the operator, a typeless SignCertificate, a certificate
    from the CPO's V2G sub-CA that holds for both uses: the charge point id as CN, P-256, clientAuth; the
    station then opens a security-profile-3 connection with it. A typeless CSR without the trigger is
    the station's own certificate (station CA), and a combined CSR naming another id is refused."""
    from pki import issue, pem

    from pipelet_app.ocpp.commands import send_command

    v2g_root_key, cpo_key = ec_key(), ec_key()
    v2g_root = issue("V2G Root", v2g_root_key, None, ca=True)
    cpo = issue("CPO Sub-CA", cpo_key, (v2g_root, v2g_root_key), ca=True)
    (pki.dir / "cpo.pem").write_bytes(pem(cpo) + pem(v2g_root))
    (pki.dir / "cpo.key").write_bytes(key_pem(cpo_key))
    # Profile-3 clients may come from the station CA or the V2G sub-CA (the combined certificate).
    (pki.dir / "clients.pem").write_bytes(pki.charger_ca.read_bytes() + pem(cpo) + pem(v2g_root))
    context = server_context(str(pki.rsa_cert), str(pki.rsa_key), client_ca=str(pki.dir / "clients.pem"))
    server = CsmsServer(
        "127.0.0.1",
        0,
        node_id="octt-a13",
        ssl_context=context,
        ca=CsmsCa.load(str(pki.charger_ca), str(pki.charger_ca_key)),
        v2g_ca=CsmsCa.load(str(pki.dir / "cpo.pem"), str(pki.dir / "cpo.key"), "V2GCertificate"),
        ping_interval_s=30,
    )
    await server.start()
    cp_id = station("CS-A13")
    key = ec_key()
    try:
        url = f"wss://127.0.0.1:{server.port}"
        async with RawChargePoint(
            url, cp_id, V201, password="station-password-1", ssl_context=client(pki)
        ) as cp:
            await cp.boot201()
            signed: list[dict] = []
            cp.responders["CertificateSigned"] = lambda p: signed.append(p) or {"status": "Accepted"}
            triggered: list[dict] = []
            cp.responders["TriggerMessage"] = lambda p: triggered.append(p) or {"status": "Accepted"}
            answer = await send_command(
                cp_id, "trigger-message", {"requestedMessage": "SignCombinedCertificate"}
            )
            assert answer == {"status": "Accepted"}
            assert triggered == [{"requestedMessage": "SignCombinedCertificate"}]
            assert await cp.ok("SignCertificate", {"csr": csr_for(cp_id, key)}) == {"status": "Accepted"}
            await wait_for(lambda: bool(signed), what="CertificateSigned")
            # Without a trigger a typeless CSR is the station's own certificate, from the station CA.
            await cp.ok("SignCertificate", {"csr": csr_for(cp_id, ec_key())})
            await wait_for(lambda: len(signed) == 2, what="the second CertificateSigned")
            # A combined CSR must name this station.
            await send_command(cp_id, "trigger-message", {"requestedMessage": "SignCombinedCertificate"})
            refused = await cp.ok("SignCertificate", {"csr": csr_for("SOMEONE-ELSE", ec_key())})
            assert refused == {"status": "Rejected"}
        combined, own = signed
        assert "certificateType" not in combined
        assert own["certificateType"] == "ChargingStationCertificate"
        leaf, sub_ca, root = x509.load_pem_x509_certificates(combined["certificateChain"].encode())
        assert (sub_ca, root) == (cpo, v2g_root)
        leaf.verify_directly_issued_by(cpo)
        assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == cp_id
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert ExtendedKeyUsageOID.CLIENT_AUTH in usages
        station_ca = x509.load_pem_x509_certificate(pki.charger_ca.read_bytes())
        assert x509.load_pem_x509_certificates(own["certificateChain"].encode())[1] == station_ca
        # The combined certificate opens a profile-3 connection (no password).
        (pki.dir / "combined.pem").write_bytes(combined["certificateChain"].encode())
        (pki.dir / "combined.key").write_bytes(key_pem(key))
        async with RawChargePoint(
            url, cp_id, V201, ssl_context=client(pki, pki.dir / "combined.pem", pki.dir / "combined.key")
        ) as cp:
            assert (await cp.boot201())["status"] == "Accepted"
    finally:
        await server.stop()


async def refused_status(url: str, cp_id: str, **kw: object) -> int:
    with pytest.raises(InvalidStatus) as caught:
        await RawChargePoint(url, cp_id, V201, **kw).connect()  # type: ignore[arg-type]
    return caught.value.response.status_code


async def test_TC_A_01_02_03_basic_authentication(csms: CsmsServer) -> None:
    """Security profile 1: the right id and password upgrade the connection (TC_A_01); a username that
    is not the charging station id (TC_A_02) or a wrong password (TC_A_03) get 401."""
    cp_id = station("CS-A01")
    url = f"ws://127.0.0.1:{csms.port}"
    async with RawChargePoint(url, cp_id, V201, password="station-password-1") as cp:
        assert (await cp.boot201())["status"] == "Accepted"
    assert await refused_status(url, cp_id, password="station-password-1", username=cp_id + "wrong") == 401
    assert await refused_status(url, cp_id, password="not-the-password-1") == 401


@pytest.mark.parametrize(
    ("station_answer", "works", "refused"), [("Accepted", "new", "old"), ("Rejected", "old", "new")]
)
async def test_TC_A_09_10_update_the_basic_auth_password(
    csms: CsmsServer, station_answer: str, works: str, refused: str
) -> None:
    """The CSMS sets SecurityCtrlr.BasicAuthPassword; the new one is what the station must use when it
    answered Accepted (TC_A_09), the old one stays when it answered Rejected (TC_A_10)."""
    from pipelet_app.ocpp.commands import password_handover, send_command

    cp_id = station(f"CS-A09-{station_answer}")
    url = f"ws://127.0.0.1:{csms.port}"
    passwords = {"old": "station-password-1", "new": "the-new-password-22"}
    async with RawChargePoint(url, cp_id, V201, password=passwords["old"]) as cp:
        await cp.boot201()
        asked: list[dict] = []
        cp.responders["SetVariables"] = lambda p: (
            asked.append(p)
            or {
                "setVariableResult": [
                    {
                        "attributeStatus": station_answer,
                        "component": item["component"],
                        "variable": item["variable"],
                    }
                    for item in p["setVariableData"]
                ]
            }
        )
        name, payload = password_handover("2.0.1", passwords["new"])
        answer = await send_command(cp_id, name, payload)
        assert answer["setVariableResult"][0]["attributeStatus"] == station_answer
        assert asked[0]["setVariableData"][0]["variable"] == {"name": "BasicAuthPassword"}
    async with RawChargePoint(url, cp_id, V201, password=passwords[works]) as cp:
        assert (await cp.boot201())["status"] == "Accepted"
    assert await refused_status(url, cp_id, password=passwords[refused]) == 401
