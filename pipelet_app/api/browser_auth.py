"""`POST /auth/login` and `POST /auth/logout`: the browser's session cookie is set and cleared here only.
`POST /auth/password-reset` and `POST /auth/password-reset/{token}`: the forgotten-password link
(`auth.password_reset`); `POST /auth/invitations/{token}`: accepting an invitation. Plain form posts too,
so no password ever passes a page event (Reflex would carry it over its socket and could log it).

The cookie is HttpOnly (page scripts never see the token), Secure when `PUBLIC_URL` is https, and
SameSite=Strict. The sign-in page is a plain HTML form posting here; the answer redirects (303) to the
user's portal (via "/"), or back to `/login?error=wrong|locked|busy&wait=S`, so the page reloads and its
event socket reconnects with the new cookie (Reflex reads cookies from the socket's handshake). A JSON
body gets a JSON answer instead (`{"home"}` or the usual error body), for scripts and tests.

The route is async: the budgets (`login_throttle`) are checked on the loop for the price of a counter,
the user look-up runs on the thread pool, and argon2 on its own small bounded pool (`password_pool`), so
a flood of sign-ins never blocks the event loop or the threads other routes use. These are browser
routes, not part of the keyed `/api/v1` API, so they stay out of its OpenAPI document.
"""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from pipelet_app import audit
from pipelet_app.api import login_throttle
from pipelet_app.api.errors import error_body
from pipelet_app.auth import InvalidInput, home_path, invitations, password_reset
from pipelet_app.auth import sessions as auth_sessions
from pipelet_app.auth.demo_exposure import REFUSED as DEMO_REFUSED
from pipelet_app.auth.demo_exposure import demo_login_refused
from pipelet_app.auth.password_pool import Busy, password_pool
from pipelet_app.services.session import session_scope
from pipelet_app.settings import get_settings

router = APIRouter(include_in_schema=False)
log = logging.getLogger("pipelet.auth")
MAX_FIELD = 1024  # longer input is no password of ours; refusing it bounds the hashing cost too


def _set_cookie(response: Response, token: str) -> None:
    settings = get_settings()
    response.set_cookie(
        auth_sessions.SESSION_COOKIE,
        token,
        max_age=int(settings.session_ttl_hours * 3600),
        path="/",
        httponly=True,
        secure=settings.https,
        samesite="strict",
    )


def _clear_cookie(response: Response) -> None:
    settings = get_settings()
    response.delete_cookie(
        auth_sessions.SESSION_COOKIE, path="/", httponly=True, secure=settings.https, samesite="strict"
    )


async def _fields(
    request: Request, names: tuple[str, ...] = ("email", "password")
) -> tuple[dict[str, str], bool]:
    """(the named fields, wants_json) from a form post or a JSON body."""
    raw = (await request.body())[: 4 * MAX_FIELD]
    if "json" in request.headers.get("content-type", ""):
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        return {k: str(data.get(k) or "") for k in names}, True
    form = parse_qs(raw.decode("utf-8", "replace"))
    return {k: (form.get(k) or [""])[0] for k in names}, False


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _wrong(email: str, address: str) -> None:
    """A failed sign-in: logged and audited (the e-mail as typed, never the password); the failure that
    locks the pair is recorded as the lock-out."""
    locked = login_throttle.failed(email, address)
    log.warning("sign-in failed", extra={"email": email, "address": address, "locked": locked})
    anonymous = audit.Named(f"anonymous from {address}")
    audit.record_now(anonymous, "auth.login_failed", "user", email, {"address": [None, address]})
    if locked:
        minutes = get_settings().login_lockout_minutes
        log.warning("sign-in locked", extra={"email": email, "address": address, "minutes": minutes})
        audit.record_now(anonymous, "auth.lockout", "user", email, {"address": [None, address]})


def _answer(wants_json: bool, status: int, code: str, message: str, wait_s: int = 0) -> Response:
    if wants_json:
        headers = {"Retry-After": str(wait_s)} if wait_s else {}
        return JSONResponse(error_body(status, message), status_code=status, headers=headers)
    query = {"error": code, **({"wait": str(wait_s)} if wait_s else {})}
    return RedirectResponse(f"/login?{urlencode(query)}", status_code=303)


