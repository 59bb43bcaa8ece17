"""Every API error is JSON: `{"error": {"status", "message", "fields"?}}`, never an HTML page or a trace."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from pipelet_app.errors import AppError, field_path
from pipelet_app.runtime.web_guard import HttpMiddleware

log = logging.getLogger(__name__)

#: The largest JSON request body (the biggest legitimate one, a pricing plan or a command's payload, is a
#: few KiB). Without a cap a 2 MB field was stored as a site name or a token; CSV uploads have their own.
MAX_JSON_BODY = 1024 * 1024


class ErrorDetail(BaseModel):
    status: int
    message: str = Field(description="Starts with the name of the field at fault, where there is one")
    fields: list[dict] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


def documented(*statuses: int, not_found: str = "No such object in your tenant") -> dict[int, dict]:
    """OpenAPI entries for the error answers a route can give, all with the same JSON body."""
    texts = {
        400: "The request body could not be read (not UTF-8 or not JSON)",
        401: "Missing, unknown or revoked API key",
        403: "The key's role may not use this route",
        404: not_found,
        409: "Conflict with the object's state",
        413: f"The JSON body is larger than {MAX_JSON_BODY // 1024} KiB",
        422: "A parameter is invalid; `error.message` starts with its name",
        429: "Rate limit of the key exceeded; see Retry-After",
        502: "A vendor cloud Pipelet had to ask did not answer usefully; the message says why, retry later",
    }
    if 400 in statuses:  # a route that reads a body refuses one that is too large
        statuses = (*statuses, 413)
    return {status: {"model": ErrorBody, "description": texts[status]} for status in statuses}


KEYED = documented(401, 403, 422, 429)


def error_body(status: int, message: str, fields: list[dict] | None = None) -> dict:
    body: dict = {"status": status, "message": message}
    if fields:
        body["fields"] = fields
    return {"error": body}


def install_error_handlers(api: FastAPI) -> None:
    @api.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        if retry_after := getattr(exc, "retry_after_s", None):
            headers["Retry-After"] = str(retry_after)
        return JSONResponse(error_body(exc.status, exc.message), status_code=exc.status, headers=headers)

    @api.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        unreadable = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
        if unreadable is not None:  # 400 as documented, not a 422 naming the byte offset as a field
            why = (unreadable.get("ctx") or {}).get("error") or unreadable.get("msg")
            return JSONResponse(error_body(400, f"body: not JSON ({why})"), status_code=400)
        fields = [
            {
                # a body of the wrong shape (a list for an object) has no field path: it is the body
                "field": field_path(p for p in err["loc"] if p not in ("query", "body", "path")) or "body",
                "problem": err["msg"],
            }
            for err in exc.errors()
        ]
        message = "; ".join(f"{f['field']}: {f['problem']}" for f in fields)
        return JSONResponse(error_body(422, message, fields), status_code=422)

    @api.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(exc.status_code, str(exc.detail)), status_code=exc.status_code)

    @api.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled API error")
        return JSONResponse(error_body(500, "Internal error; it has been logged."), status_code=500)


class RequestGuard(HttpMiddleware):
    """ASGI middleware for what no route should have to remember, answered before any route reads the
    request:

    * a JSON body above MAX_JSON_BODY: 413, on the declared Content-Length and again on the bytes
      received (a chunked body declares none). Non-JSON bodies (the CSV imports, the Stripe webhook) keep
      their own, route-specific limits.
    * a NUL character in a query parameter or in a JSON string (key or value): 422 naming it.
      PostgreSQL refuses NUL in text, so such input reached the database and answered 500.
    """

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (name := _nul_parameter(scope.get("query_string", b""))) is not None:
            await _refuse_nul(name, scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if b"json" not in headers.get(b"content-type", b""):
            await self.app(scope, receive, send)
            return
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > MAX_JSON_BODY:
            await _too_large(scope, receive, send)
            return
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay(message, receive), send)
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_JSON_BODY:
                await _too_large(scope, receive, send)
                return
        if b"\\u0000" in body and (field := _nul_field(bytes(body))) is not None:
            await _refuse_nul(field, scope, receive, send)
            return
        await self.app(scope, _replay({"type": "http.request", "body": bytes(body)}, receive), send)


def _nul_parameter(query_string: bytes) -> str | None:
    """The first query parameter whose name or value holds a NUL (percent-encoded as %00)."""
    if b"%00" not in query_string:
        return None
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True, errors="replace")
    return next((name for name, value in pairs if "\x00" in name + value), None)


def _nul_field(body: bytes) -> str | None:
    """The path (`windows[0].label`, as validation errors name fields) of the first JSON string holding a
    NUL; None when there is none or the body is not JSON (the route says so itself)."""
    try:
        document = json.loads(body)
    except ValueError:
        return None

    def walk(value: Any, path: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
        if isinstance(value, str):
            return path if "\x00" in value else None
        items = (
            value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        )
        for key, item in items:
            if isinstance(key, str) and "\x00" in key:
                return (*path, key.replace("\x00", "\\0"))
            if (found := walk(item, (*path, key))) is not None:
                return found
        return None

    found = walk(document, ())
    return None if found is None else field_path(found) or "body"


async def _refuse_nul(field: str, scope: Scope, receive: Receive, send: Send) -> None:
    problem = "contains a NUL character"
    body = error_body(422, f"{field}: {problem}", [{"field": field, "problem": problem}])
    await JSONResponse(body, status_code=422)(scope, receive, send)


def _replay(first: Message, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return first

    return replay


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    message = f"body: larger than {MAX_JSON_BODY // 1024} KiB of JSON"
    await JSONResponse(error_body(413, message), status_code=413)(scope, receive, send)
