"""The charger page's 2.0.1 cards (operations/charger_screen.py): display-message and customer-information
payloads from form strings, checked before sending (errors name the field), validity entered in the
site's zone and sent as UTC, stored messages and reports shown, and nobody but the charger's operators
reads or builds anything."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from pipelet_app.auth import Forbidden, InvalidInput, NotFound
from pipelet_app.db import session_scope
from pipelet_app.db.models import Charger, CustomerInformationReport, DisplayMessage
from pipelet_app.operations import charger_screen as screen
from tests.integration.api.charger_facts import principal

CP = "SON-CP-001"
BERLIN = ZoneInfo("Europe/Berlin")


def test_display_message_payload_from_the_form() -> None:
    form = {
        "message_id": "7",
        "content": " Bitte Kabel einstecken ",
        "language": "de",
        "priority": "InFront",
        "state": "Idle",
        "start": "2026-12-05T14:30",
        "end": "2026-12-06T08:00",
    }
    assert screen.display_message_payload(form, BERLIN) == {
        "message": {
            "id": 7,
            "priority": "InFront",
            "state": "Idle",
            "message": {"format": "UTF8", "content": "Bitte Kabel einstecken", "language": "de"},
            "startDateTime": "2026-12-05T13:30:00.000Z",  # 14:30 in Berlin (CET)
            "endDateTime": "2026-12-06T07:00:00.000Z",
        }
    }
    minimal = screen.display_message_payload({"message_id": "1", "content": "Hi"}, BERLIN)
    assert minimal == {
        "message": {"id": 1, "priority": "NormalCycle", "message": {"format": "UTF8", "content": "Hi"}}
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"message_id": "x"}, "message_id"),
        ({"message_id": "0"}, "message_id"),
        ({"content": "  "}, "content"),
        ({"content": "x" * 513}, "content"),
        ({"priority": "Loud"}, "priority"),
        ({"state": "Sleeping"}, "state"),
        ({"language": "en; drop"}, "language"),
        ({"start": "tomorrow"}, "start"),
        ({"start": "2026-12-06T10:00", "end": "2026-12-06T09:00"}, "end"),
    ],
)
def test_a_bad_display_message_field_is_named(change: dict, field: str) -> None:
    form = {"message_id": "3", "content": "ok", **change}
    with pytest.raises(InvalidInput, match=rf"^{field}: "):
        screen.display_message_payload(form, BERLIN)


def test_customer_information_payloads() -> None:
    by_token = screen.customer_information_payload(
        "idToken", "ACME0001", "ISO14443", report=True, clear=False
    )
    assert by_token["idToken"] == {"idToken": "ACME0001", "type": "ISO14443"}
    assert (by_token["report"], by_token["clear"]) == (True, False) and by_token["requestId"] > 0
    cleared = screen.customer_information_payload(
        "customerIdentifier", "cust-42", "", report=True, clear=True
    )
    assert cleared["customerIdentifier"] == "cust-42" and cleared["clear"] is True
    cert = screen.customer_information_payload(
        "customerCertificate", "SHA256:ab12:cd34:0f", "", report=True, clear=False
    )
    assert cert["customerCertificate"] == {
        "hashAlgorithm": "SHA256",
        "issuerNameHash": "ab12",
        "issuerKeyHash": "cd34",
        "serialNumber": "0f",
    }
    for kind, value, token_type, field in [
        ("idToken", "", "ISO14443", "customer"),
        ("idToken", "A", "Magic", "token_type"),
        ("customerCertificate", "SHA1:ab:cd:ef", "", "customer"),
        ("customerCertificate", "SHA256:zz:cd:ef", "", "customer"),
        ("email", "a@b", "", "kind"),
    ]:
        with pytest.raises(InvalidInput, match=rf"^{field}: "):
            screen.customer_information_payload(kind, value, token_type, report=True, clear=False)


def test_the_cards_show_stored_messages_and_reports_to_the_chargers_operators_only(demo: dict) -> None:
    with session_scope() as db:
        charger = db.exec(select(Charger).where(Charger.charge_point_id == CP)).one()
        charger.ocpp_version = "2.0.1"
        db.add(
            DisplayMessage(
                charger_id=charger.id,
                message_id=4,
                priority="NormalCycle",
                message_format="UTF8",
                content="Welcome",
                source="set",
            )
        )
        for seq, part, tbc in ((1, "b", False), (0, "a", True)):
            db.add(
                CustomerInformationReport(
                    charger_id=charger.id,
                    request_id=9,
                    seq_no=seq,
                    tbc=tbc,
                    data=part,
                    generated_at=datetime(2026, 12, 5, 10, 0, tzinfo=ZoneInfo("UTC")),
                )
            )
    operator = principal("operator@sonnenstrom.demo")
    with session_scope() as db:
        view = screen.screen_view(db, operator, CP)
        assert view["is_201"] is True
        assert [(m["id"], m["content"], m["source"]) for m in view["messages"]] == [("4", "Welcome", "set")]
        assert [(r["request"], r["data"], r["parts"]) for r in view["reports"]] == [("9", "ab", "2")]
        assert screen.existing_message_id(db, operator, CP, "4") == 4
        with pytest.raises(InvalidInput, match=r"^message_id: "):
            screen.existing_message_id(db, operator, CP, "5")
        for email, error in (
            ("operator@northwind.demo", NotFound),
            ("fleet@acme.demo", Forbidden),
            ("driver@acme.demo", Forbidden),
        ):
            with pytest.raises(error):
                screen.screen_view(db, principal(email), CP)
            with pytest.raises(error):
                screen.charger_zone(db, principal(email), CP)
            with pytest.raises(error):
                screen.existing_message_id(db, principal(email), CP, "4")
