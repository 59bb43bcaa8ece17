"""`pipelet worker`: an arq job worker for the scale-out deployment (same job functions as embedded)."""

from __future__ import annotations

from pipelet_app.cli._errors import fail, friendly_errors
from pipelet_app.settings import get_settings


@friendly_errors
def worker() -> None:
    """Run background jobs from Redis (needs REDIS_URL): inverter polling and session reconstruction."""
    if not get_settings().redis_url:
        fail(
            "REDIS_URL: not set; `pipelet worker` is for the scale-out deployment "
            "(the embedded default runs jobs inside the web app)"
        )
    import logging

    from pipelet_app.runtime.jobs import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    run_worker()
