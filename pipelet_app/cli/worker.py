"""`pipelet worker`: an arq job worker for the scale-out deployment (same job functions as embedded)."""

from __future__ import annotations

from pipelet_app.cli._errors import fail, friendly_errors
from pipelet_app.keys import require_secret_key
from pipelet_app.settings import get_settings


@friendly_errors
def worker() -> None:
    """Run background jobs from Redis (needs REDIS_URL): inverter polling and session reconstruction."""
    if not get_settings().redis_url:
        fail(
            "REDIS_URL: not set; `pipelet worker` is for the scale-out deployment "
            "(the embedded default runs jobs inside the web app)"
        )
    require_secret_key()  # BadInput: one line naming PIPELET_SECRET_KEY
    _check_redis(get_settings().redis_url or "")
    from pipelet_app import logs
    from pipelet_app.runtime.jobs import run_worker

    logs.configure("INFO")  # JSON lines with each job's id (LOG_FORMAT)
    run_worker()


def _check_redis(url: str) -> None:
    """One quick ping, so an unreachable Redis is one line naming REDIS_URL, not arq's minute of retries."""
    import redis

    shown = _without_password(url)
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
        try:
            client.ping()
        finally:
            client.close()
    except ValueError as exc:
        fail(f"REDIS_URL: {shown} is not a Redis URL ({exc})")
    except redis.RedisError as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        fail(f"REDIS_URL: cannot reach {shown}: {reason}")


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()
