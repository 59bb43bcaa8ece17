"""The operator's 2.0.1 screen and data-subject tools for one charger: display messages (O01-O06: list,
set, clear) and customer information (N09 report, N10 clear) with the reports the station sent back.

Forms give strings; these functions turn them into the OCPP payloads or refuse with an InvalidInput whose
message starts with the field's name, before anything is sent. Role and tenant are checked by
`own_charger` in every reader; the senders are called by handlers that checked them the same way.
Validity times are entered in the charger's site time zone (what the operator reads on the page) and
sent as UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import Session

from pipelet_app.auth import Principal
from pipelet_app.db.models import Site
from pipelet_app.errors import InvalidInput
from pipelet_app.ocpp import customer_information as customer_information_store
from pipelet_app.ocpp import display_messages as display_message_store
from pipelet_app.ocpp.timefmt import format_utc
from pipelet_app.operations.chargers import own_charger

PRIORITIES = ("AlwaysFront", "InFront", "NormalCycle")
STATES = ("", "Charging", "Faulted", "Idle", "Unavailable")  # "" = shown in every state
TOKEN_TYPES = (
    "Central",
    "ISO14443",
    "ISO15693",
    "eMAID",
    "KeyCode",
    "Local",
    "MacAddress",
    "NoAuthorization",
)
CUSTOMER_KINDS = ("idToken", "customerIdentifier", "customerCertificate")
MAX_CONTENT = 512  # MessageContentType.content
MAX_IDENTIFIER = 64  # customerIdentifier


def charger_zone(db: Session, principal: Principal, charge_point_id: str) -> tuple[str, ZoneInfo]:
    """The charger's OCPP version and its site's zone (UTC without a site), once role and tenant allow."""
    charger = own_charger(db, principal, charge_point_id)
    name = "UTC"
    if charger.site_id is not None:
        site = db.get(Site, charger.site_id)
        name = site.timezone if site is not None else "UTC"
    try:
        zone = ZoneInfo(name)
    except ZoneInfoNotFoundError:
        zone = ZoneInfo("UTC")
    return str(charger.ocpp_version or ""), zone


def _local(value: str, field: str, zone: ZoneInfo) -> str | None:
    text = value.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{field}: not a date and time (YYYY-MM-DDTHH:MM)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return format_utc(moment)


def display_message_payload(form: dict[str, Any], zone: ZoneInfo) -> dict[str, Any]:
    """SetDisplayMessage's payload from the form's id, text, language, priority, state, start and end."""
    raw_id = str(form.get("message_id", "")).strip()
    if not raw_id.isdigit() or not 0 < int(raw_id) < 2**31:
        raise InvalidInput("message_id: a whole number from 1")
    content = str(form.get("content", "")).strip()
    if not content:
        raise InvalidInput("content: the message text is empty")
    if len(content) > MAX_CONTENT:
        raise InvalidInput(f"content: at most {MAX_CONTENT} characters")
    priority = str(form.get("priority", "NormalCycle"))
    if priority not in PRIORITIES:
        raise InvalidInput(f"priority: one of {', '.join(PRIORITIES)}")
    state = str(form.get("state", ""))
    if state not in STATES:
        raise InvalidInput(f"state: one of {', '.join(s for s in STATES if s)} or empty")
    language = str(form.get("language", "")).strip()
    if language and (len(language) > 8 or not language.replace("-", "").isalpha()):
        raise InvalidInput("language: a language code such as en or de")
    start = _local(str(form.get("start", "")), "start", zone)
    end = _local(str(form.get("end", "")), "end", zone)
    if start and end and end <= start:
        raise InvalidInput("end: must be after the start")
    message: dict[str, Any] = {"format": "UTF8", "content": content}
    if language:
        message["language"] = language
    info: dict[str, Any] = {"id": int(raw_id), "priority": priority, "message": message}
    if state:
        info["state"] = state
    if start:
        info["startDateTime"] = start
    if end:
        info["endDateTime"] = end
    return {"message": info}


def customer_information_payload(
    kind: str, value: str, token_type: str, *, report: bool, clear: bool
) -> dict[str, Any]:
    """CustomerInformation naming one customer by `kind`; a certificate is given as its hash data
    (`SHA256:issuerNameHash:issuerKeyHash:serialNumber`, as on the customer's contract certificate)."""
    text = value.strip()
    if kind not in CUSTOMER_KINDS:
        raise InvalidInput(f"kind: one of {', '.join(CUSTOMER_KINDS)}")
    if not text:
        raise InvalidInput("customer: name the customer")
    payload: dict[str, Any] = {"report": report, "clear": clear}
    if kind == "idToken":
        if token_type not in TOKEN_TYPES:
            raise InvalidInput(f"token_type: one of {', '.join(TOKEN_TYPES)}")
        if len(text) > 36:
            raise InvalidInput("customer: an id token has at most 36 characters")
        payload["idToken"] = {"idToken": text, "type": token_type}
    elif kind == "customerIdentifier":
        if len(text) > MAX_IDENTIFIER:
            raise InvalidInput(f"customer: at most {MAX_IDENTIFIER} characters")
        payload["customerIdentifier"] = text
    else:
        parts = [p.strip() for p in text.split(":")]
        if len(parts) != 4 or parts[0] not in ("SHA256", "SHA384", "SHA512") or not all(parts[1:]):
            raise InvalidInput(
                "customer: certificate hash data as SHA256:issuerNameHash:issuerKeyHash:serial"
            )
        try:
            for part in parts[1:]:
                int(part, 16)
        except ValueError:
            raise InvalidInput("customer: the hashes and the serial number are hexadecimal") from None
        payload["customerCertificate"] = dict(
            zip(("hashAlgorithm", "issuerNameHash", "issuerKeyHash", "serialNumber"), parts, strict=True)
        )
    return customer_information_store.prepare_request(payload)


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def screen_view(db: Session, principal: Principal, charge_point_id: str) -> dict[str, Any]:
    """What the card shows: whether the charger speaks 2.0.1, its messages and its customer reports."""
    charger = own_charger(db, principal, charge_point_id)
    assert charger.id is not None
    version, zone = charger_zone(db, principal, charge_point_id)
    messages = [
        {
            "id": str(m.message_id),
            "content": m.content,
            "priority": m.priority,
            "state": m.state or "",
            "language": m.language or "",
            "start": _when(m.start_at, zone),
            "end": _when(m.end_at, zone),
            "source": m.source,
        }
        for m in display_message_store.listed(db, charger.id)
    ]
    reports = [
        {
            "request": str(r["request_id"]),
            "data": r["data"],
            "parts": str(r["parts"]),
            "complete": "1" if r["complete"] else "",
            "generated": _when(r["generated_at"], zone),
        }
        for r in customer_information_store.reports(db, charger.id)
    ]
    return {"is_201": version.startswith("2"), "messages": messages, "reports": reports}


def existing_message_id(db: Session, principal: Principal, charge_point_id: str, message_id: str) -> int:
    """A message id the page listed, checked against what is stored for this charger (no free ids)."""
    charger = own_charger(db, principal, charge_point_id)
    if not message_id.isdigit():
        raise InvalidInput("message_id: a whole number")
    listed = {m.message_id for m in display_message_store.listed(db, charger.id)}  # type: ignore[arg-type]
    if int(message_id) not in listed:
        raise InvalidInput(f"message_id: no message {message_id} on this charger")
    return int(message_id)


__all__ = [
    "CUSTOMER_KINDS",
    "PRIORITIES",
    "STATES",
    "TOKEN_TYPES",
    "charger_zone",
    "customer_information_payload",
    "display_message_payload",
    "existing_message_id",
    "screen_view",
]
