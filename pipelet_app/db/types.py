"""Column types shared by every model."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import DateTime, Enum
from sqlalchemy.types import TypeDecorator

from pipelet_app.clock import utcnow  # noqa: F401  (its old home, for code written before clock.py)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC instants; always hands back timezone-aware UTC datetimes.

    SQLite drops the offset and PostgreSQL converts to the session zone, so the only portable contract is
    "naive UTC in the column, aware UTC in Python". Naive inputs are refused: they are bugs waiting to
    mix local and UTC times.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def str_enum(enum_cls: type[StrEnum]) -> Enum:
    """Store a StrEnum by its value in a VARCHAR: readable in SQL, and new members need no migration."""
    return Enum(
        enum_cls,
        values_callable=lambda members: [member.value for member in members],
        native_enum=False,
        create_constraint=False,
        length=32,
    )
