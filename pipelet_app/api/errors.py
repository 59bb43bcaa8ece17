"""Every API error is JSON: `{"error": {"status", "message", "fields"?}}`, never an HTML page or a trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipelet_app.errors import AppError

log = logging.getLogger(__name__)


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
        422: "A parameter is invalid; `error.message` starts with its name",
        429: "Rate limit of the key exceeded; see Retry-After",
        502: "A vendor cloud Pipelet had to ask did not answer usefully; the message says why, retry later",
    }
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
        fields = [
            {
                "field": ".".join(str(p) for p in err["loc"] if p not in ("query", "body", "path")),
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
