"""Customer information (OCPP 2.0.1 N09 get, N10 clear): data-subject requests answered by a station.

The operator sends `customer-information` (CustomerInformation) naming the customer by exactly what
the spec allows (N09.FR.04 / N10.FR.08: an idToken, a customerCertificate or a customerIdentifier; at
least one, checked before anything is sent) with `report` and/or `clear`. The station answers with
NotifyCustomerInformation parts (`seqNo`, `tbc`), stored as they come (a retried part replaces itself)
and read back per request, parts joined in order (`GET /api/v1/chargers/{id}/customer-information`).
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from pipelet_app.db.models import CustomerInformationReport
from pipelet_app.ocpp.errors import InvalidCommandPayload
from pipelet_app.ocpp.timefmt import parse_utc

REFERENCES = ("idToken", "customerCertificate", "customerIdentifier")


def prepare_request(payload: dict[str, Any]) -> dict[str, Any]:
    """The CustomerInformation request as sent: a customer reference is required, something must be
    asked (report or clear), and a requestId is allocated when missing."""
    if not any(payload.get(key) for key in REFERENCES):
        raise InvalidCommandPayload(
            f"CustomerInformation: name the customer by one of {', '.join(REFERENCES)}"
        )
    if not (payload.get("report") or payload.get("clear")):
        raise InvalidCommandPayload("CustomerInformation: report or clear must be true")
    return {
        "report": False,
        "clear": False,
        **payload,
        "requestId": payload.get("requestId", random.randint(1, 2**31 - 1)),
    }


def store_part(
    db: Session, charger_id: int, request_id: int, seq_no: int, data: str, generated_at: str, tbc: bool
) -> None:
    db.exec(  # type: ignore[call-overload]
        delete(CustomerInformationReport).where(
            col(CustomerInformationReport.charger_id) == charger_id,
            col(CustomerInformationReport.request_id) == request_id,
            col(CustomerInformationReport.seq_no) == seq_no,
        )
    )
    db.add(
        CustomerInformationReport(
            charger_id=charger_id,
            request_id=request_id,
            seq_no=seq_no,
            tbc=tbc,
            data=data,
            generated_at=parse_utc(generated_at, "generatedAt"),
        )
    )


def reports(db: Session, charger_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """The charger's newest reports, one per request: the parts' data joined in seqNo order, `complete`
    once the part with tbc=false has come."""
    rows = db.exec(
        select(CustomerInformationReport)
        .where(CustomerInformationReport.charger_id == charger_id)
        .order_by(col(CustomerInformationReport.received_at).desc())
    ).all()
    by_request: dict[int, list[CustomerInformationReport]] = {}
    for row in rows:
        if row.request_id in by_request or len(by_request) < limit:
            by_request.setdefault(row.request_id, []).append(row)
    out = []
    for request_id, parts in by_request.items():
        parts.sort(key=lambda part: part.seq_no)
        out.append(
            {
                "request_id": request_id,
                "data": "".join(part.data for part in parts),
                "parts": len(parts),
                "complete": any(not part.tbc for part in parts),
                "generated_at": parts[0].generated_at,
                "received_at": max(part.received_at for part in parts),
            }
        )
    return out
