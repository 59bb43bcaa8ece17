"""Entry point of the CSMS process: `python csms_server.py` (also `pipelet csms`, and part of `pipelet run`).

Listens on ws://0.0.0.0:CSMS_PORT/ocpp/{charge_point_id} (wss:// when a certificate is configured, with
client certificates verified when CSMS_TLS_CLIENT_CA is set: `pipelet_app/ocpp/tls.py`),
brings the database schema to head first (unless --no-migrate), and on SIGTERM / SIGINT closes every
charger socket and marks this node's chargers offline before exiting, so no charger stays ghost-online.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from pydantic import ValidationError

from pipelet_app.settings import get_settings, settings_error_message


async def run(host: str, port: int | None, stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set (or SIGTERM / SIGINT arrives)."""
    from pipelet_app.ocpp.server import CsmsServer
    from pipelet_app.ocpp.tls import settings_context

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # Not possible outside the main thread (e.g. when `pipelet run` hosts the CSMS in a thread).
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    server = CsmsServer(
        host,
        port,
        ssl_context=settings_context(),
        node_id=getattr(get_settings(), "csms_node_id", None),
        freeze_heap=True,
    )
    await server.start()
    try:
        await stop.wait()
    finally:
        logging.getLogger("pipelet.csms").info("shutting down")
        await server.stop()


def main(argv: list[str] | None = None) -> int:
    """Run the CSMS until SIGTERM / SIGINT; returns the exit status.

    `argv` are this script's own options; None means "all defaults" (so `pipelet csms` / `pipelet run`
    can call `main()` without their own command line being parsed here).
    """
    parser = argparse.ArgumentParser(prog="csms_server", description="Pipelet OCPP 1.6-J / 2.0.1 CSMS")
    parser.add_argument("--host", default="0.0.0.0", help="interface to listen on (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=None, help="port (default CSMS_PORT, 9000)")
    parser.add_argument("--no-migrate", action="store_true", help="do not run `alembic upgrade head` first")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args([] if argv is None else argv)
    try:
        get_settings()
    except ValidationError as exc:  # CSMS_PORT=70000, CSMS_TLS_CERT=/missing.pem: one line naming it
        print(f"csms: {settings_error_message(exc)}", file=sys.stderr)
        return 2
    from pipelet_app.keys import MissingSecretKey, require_secret_key

    try:
        require_secret_key()  # the loopback command token derives from it; there is no fallback
    except MissingSecretKey as exc:
        print(f"csms: {exc}", file=sys.stderr)
        return 2
    from pipelet_app.runtime.files import harden

    harden()  # the database it writes is for this user only
    from pipelet_app import logs

    logs.configure(args.log_level)  # JSON lines with the charger id of each connection (LOG_FORMAT)
    if not args.no_migrate:
        from pipelet_app.db.migrate import upgrade_database

        try:
            upgrade_database()
        except Exception as exc:  # BadInput and friends: one line, no traceback
            print(f"csms: {exc}", file=sys.stderr)
            return 2
    try:
        asyncio.run(run(args.host, args.port))
    except OSError as exc:
        print(f"csms: cannot listen: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # e.g. REDIS_URL set but Redis unreachable: fail fast, say why
        logging.getLogger("pipelet.csms").debug("start-up failed", exc_info=True)
        print(f"csms: cannot start: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
