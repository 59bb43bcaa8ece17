"""Reflex configuration. Ports and the database come from pipelet_app.settings, like everything else."""

import reflex as rx

from pipelet_app.settings import get_settings

_settings = get_settings()

config = rx.Config(
    app_name="pipelet_app",
    db_url=_settings.database_url,
    frontend_port=_settings.web_port,
    backend_port=_settings.web_port,
    telemetry_enabled=False,
    show_built_with_reflex=False,
    disable_plugins=[rx.plugins.SitemapPlugin],
)
