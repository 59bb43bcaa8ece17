"""Request dependencies: a database session per request and the caller behind the bearer key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from pydantic import Field

from pipelet_app.api.ratelimit import check_rate
from pipelet_app.auth import NotAuthenticated, Principal
from pipelet_app.auth import sessions as auth_sessions
from pipelet_app.auth.api_keys import principal_for_key
from pipelet_app.services.session import Session, session_scope


def db_session() -> Iterator[Session]:
    with session_scope() as db:
        yield db


DB = Annotated[Session, Depends(db_session)]


def caller(request: Request, db: DB) -> Principal:
    """The bearer key's user; without a key, the browser's signed-in session (for the portals' export links).

    The session cookie is SameSite=strict, and the web guard (runtime/web_guard.py) refuses cookie-borne
    writes from other origins, so another page cannot act through a signed-in browser.
    """
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        principal = principal_for_key(db, key.strip())
        check_rate(f"key:{key.strip().split('_')[1]}")
        return principal
    if header:
        raise NotAuthenticated("Malformed Authorization header: send `Authorization: Bearer <key>`.")
    if token := request.cookies.get(auth_sessions.SESSION_COOKIE):
        principal = auth_sessions.resolve(db, token)
        check_rate(f"user:{principal.user_id}")
        return principal
    raise NotAuthenticated("Missing API key: send `Authorization: Bearer <key>`.")


Caller = Annotated[Principal, Depends(caller)]

PG_INT_MAX = 2**31 - 1
#: A numeric object id in a path: beyond PostgreSQL's int4 (SQLite's int64) the look-up itself failed with
#: a 500; out of range is now a 422 naming the parameter, before any query.
ObjectId = Annotated[int, Path(ge=1, le=PG_INT_MAX)]
#: A textual object id in a path (charge point, transaction): PostgreSQL refuses a NUL in text, so an id
#: with one answered 500 instead of a 422 naming the parameter.
NO_NUL = r"^[^\x00]+$"
TextId = Annotated[str, Path(min_length=1, max_length=200, pattern=NO_NUL)]
#: An object id in a body (a site, plan, driver, SPV): the same range, for the same reason.
RefId = Annotated[int, Field(ge=1, le=PG_INT_MAX)]
