"""The embedded MQTT broker of `pipelet run`: Mosquitto on MQTT_URL's port when nothing listens there.

Only for a loopback MQTT_URL (a remote broker is the operator's to run), and only when the `mosquitto`
binary and its dynamic security plugin are installed (scripts/bootstrap.sh installs both). amqtt, the
pure-Python broker, pins an old `websockets` that the CSMS cannot use, so it is not an option here.

The broker takes no anonymous client (`site_energy.embedded_broker`): sites log in with the credential
their operator issued, the consumer and the admin with logins derived from PIPELET_SECRET_KEY, which
`broker_program` hands the other children as MQTT_URL and MQTT_ADMIN_URL.
"""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path

from pipelet_app.runtime.supervisor import Program
from pipelet_app.site_energy.consumer import broker_address, broker_login, redacted_url
from pipelet_app.site_energy.embedded_broker import dynsec_plugin, embedded_urls

LOOPBACK = ("127.0.0.1", "localhost", "::1")
CANDIDATES = ("mosquitto", "/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


def listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def mosquitto_binary() -> str | None:
    for candidate in CANDIDATES:
        found = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
        if found:
            return found
    return None


def broker_program(
    url: str, env: dict[str, str], directory: Path
) -> tuple[Program | None, str, dict[str, str]]:
    """(a supervised Mosquitto, or None when one is not needed or not possible; a line saying which; the
    environment the other children need to use it: MQTT_URL with the consumer's login, MQTT_ADMIN_URL).
    `directory` holds the broker's generated config."""
    host, port = broker_address(url)
    shown = redacted_url(url)  # the line goes to the terminal
    if listening(host, port):
        return None, f"MQTT:     {shown} (already running)", {}
    if host not in LOOPBACK:
        return None, f"MQTT:     {shown} does not answer; site energy waits for it", {}
    binary = mosquitto_binary()
    if binary is None:
        return None, "MQTT:     no broker and no `mosquitto` installed; run scripts/bootstrap.sh", {}
    plugin = dynsec_plugin()
    if plugin is None:  # an anonymous broker would let any client write into any site: none at all
        return None, "MQTT:     no broker started: mosquitto's dynamic security plugin is missing", {}
    if broker_login(url)[0] is not None:
        note = " (its own consumer login replaces the one in MQTT_URL)"
    else:
        note = ""
    argv = [
        sys.executable,
        "-m",
        "pipelet_app.site_energy.embedded_broker",
        "--host",
        host,
        "--port",
        str(port),
        "--dir",
        str(directory),
        "--mosquitto",
        binary,
        "--plugin",
        plugin,
    ]
    program = Program("mqtt", argv, env=env, ready=lambda: listening(host, port))
    line = f"MQTT:     mqtt://{host}:{port} (embedded mosquitto, logins only{note})"
    return program, line, embedded_urls(host, port)
