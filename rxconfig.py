"""Reflex configuration. Ports and the database come from pipelet_app.settings, like everything else.

State lives in memory (embedded) or in Redis (scale-out, `REDIS_URL`), never in pickles on disk: a tab's
state is only what its page shows, but the request headers Reflex keeps with it include the cookie.
CORS answers only the origins of `CORS_ALLOW_ORIGINS` (none by default).
"""

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
    # The theme lives here: `App(theme=...)` is deprecated since Reflex 0.9 and warned on every start.
    plugins=[rx.plugins.RadixThemesPlugin(theme=rx.theme(accent_color="teal", radius="medium"))],
    state_manager_mode="redis" if _settings.redis_url else "memory",
    redis_url=_settings.redis_url,
    cors_allowed_origins=_settings.cors_origins,
)
