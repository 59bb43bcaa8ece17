"""Filters whose SQL text does not grow with the data they filter by."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session


def one_of(db: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """`column IN (values)`; on PostgreSQL `column = ANY(:array)`, one parameter however many values.

    Why: an expanded IN renders one placeholder per value, so a batch read of 100 sites is a new,
    long statement text each time. Past 4 kB psycopg does not cache the text's conversion and never
    prepares it, and SQLAlchemy renders the list anew: at 10,000 sites that was a third of the loop's
    snapshot-read CPU (benchmarks/surplus_loop). With one array parameter the text is constant, so
    psycopg prepares it after a few runs and PostgreSQL plans it once. SQLite has no arrays.
    """
    if db.get_bind().dialect.name != "postgresql":
        return column.in_(list(values))
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
