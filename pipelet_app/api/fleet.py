"""`/api/v1/fleet`: a fleet's charging sessions by source, their solar share, and a CSV export.

Keys of fleet managers only; every row is scoped to the key's own fleet. Energies are in Wh, times in
UTC (ISO 8601 with offset), money in the session's currency.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, Field

from pipelet_app.api.deps import DB, Caller
from pipelet_app.api.errors import KEYED, documented
from pipelet_app.domain import csv_cells
from pipelet_app.fleet.queries import (
    MAX_PAGE,
    SessionFilter,
    SessionSource,
    iter_sessions,
    list_sessions,
    solar_share_by_driver,
)
from pipelet_app.services.session import session_scope

router = APIRouter(prefix="/fleet", tags=["fleet"])

ERRORS = {**KEYED, **documented(404, not_found="driver_id is not a driver of your fleet")}


class SessionOut(BaseModel):
    id: int
    transaction_id: str = Field(description="Unique per session; deterministic for PV sessions")
    station_id: str = Field(description="Charge point id, wallbox serial or public EVSE id")
    id_tag: str = Field(description="Card/token, or `pv-<brand>` for PV-wallbox sessions")
    reason: str = Field(description="Stop reason, `pv-native` or `pv-reconstructed`")
    source: SessionSource
    driver_id: int | None
    driver_name: str
    start_utc: datetime
    end_utc: datetime | None
    energy_wh: float = Field(description="Energy charged, Wh")
    solar_wh: float | None = Field(
        description="Part of energy_wh counted as solar, Wh (see solar_estimated); null while it is not known"
        " yet: the session is running (end_utc null), or it ended at a site with PV metering and its solar"
        " part is still being computed (a few minutes; docs/solar-share.md)"
    )
    solar_estimated: bool = Field(
        description="True when a PV session had no PV/grid split, or an OCPP session's site data had gaps"
    )
    cost: float | None = Field(description="Cost in `currency`")
    currency: str
    flags: list[str] = Field(
        description="What was unusual about an OCPP session's readings (docs/ocpp-energy-rules.md)"
    )
    review_pending: bool = Field(
        description="Held out of solar share and reimbursement until the charger's operator reviews it"
    )


class SessionPage(BaseModel):
    sessions: list[SessionOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last")


class DriverSolarShare(BaseModel):
    driver_id: int
    driver_name: str
    ocpp_wallbox_wh: float
    pv_wallbox_wh: float
    public_wh: float
    total_wh: float
    solar_wh: float
    solar_share: float | None = Field(description="solar_wh / total_wh in [0, 1]; null without charging")
    solar_estimated: bool


class SolarShareOut(BaseModel):
    method: str
    drivers: list[DriverSolarShare]


METHOD = (
    "PV-wallbox sessions count their measured PV part, or all their energy when the brand gives no "
    "PV/grid split (solar_estimated); OCPP-wallbox sessions count the solar part measured at sites with "
    "PV metering; public charging counts none."
)


PG_INT_MAX = 2_147_483_647
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _iso_text(value: object) -> object:
    """Query strings that are plain numbers would be read as Unix time by pydantic; the API says ISO 8601."""
    if isinstance(value, str) and NUMBER.fullmatch(value.strip()):
        raise ValueError("must be an ISO 8601 date-time such as 2025-01-31T00:00:00Z")
    return value


def _plausible(value: datetime | None) -> datetime | None:
    if value is not None and not 1970 <= value.year <= 2200:
        raise ValueError("must lie between the years 1970 and 2200")
    return value


Instant = Annotated[AwareDatetime | None, BeforeValidator(_iso_text), AfterValidator(_plausible)]
DriverId = Annotated[int | None, Query(ge=1, le=PG_INT_MAX)]


def session_filter(
    from_: Annotated[
        Instant, Query(alias="from", description="Sessions starting at or after (ISO 8601)")
    ] = None,
    to: Annotated[Instant, Query(description="Sessions starting before (ISO 8601)")] = None,
    driver_id: DriverId = None,
    source: SessionSource | None = None,
) -> SessionFilter:
    return SessionFilter(start=from_, end=to, driver_id=driver_id, source=source)


Filter = Annotated[SessionFilter, Depends(session_filter)]


@router.get("/sessions", response_model=SessionPage, responses=ERRORS)
def sessions(
    principal: Caller,
    db: DB,
    flt: Filter,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> SessionPage:
    page, next_cursor = list_sessions(db, principal, flt, cursor, limit)
    return SessionPage(sessions=[SessionOut(**row) for row in page], next_cursor=next_cursor)


CSV_COLUMNS = list(SessionOut.model_fields)


@router.get(
    "/sessions.csv",
    responses={**ERRORS, 200: {"content": {"text/csv": {}}, "description": "All matching sessions as CSV"}},
)
def sessions_csv(principal: Caller, db: DB, flt: Filter) -> StreamingResponse:
    list_sessions(db, principal, flt, limit=1)  # checks role and filters now: bad input is a JSON error

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        with session_scope() as stream_db:  # the request's session may close before the stream ends
            for row in iter_sessions(stream_db, principal, flt):
                writer.writerow(csv_cells.record(_csv_row(row)))
                if buffer.tell() > 64_000:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="pipelet-sessions.csv"'},
    )


def _csv_row(row: dict) -> dict:
    return {
        **row,
        "start_utc": row["start_utc"].isoformat(),
        "end_utc": row["end_utc"].isoformat() if row["end_utc"] else "",
        "energy_wh": f"{row['energy_wh']:.0f}",
        "flags": ";".join(row["flags"]),
        "solar_wh": "" if row["solar_wh"] is None else f"{row['solar_wh']:.0f}",
    }


@router.get("/solar-share", response_model=SolarShareOut, responses=ERRORS)
def solar_share(principal: Caller, db: DB, flt: Filter) -> SolarShareOut:
    drivers = solar_share_by_driver(db, principal, flt)
    return SolarShareOut(method=METHOD, drivers=[DriverSolarShare(**d) for d in drivers])
