"""OCPP 2.0.1 CSMS test cases of block L (publish firmware on a station's local server) by their OCTT
ids, over raw sockets: PublishFirmware / UnpublishFirmware from the command bus, the station's
PublishFirmwareStatusNotification progression stored in its device model."""

from __future__ import annotations

import pytest
from csms_helpers import add_charger, add_tenant, url_of
from rawcp import RawChargePoint
from sqlmodel import select

from pipelet_app.db import session_scope
from pipelet_app.db.models import DeviceVariable
from pipelet_app.ocpp.commands import send_command
from pipelet_app.ocpp.server import CsmsServer

V201 = ("ocpp2.0.1",)
PUBLISH = {"location": "https://firmware.example/fw-2.1.bin", "checksum": "0" * 32, "requestId": 11}


def status() -> dict[str, str | None]:
    with session_scope() as s:
        rows = s.exec(select(DeviceVariable).where(DeviceVariable.component == "CSMS.Status")).all()
        return {row.variable: row.value for row in rows}


@pytest.mark.parametrize(
    ("tc", "progression", "location"),
    [
        (
            "TC_L_17",
            ["Downloading", "Downloaded", "ChecksumVerified", "Published"],
            ["http://10.0.0.5/fw.bin"],
        ),
        ("TC_L_19", ["Downloading", "Downloaded", "InvalidChecksum"], None),
        ("TC_L_20", ["Downloading", "Downloaded", "ChecksumVerified", "PublishFailed"], None),
        ("TC_L_24", ["Downloading", "DownloadFailed"], None),
    ],
)
async def test_publish_firmware(
    csms: CsmsServer, tc: str, progression: list[str], location: list[str] | None
) -> None:
    add_charger("CS-L", tenant_id=add_tenant("op-l"))
    async with RawChargePoint(url_of(csms), "CS-L", subprotocols=V201) as cp:
        assert (await cp.boot201())["status"] == "Accepted"
        received: list[dict] = []
        cp.responders["PublishFirmware"] = lambda p: received.append(p) or {"status": "Accepted"}
        assert await send_command("CS-L", "publish-firmware", PUBLISH) == {"status": "Accepted"}
        assert received == [PUBLISH]  # location configured (step 1)
        for value in progression:
            payload: dict = {"status": value, "requestId": 11}
            if value == "Published" and location:
                payload["location"] = location
            assert await cp.ok("PublishFirmwareStatusNotification", payload) == {}
    stored = status()
    assert stored["PublishFirmwareStatus"] == progression[-1]
    assert stored.get("PublishFirmwareLocation") == (location[0] if location else None)


@pytest.mark.parametrize(
    ("tc", "answer"),
    [("TC_L_21", "Unpublished"), ("TC_L_22", "NoFirmware"), ("TC_L_23", "DownloadOngoing")],
)
async def test_unpublish_firmware(csms: CsmsServer, tc: str, answer: str) -> None:
    add_charger("CS-L", tenant_id=add_tenant("op-l"))
    async with RawChargePoint(url_of(csms), "CS-L", subprotocols=V201) as cp:
        await cp.boot201()
        cp.responders["UnpublishFirmware"] = lambda p: {"status": answer}
        assert await send_command("CS-L", "unpublish-firmware", {"checksum": "0" * 32}) == {"status": answer}
