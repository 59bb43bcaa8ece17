"""The embedded broker's start: its dynamic-security config rebuilt from the database, then Mosquitto.

`pipelet run` supervises `python -m pipelet_app.site_energy.embedded_broker ...`, which writes
`mosquitto.conf` and `dynamic-security.json` into its directory and then becomes `mosquitto` (exec: the
supervisor's signals reach the broker itself). Every start, a restart after a crash included, takes the
site credentials from `site_mqtt_credentials`, so the database stays the one record of who may publish
where; while the broker runs, the web process changes it over `$CONTROL` (`site_energy.broker_admin`), and
the plugin saves those changes into the same file.

No anonymous access: a client must log in as a site (`site-{id}`: write its two topics), the consumer
(read them all) or the admin (manage the plugin). The consumer's and the admin's passwords are derived
from PIPELET_SECRET_KEY (`embedded_logins`), so every process of the installation can compute them and
nothing new has to be stored or shown.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import pwd
from pathlib import Path
from urllib.parse import quote

from pipelet_app.domain.mqtt_access import ADMIN_USER, CONSUMER_USER, dynsec_config, hash_password

PLUGIN_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/aarch64-linux-gnu/mosquitto_dynamic_security.so",
    "/usr/lib/mosquitto_dynamic_security.so",
    "/usr/local/lib/mosquitto_dynamic_security.so",
)
CONFIG_FILE = "dynamic-security.json"
CONF_FILE = "mosquitto.conf"


def embedded_dir() -> Path:
    """Where `pipelet run` keeps its broker's generated config (the project directory's `.mqtt/`)."""
    from pipelet_app.settings import PROJECT_DIR

    return PROJECT_DIR / ".mqtt"


def consumer_url(url: str, directory: Path | None = None) -> str:
    """MQTT_URL for a consumer: as given when it carries a login; with the embedded broker's consumer
    login when it has none and names the address `pipelet run`'s broker listens on (its generated
    config says so). Why: `pipelet run` hands its own children the login, but a `pipelet worker`
    started beside it reads MQTT_URL from `.env` and would be refused, retrying forever."""
    from pipelet_app.site_energy.consumer import broker_address, broker_login

    if broker_login(url)[0] is not None:
        return url
    host, port = broker_address(url)
    conf = (directory or embedded_dir()) / CONF_FILE
    try:
        ours = f"listener {port} {host}" in conf.read_text().splitlines()
    except OSError:
        ours = False
    return embedded_urls(host, port)["MQTT_URL"] if ours else url


def dynsec_plugin() -> str | None:
    """Where the dynamic security plugin is (Debian's `mosquitto` package ships it), or None."""
    found = os.environ.get("MOSQUITTO_DYNSEC_PLUGIN")
    if found:
        return found if Path(found).is_file() else None
    return next((p for p in PLUGIN_CANDIDATES if Path(p).is_file()), None)


def embedded_logins() -> tuple[str, str]:
    """(consumer password, admin password) of the embedded broker, from PIPELET_SECRET_KEY."""
    from pipelet_app.keys import derive

    def password(purpose: bytes) -> str:
        return base64.urlsafe_b64encode(derive(purpose, length=24)).decode()

    return password(b"pipelet/mqtt-embedded/consumer/v1"), password(b"pipelet/mqtt-embedded/admin/v1")


def login_url(user: str, password: str, host: str, port: int) -> str:
    netloc = f"[{host}]" if ":" in host else host
    return f"mqtt://{quote(user, safe='')}:{quote(password, safe='')}@{netloc}:{port}"


def embedded_urls(host: str, port: int) -> dict[str, str]:
    """MQTT_URL (the consumer) and MQTT_ADMIN_URL for the processes that use the embedded broker."""
    consumer, admin = embedded_logins()
    return {
        "MQTT_URL": login_url(CONSUMER_USER, consumer, host, port),
        "MQTT_ADMIN_URL": login_url(ADMIN_USER, admin, host, port),
    }


def stored_hashes() -> dict[int, str]:
    from sqlmodel import select

    from pipelet_app.db import session_scope
    from pipelet_app.db.models import SiteMqttCredential

    with session_scope() as db:
        rows = db.exec(select(SiteMqttCredential.site_id, SiteMqttCredential.password_hash)).all()
    return {int(site_id): entry for site_id, entry in rows}


def write_dynsec(
    directory: Path,
    site_hashes: dict[int, str],
    consumer: tuple[str, str],
    admin: tuple[str, str],
) -> Path:
    """The plugin's JSON into `directory` (0700; it holds hashes only but stays private): a client per
    site with an issued credential, the consumer's and the admin's (user, password) logins; its path.

    Also the compose deployment's one-shot `pipelet mqtt-dynsec`, with the logins of MQTT_URL and
    MQTT_ADMIN_URL (`cli/mqtt_acl.py`)."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)
    config = dynsec_config(
        site_hashes,
        consumer_hash=hash_password(consumer[1]),
        admin_hash=hash_password(admin[1]),
        consumer_user=consumer[0],
        admin_user=admin[0],
    )
    dynsec_file = directory / CONFIG_FILE
    _write(dynsec_file, json.dumps(config, indent=1))
    return dynsec_file


def write_config(directory: Path, host: str, port: int, plugin: str, site_hashes: dict[int, str]) -> Path:
    """Both files into `directory` (0700; the JSON holds hashes only but stays private); the conf's path."""
    consumer, admin = embedded_logins()
    dynsec_file = write_dynsec(directory, site_hashes, (CONSUMER_USER, consumer), (ADMIN_USER, admin))
    conf = directory / CONF_FILE
    _write(
        conf,
        "\n".join(
            [
                "# Written by pipelet_app.site_energy.embedded_broker at every start; edits are lost.",
                f"listener {port} {host}",
                "allow_anonymous false",
                "persistence false",
                # Started as root, Mosquitto would switch to user `mosquitto`, who may not read this
                # directory; as anyone else it ignores the line.
                f"user {pwd.getpwuid(os.geteuid()).pw_name}",
                f"plugin {plugin}",
                f"plugin_opt_config_file {dynsec_file}",
                "",
            ]
        ),
    )
    return conf


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--mosquitto", required=True)
    parser.add_argument("--plugin", required=True)
    args = parser.parse_args(argv)
    conf = write_config(args.dir, args.host, args.port, args.plugin, stored_hashes())
    os.execv(args.mosquitto, [args.mosquitto, "-c", str(conf)])


if __name__ == "__main__":
    main()
