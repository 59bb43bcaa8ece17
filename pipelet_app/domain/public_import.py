"""Public charging sessions from a CSV file (a roaming provider's or card issuer's export).

Columns (header required, any order, extra columns ignored):
  driver_email  required  the driver, by the e-mail the fleet knows them by
  start_utc     required  ISO 8601 with `Z` or an offset
  end_utc       optional  ISO 8601, not before start_utc
  energy_kwh    required  decimal point or decimal comma, 0 to MAX_ENERGY_KWH
  station_id    required  the EVSE id, e.g. DE*ION*E1234
  cost          optional  decimal, 0 to MAX_COST
  currency      optional  three letters, default EUR
  provider      optional  free text (shown as the session's id tag)

Each row gets a transaction id derived from its content and the fleet, so uploading the same file twice
adds nothing, and two fleets never collide.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime

REQUIRED = ("driver_email", "start_utc", "energy_kwh", "station_id")
OPTIONAL = ("end_utc", "cost", "currency", "provider")
MAX_ROWS = 50_000
# No public charge fills more than a truck's battery; a bigger figure is a typo or a unit mix-up (Wh as kWh)
# and would swamp the month's reimbursement. Money likewise.
MAX_ENERGY_KWH = 1_000.0
MAX_COST = 10_000.0


@dataclass(frozen=True)
class PublicRow:
    line: int
    driver_email: str
    start_utc: datetime
    end_utc: datetime | None
    energy_wh: float
    station_id: str
    cost: float | None
    currency: str
    provider: str

    def transaction_id(self, fleet_id: int) -> str:
        start = self.start_utc.astimezone(UTC).isoformat()
        key = f"{fleet_id}|{self.driver_email}|{start}|{self.station_id}|{self.energy_wh:.0f}"
        return "public-" + hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    problem: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.problem}"

    @property
    def about_the_file(self) -> bool:
        """Line 1 is the header: an error there means no row could be read at all."""
        return self.line == 1


class _Bad(Exception):
    def __init__(self, column: str, problem: str) -> None:
        self.column, self.problem = column, problem


def _time(raw: str, column: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _Bad(column, f"{raw!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise _Bad(column, "needs `Z` or an offset (times are UTC)")
    return value


def _number(raw: str, column: str, maximum: float) -> float:
    try:
        value = float(raw.strip().replace(",", "."))
    except ValueError:
        raise _Bad(column, f"{raw!r} is not a number") from None
    if not math.isfinite(value):
        raise _Bad(column, f"{raw!r} is not a finite number")
    if value < 0 or value > maximum:
        raise _Bad(column, f"{raw!r} is outside 0 to {maximum:,.0f}")
    return value


def _row(line: int, record: dict[str, str]) -> PublicRow:
    get = {k: (record.get(k) or "").strip() for k in (*REQUIRED, *OPTIONAL)}
    for column in REQUIRED:
        if not get[column]:
            raise _Bad(column, "missing")
    if "@" not in get["driver_email"]:
        raise _Bad("driver_email", f"{get['driver_email']!r} is not an e-mail address")
    start = _time(get["start_utc"], "start_utc")
    end = _time(get["end_utc"], "end_utc") if get["end_utc"] else None
    if end is not None and end < start:
        raise _Bad("end_utc", "is before start_utc")
    currency = get["currency"].upper() or "EUR"
    if len(currency) != 3 or not currency.isalpha():
        raise _Bad("currency", f"{currency!r} is not a three-letter currency code")
    return PublicRow(
        line=line,
        driver_email=get["driver_email"].lower(),
        start_utc=start,
        end_utc=end,
        energy_wh=round(_number(get["energy_kwh"], "energy_kwh", MAX_ENERGY_KWH) * 1000, 1),
        station_id=get["station_id"],
        cost=_number(get["cost"], "cost", MAX_COST) if get["cost"] else None,
        currency=currency,
        provider=get["provider"] or "public",
    )


def parse_public_csv(text: str) -> tuple[list[PublicRow], list[RowError]]:
    """Good rows and per-row errors; a file-level problem is one error on line 1."""
    text = text.lstrip("\ufeff")
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return [], [RowError(1, missing[0], "column missing from the header")]
    reader.fieldnames = header
    rows: list[PublicRow] = []
    errors: list[RowError] = []
    for index, record in enumerate(reader):
        line = index + 2
        if index >= MAX_ROWS:
            errors.append(RowError(line, "file", f"more than {MAX_ROWS} rows; split the file"))
            break
        try:
            rows.append(_row(line, record))
        except _Bad as bad:
            errors.append(RowError(line, bad.column, bad.problem))
    return rows, errors
