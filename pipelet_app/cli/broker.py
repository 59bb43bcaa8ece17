"""The embedded MQTT broker of `pipelet run`: Mosquitto on MQTT_URL's port when nothing listens there.

Only for a loopback MQTT_URL (a remote broker is the operator's to run), and only when the `mosquitto`
binary is installed (scripts/bootstrap.sh installs it). amqtt, the pure-Python broker, pins an old
`websockets` that the CSMS cannot use, so it is not an option in this environment.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

from pipelet_app.runtime.supervisor import Program
from pipelet_app.site_energy.consumer import broker_address, redacted_url

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


def broker_program(url: str, env: dict[str, str]) -> tuple[Program | None, str]:
    """(a supervised Mosquitto, or None when one is not needed or not possible; a line saying which)."""
    host, port = broker_address(url)
    url = redacted_url(url)  # the line goes to the terminal
    if listening(host, port):
        return None, f"MQTT:     {url} (already running)"
    if host not in LOOPBACK:
        return None, f"MQTT:     {url} does not answer; site energy waits for it"
    binary = mosquitto_binary()
    if binary is None:
        return None, "MQTT:     no broker and no `mosquitto` installed; run scripts/bootstrap.sh"
    program = Program("mqtt", [binary, "-p", str(port)], env=env, ready=lambda: listening(host, port))
    return program, f"MQTT:     {url} (embedded mosquitto)"
