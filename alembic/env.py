"""Alembic runs against DATABASE_URL through the same engine factory as the app."""

from __future__ import annotations

from sqlalchemy import Enum
from sqlmodel import SQLModel

import pipelet_app.db.models  # noqa: F401  (registers the tables)
from alembic import context
from pipelet_app.db import get_engine
from pipelet_app.db.types import UTCDateTime


def render_item(type_: str, obj, autogen_context):
    """Migrations spell our UTC column as a plain DateTime so they never import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    if type_ == "type" and obj.__class__.__module__.startswith("sqlmodel"):
        return "sa.String()"
    if type_ == "type" and isinstance(obj, Enum):
        return f"sa.String(length={obj.length})"
    return False


def run_migrations() -> None:
    connectable = context.config.attributes.get("connection") or get_engine()
    with connectable.connect() if hasattr(connectable, "connect") else connectable as connection:
        context.configure(
            connection=connection,
            target_metadata=SQLModel.metadata,
            render_item=render_item,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
