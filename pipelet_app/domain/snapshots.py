"""The one canonical counter snapshot every inverter brand is turned into, and its CSV form.

Every brand's adapter converts its own shape (kWh or Wh, per-interval or per-session counters) into
`Snapshot`, so the reconstructor stays brand-agnostic. The CSV form is what `pipelet reconstruct`
reads; parsing lives here (pure text in, snapshots out) so the CLI and tests share one strict reader.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

REQUIRED_COLUMNS = ("time_utc", "lifetime_wh")
OPTIONAL_COLUMNS = ("power_w", "status")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One poll of a wallbox: its cumulative import counter, and power and status when the brand has them.

    Validated on construction so the reconstructor never has to guess what a naive time or a NaN means.
    """

    time_utc: datetime
    lifetime_wh: float
    power_w: float | None = None
    status: str | None = None

    def __post_init__(self) -> None:
        if self.time_utc.tzinfo is None or self.time_utc.utcoffset() is None:
            raise ValueError("time_utc must be timezone-aware")
        if not math.isfinite(self.lifetime_wh) or self.lifetime_wh < 0:
            raise ValueError(f"lifetime_wh must be a finite number >= 0, got {self.lifetime_wh!r}")
        if self.power_w is not None and not math.isfinite(self.power_w):
            raise ValueError(f"power_w must be finite, got {self.power_w!r}")


class SnapshotLike(Protocol):
    """Anything shaped like a snapshot, e.g. the adapters' `inverters.base.CounterSnapshot`.

    The reconstructor accepts these so adapters need not import the domain type; they are validated on
    the way in (see `as_snapshot`).
    """

    @property
    def time_utc(self) -> datetime: ...

    @property
    def lifetime_wh(self) -> float: ...

    @property
    def power_w(self) -> float | None: ...

    @property
    def status(self) -> str | None: ...


def as_snapshot(row: SnapshotLike) -> Snapshot:
    """The validated canonical form of a snapshot-shaped object; ValueError says what is wrong."""
    if isinstance(row, Snapshot):
        return row
    power = None if row.power_w is None else float(row.power_w)
    status = None if row.status is None else str(row.status)
    return Snapshot(row.time_utc, float(row.lifetime_wh), power, status)


class SnapshotParseError(ValueError):
    """A CSV cell that cannot become a snapshot; names the row (file line) and the column."""

    def __init__(self, row: int, column: str, problem: str) -> None:
        self.row = row
        self.column = column
        self.problem = problem
        super().__init__(f"row {row}, {column}: {problem}")


def parse_time(text: str, row: int) -> datetime:
    """ISO 8601 with `Z` or an offset; a time without offset is refused because its zone is a guess."""
    value = text.strip()
    if not value:
        raise SnapshotParseError(row, "time_utc", "empty")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise SnapshotParseError(row, "time_utc", f"{value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise SnapshotParseError(row, "time_utc", f"{value!r} has no UTC offset (add Z or +HH:MM)")
    return parsed


def parse_number(text: str, row: int, column: str) -> float:
    """A finite decimal number with a dot; anything else names the cell."""
    value = text.strip()
    try:
        number = float(value)
    except ValueError:
        raise SnapshotParseError(row, column, f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise SnapshotParseError(row, column, f"{value!r} is not a finite number")
    return number


def parse_row(record: dict[str, str | None], row: int) -> Snapshot:
    """One CSV record to a snapshot; optional cells that are empty mean 'the brand did not say'."""
    lifetime_text = (record.get("lifetime_wh") or "").strip()
    if not lifetime_text:
        raise SnapshotParseError(row, "lifetime_wh", "empty")
    lifetime = parse_number(lifetime_text, row, "lifetime_wh")
    if lifetime < 0:
        raise SnapshotParseError(row, "lifetime_wh", f"{lifetime_text!r} is negative")
    power_text = (record.get("power_w") or "").strip()
    status_text = (record.get("status") or "").strip()
    return Snapshot(
        time_utc=parse_time(record.get("time_utc") or "", row),
        lifetime_wh=lifetime,
        power_w=parse_number(power_text, row, "power_w") if power_text else None,
        status=status_text or None,
    )


def parse_snapshots_csv(text: str) -> list[Snapshot]:
    """Parse `time_utc,lifetime_wh[,power_w,status]` CSV text; rows may come in any order.

    Row numbers in errors are file line numbers (the header is row 1), which is what a user sees in an
    editor. Extra columns are ignored so an export with more fields still works.
    """
    if not text.strip():
        raise SnapshotParseError(
            1, "header", "the file is empty; expected time_utc,lifetime_wh[,power_w,status]"
        )
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in (reader.fieldnames or [])]
    for column in REQUIRED_COLUMNS:
        if column not in header:
            raise SnapshotParseError(1, column, "missing column in the header")
    reader.fieldnames = header
    snapshots: list[Snapshot] = []
    for record in reader:
        row = reader.line_num
        if None in record:
            raise SnapshotParseError(row, "(row)", f"more cells than the header's {len(header)} columns")
        if all(not (value or "").strip() for value in record.values()):
            continue
        snapshots.append(parse_row(record, row))
    return snapshots