@router.post("/auth/login")
async def login(request: Request) -> Response:
    fields, wants_json = await _fields(request)
    email, password = fields["email"].strip().lower()[:MAX_FIELD], fields["password"]
    address = _address(request)
    if demo_login_refused(email):
        return _answer(wants_json, 403, "demo", DEMO_REFUSED)
    if refusal := login_throttle.admit(email, address):
        code = "locked" if refusal.message.startswith("Too many failed") else "busy"
        log.info("sign-in refused (%s)", code, extra={"email": email, "address": address})
        return _answer(wants_json, 429, code, refusal.message, refusal.retry_after_s)
    if not email or not password or len(password) > MAX_FIELD:
        _wrong(email, address)
        return _answer(wants_json, 401, "wrong", auth_sessions.WRONG_CREDENTIALS)

    def look_up() -> auth_sessions.LoginCandidate:
        with session_scope() as db:
            return auth_sessions.login_candidate(db, email)

    pool = password_pool()
    try:
        with pool.slot():  # before the look-up: a refused attempt costs no query
            candidate = await run_in_threadpool(look_up)
            ok = await pool.check(candidate.password_hash, password)
    except Busy as busy:
        log.warning("sign-in refused: password checks busy", extra={"address": address})
        return _answer(wants_json, 429, "busy", busy.message, busy.retry_after_s)
    if not ok or candidate.user_id is None:
        _wrong(email, address)
        return _answer(wants_json, 401, "wrong", auth_sessions.WRONG_CREDENTIALS)
    login_throttle.succeeded(email, address)
    user_id = candidate.user_id

    def start() -> tuple[str, str]:
        with session_scope() as db:
            token = auth_sessions.open_session(db, user_id)
            principal = auth_sessions.resolve(db, token)
            audit.record(db, principal, "auth.login", "user", user_id, {"address": [None, address]})
            return token, home_path(principal.role)

    token, home = await run_in_threadpool(start)
    log.info("signed in", extra={"user_id": user_id, "address": address})
    # The form goes to "/", whose page sends the user on to their portal inside the app (a direct 303 to
    # "/fleet" would come back as "/fleet/" from the static front end's own redirect).
    response: Response = (
        JSONResponse({"home": home}) if wants_json else RedirectResponse("/", status_code=303)
    )
    _set_cookie(response, token)
    return response


@router.post("/auth/logout")
def logout(request: Request) -> Response:
    """Revoke the session behind the cookie and clear it; the page then goes to /login."""
    with session_scope() as db:
        auth_sessions.logout(db, request.cookies.get(auth_sessions.SESSION_COOKIE))
    log.info("signed out", extra={"address": _address(request)})
    wants_json = "json" in request.headers.get("accept", "") or "json" in request.headers.get(
        "content-type", ""
    )
    response: Response = (
        JSONResponse({"home": "/login"}) if wants_json else RedirectResponse("/login", status_code=303)
    )
    _clear_cookie(response)
    return response


def _reset_answer(wants_json: bool, status: int, page: str, code: str, message: str = "") -> Response:
    if wants_json:
        body = {"ok": True} if status < 300 else error_body(status, message)
        return JSONResponse(body, status_code=status)
    return RedirectResponse(
        f"{page}?{urlencode({'reset' if status < 300 else 'error': code})}", status_code=303
    )


@router.post("/auth/password-reset")
async def ask_for_reset(request: Request) -> Response:
    """Mail a reset link if the e-mail has an account; the answer is the same either way (202)."""
    fields, wants_json = await _fields(request, ("email",))
    email, address = fields["email"].strip().lower()[:MAX_FIELD], _address(request)
    if refusal := login_throttle.admit(email, address):  # the sign-in budgets bound reset floods too
        return _answer(wants_json, 429, "busy", refusal.message, refusal.retry_after_s)
    if not password_reset.available():
        return _reset_answer(
            wants_json, 503, "/forgot-password", "unavailable", "password reset: not set up (SMTP_URL)"
        )
    if not email:
        return _reset_answer(wants_json, 422, "/forgot-password", "email", "email: enter your e-mail address")

    def prepare() -> tuple[str, str] | None:
        with session_scope() as db:
            return password_reset.prepare(db, email, address)

    prepared = await run_in_threadpool(prepare)
    if prepared is not None:  # sent in the background: the answer's timing says nothing about the e-mail
        asyncio.get_running_loop().run_in_executor(None, password_reset.mail, *prepared)
    return _reset_answer(wants_json, 202, "/login", "sent")


@router.post("/auth/password-reset/{token}")
async def reset_password(token: str, request: Request) -> Response:
    """Set a new password through a mailed link; signs the account out everywhere."""
    fields, wants_json = await _fields(request, ("password",))
    page = f"/reset-password/{token[:MAX_FIELD]}"
    if len(fields["password"]) > MAX_FIELD:
        return _reset_answer(wants_json, 422, page, "password", "password: too long")

    def complete() -> int:
        with session_scope() as db:
            return password_reset.complete(db, token[:MAX_FIELD], fields["password"], _address(request))

    try:
        await run_in_threadpool(complete)
    except InvalidInput as exc:
        return _reset_answer(wants_json, 422, page, exc.message.split(":", 1)[0], exc.message)
    return _reset_answer(wants_json, 200, "/login", "done")


# An invitation error comes back to the page as a code; the page words it (`InviteState`).
_INVITE_ERROR_CODES = {"password": "password", "email": "email", "spv_partner": "partner"}


@router.post("/auth/invitations/{token}")
async def accept_invitation(token: str, request: Request) -> Response:
    """Create the invited account with the chosen name and password (form or JSON `{name, password}`)."""
    fields, wants_json = await _fields(request, ("name", "password"))
    token = token[:MAX_FIELD]
    page = f"/invite/{token}"
    if len(fields["password"]) > MAX_FIELD or len(fields["name"]) > MAX_FIELD:
        return _reset_answer(wants_json, 422, page, "password", "password: too long")

    def accept() -> None:
        with session_scope() as db:
            invitations.accept_invitation(db, token, fields["password"], fields["name"])

    try:
        await run_in_threadpool(accept)
    except InvalidInput as exc:
        code = _INVITE_ERROR_CODES.get(exc.message.split(":", 1)[0], "invalid")
        return _reset_answer(wants_json, 422, page, code, exc.message)
    if wants_json:
        return JSONResponse({"ok": True})
    return RedirectResponse(f"{page}?done=1", status_code=303)
