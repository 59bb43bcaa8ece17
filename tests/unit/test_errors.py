"""The error hierarchy: load and conflict errors are not auth errors, and the API maps each unchanged."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pipelet_app.api.chargers import CommandFailed
from pipelet_app.api.errors import install_error_handlers
from pipelet_app.api.ratelimit import RateLimited
from pipelet_app.auth import AuthError, Forbidden, InvalidInput, NotFound
from pipelet_app.auth.password_pool import Busy
from pipelet_app.errors import AppError, Conflict, TooBusy
from pipelet_app.operations.identity import AlreadyClaimed


@pytest.mark.parametrize("error", [Busy(), RateLimited(7), AlreadyClaimed("x"), CommandFailed(504, "x")])
def test_load_and_conflict_errors_are_not_auth_errors(error: AppError) -> None:
    assert isinstance(error, AppError)
    assert not isinstance(error, AuthError)


@pytest.mark.parametrize(
    ("error", "status", "retry_after"),
    [
        (Busy(), 429, "2"),
        (RateLimited(7), 429, "7"),
        (AlreadyClaimed("cp-1: claimed"), 409, None),
        (CommandFailed(504, "the charger did not answer"), 504, None),
        (NotFound("no such charger"), 404, None),
        (InvalidInput("name: required"), 422, None),
        (Forbidden("operators only"), 403, None),
    ],
)
def test_api_maps_each_error_as_before(error: AppError, status: int, retry_after: str | None) -> None:
    api = FastAPI()
    install_error_handlers(api)

    @api.get("/boom")
    def boom() -> None:
        raise error

    answer = TestClient(api).get("/boom")
    assert answer.status_code == status
    assert answer.json() == {"error": {"status": status, "message": error.message}}
    assert answer.headers.get("retry-after") == retry_after
    assert isinstance(error, TooBusy) == (status == 429)
    assert isinstance(error, Conflict) == (status == 409)
