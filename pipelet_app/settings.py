"""Every environment variable Pipelet reads, in one place.

Settings come from the process environment first, then from `.env` in the project directory. The only
value generated on the fly is ``PIPELET_SECRET_KEY``: a fresh install must encrypt credentials from the
first run on, so a missing key is created once and written to ``.env`` (which git ignores).

The project directory is the source checkout (the directory with ``pyproject.toml`` next to
``pipelet_app/``) when running from one, else the working directory (an installed package, e.g. the
Docker image's ``/app``). `.env` and a relative SQLite path (``sqlite:///pipelet.db``) resolve against it,
so a command run from another directory uses the same database and key instead of silently creating an
empty ``pipelet.db`` and a new key where it was run.
"""

from __future__ import annotations

import base64
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_CHECKOUT = Path(__file__).resolve().parents[1]
PROJECT_DIR = _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() else Path.cwd()
ENV_FILE = PROJECT_DIR / ".env"
_SQLITE_PREFIX = "sqlite:///"
INVERTER_BRANDS = (
    "enphase",
    "solarwatt",
    "solaredge",
    "fronius",
    "sma",
    "victron",
    "huawei",
    "sungrow",
    "ecoflow",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=ENV_FILE, extra="ignore")

    database_url: str = "sqlite:///pipelet.db"
    redis_url: str | None = None
    pipelet_secret_key: str = ""
    #: comma-separated older keys that still decrypt stored credentials (rotation; see inverters.credentials)
    pipelet_secret_key_previous: str = ""
    #: "json" (one object per line, with request / charger / job ids; the default) or "text"
    log_format: Literal["json", "text"] = "json"
    csms_port: int = 9000
    web_port: int = 3000
    csms_auto_register: bool = False
    #: new charge point ids one source address may auto-register per minute (0 = no limit, for load tests)
    csms_auto_register_per_minute: int = 60
    csms_ping_interval_s: float = 30.0
    csms_heartbeat_interval_s: int = 300
    csms_command_timeout_s: float = 30.0
    # At most this often a running transaction's cost goes to a 2.0.1 station (CostUpdated, I02).
    csms_cost_update_interval_s: float = Field(default=15.0, ge=1.0, le=3600.0)
    csms_node_id: str | None = None
    csms_tls_cert: str | None = None
    csms_tls_key: str | None = None
    #: a second server certificate of the other key type (RSA beside ECDSA), so both cipher families serve
    csms_tls_cert_2: str | None = None
    csms_tls_key_2: str | None = None
    #: CA bundle that issues charger certificates: client certificates requested and verified (profile 3)
    csms_tls_client_ca: str | None = None
    #: the CSMS's own CA that signs chargers' CSRs (SignCertificate -> CertificateSigned)
    csms_ca_cert: str | None = None
    csms_ca_key: str | None = None
    #: the CPO's V2G sub-CA (certificate, then the CAs above it) and key: signs V2GCertificate CSRs
    csms_v2g_ca_cert: str | None = None
    csms_v2g_ca_key: str | None = None
    #: where Get15118EVCertificate requests are relayed (a mobility operator / contract-certificate source)
    csms_contract_cert_url: str | None = None
    #: PEM bundle of V2G / mobility-operator roots for central contract certificate validation
    csms_v2g_roots: str | None = None
    #: hosts a station may name for the CSMS to call (OCSP responders) although they are not public
    csms_outbound_allowed_hosts: str | None = None
    stripe_api_key: str | None = None
    stripe_api_base: str | None = None
    stripe_webhook_secret: str | None = None
    #: the publishable key (pk_...) the pay page's Stripe.js uses; without it the page takes no card
    stripe_publishable_key: str | None = None
    #: where the pay page loads Stripe.js from (localstripe serves a fake at <its base>/js.stripe.com/v3/)
    stripe_js_url: str = "https://js.stripe.com/v3/"
    smtp_url: str | None = None
    mail_from: str = "Pipelet <pipelet@localhost>"
    session_ttl_hours: float = 12.0
    invitation_ttl_hours: float = 72.0
    login_max_failures: int = 5
    login_lockout_minutes: float = 15.0
    api_rate_limit_per_minute: int = 600
    public_url: str = Field(default="", description="Base URL used in invitation links")
    #: the broker site energy comes from (Pleevi-shaped messages, docs/site-energy.md)
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    #: a login on a Mosquitto with the dynamic security plugin that may manage it; with it, a site MQTT
    #: credential issued in the portal or API is live at once. `pipelet run` sets it for its own broker.
    mqtt_admin_url: str | None = None
    #: scale-out: consumers in several workers share the topics as this MQTT shared-subscription group
    mqtt_shared_group: str | None = None
    #: how often the embedded worker feeds OCPP meter values into site series and settles solar shares
    site_energy_tick_s: float = 15.0
    #: how many sites' surplus loops one process owns at most; the rest are left for other workers
    surplus_max_sites: int = 500
    #: a surplus loop saves a site's memory before each send and on a material change, otherwise at most
    #: this often (s): what a takeover may lose of the PV history. At most 180 s, so with a lease (up to
    #: 90 s) it stays below the 5 min after which a saved memory is stale (docs/surplus-actuation.md)
    surplus_memory_save_s: float = Field(default=60.0, ge=0.0, le=180.0)
    #: a surplus loop's TxProfile lasts this long (s; its schedule's `duration`) and the live loop renews it
    #: when less than a lease is left: a dead loop's TxProfiles lapse and the chargers fall back to their
    #: baseline, so a new car at its baseline elsewhere no longer adds to them. 0 = no duration (they last
    #: until their transaction ends; docs/surplus-actuation.md)
    surplus_tx_validity_s: float = Field(default=300.0, ge=0.0, le=3600.0)
    #: an idle connector's lift (its TxDefaultProfile raised to the minimum on stack level 1 while the
    #: surplus would start a new car, so a car that locks its current at session start does not lock 0 A)
    #: is dropped once the surplus has not carried a newcomer for this long (s): no pair of profiles per
    #: passing cloud (docs/surplus-actuation.md)
    surplus_newcomer_hold_s: float = Field(default=180.0, ge=0.0, le=1800.0)
    #: origins (scheme://host[:port], comma-separated) whose pages may call the API with an API key
    #: (CORS); none by default. Cookie-authenticated writes are same-origin only, whatever this says.
    cors_allow_origins: str = ""
    #: sign-in budgets: attempts per client address and minute, all attempts per minute, and how many
    #: password checks may wait for the small hashing pool before further attempts are turned away
    login_per_ip_per_minute: int = 20
    login_global_per_minute: int = 300
    login_hash_workers: int = 1
    login_hash_queue: int = 8

    enphase_api_base: str = "https://api.enphaseenergy.com"
    solarwatt_api_base: str = "https://api.solarwatt.com"
    solaredge_api_base: str = "https://monitoringapi.solaredge.com"
    fronius_api_base: str = "https://api.solarweb.com"
    sma_api_base: str = "https://monitoring.smaapis.de"
    victron_api_base: str = "https://vrmapi.victronenergy.com"
    huawei_api_base: str = "https://eu5.fusionsolar.huawei.com"
    sungrow_api_base: str = "https://gateway.isolarcloud.eu"
    ecoflow_api_base: str = "https://api-e.ecoflow.com"
    # Charging networks (docs/networks.md). ChargePoint's SOAP endpoint is public; Loop, EVRange and
    # Helios publish no API address we could find, so theirs must be set before an account connects.
    loop_api_base: str = ""
    evrange_api_base: str = ""
    chargepoint_api_base: str = "https://webservices.chargepoint.com/webservices/chargepoint/services/5.1"
    helios_api_base: str = ""
    #: seconds between two polls of one network account (failures back off further)
    network_poll_interval_s: float = 900.0
    #: aWATTar's public market-data API per region (a site's Eco-plus tariff source)
    awattar_api_base: str = "https://api.awattar.de"
    awattar_at_api_base: str = "https://api.awattar.at"
    # This installation's registered apps at the brands that need one (the driver only authorises them).
    enphase_api_key: str = ""
    enphase_client_id: str = ""
    enphase_client_secret: str = ""
    sungrow_appkey: str = ""
    sungrow_access_key: str = ""
    # Inverter polling: how often the embedded scheduler looks for due accounts, how many it polls at once,
    # and how long a claimed account stays leased to one worker before another may take it over.
    pv_scheduler_tick_s: float = 15.0
    pv_poll_concurrency: int = 4
    pv_poll_lease_s: float = 600.0
    #: the normal poll interval, and per-brand overrides ("sma=900,solaredge=3600") for paid API tiers;
    #: the brand's quota still caps how dense polling gets
    pv_poll_interval_s: float = 1800.0
    pv_poll_intervals: str = ""
    #: let a typed inverter address (Solarwatt manager) be private or loopback (on-premises installs)
    pv_allow_private_urls: bool = False

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        scheme = value.split(":", 1)[0]
        if "://" not in value or not scheme.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("must look like sqlite:///path.db or postgresql://user@host/db")
        if scheme in ("postgres", "postgresql"):
            value = "postgresql+psycopg" + value[len(scheme) :]
        if value.startswith(_SQLITE_PREFIX):
            path = value[len(_SQLITE_PREFIX) :]
            if path and not path.startswith(("/", ":memory:")):
                value = _SQLITE_PREFIX + str(PROJECT_DIR / path)
        return value

    @field_validator("csms_port", "web_port")
    @classmethod
    def _tcp_port(cls, value: int) -> int:
        if not 1 <= value <= 65535:
            raise ValueError(f"{value} is not a TCP port (1-65535)")
        return value

    @field_validator(
        "csms_tls_cert",
        "csms_tls_key",
        "csms_tls_cert_2",
        "csms_tls_key_2",
        "csms_tls_client_ca",
        "csms_ca_cert",
        "csms_ca_key",
        "csms_v2g_roots",
        "csms_v2g_ca_cert",
        "csms_v2g_ca_key",
    )
    @classmethod
    def _readable_file(cls, value: str | None) -> str | None:
        """Checked here so a wrong path is named with its variable, not as a bare ENOENT at listen time."""
        if not value:
            return None
        path = Path(value)
        if not path.is_file():
            raise ValueError(f"{value} is not a file" if path.exists() else f"{value} does not exist")
        try:
            path.open("rb").close()
        except OSError as exc:
            raise ValueError(f"cannot read {value}: {exc.strerror}") from None
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_allow_origins.split(",") if o.strip()]

    @property
    def https(self) -> bool:
        """Served behind HTTPS (PUBLIC_URL says so): cookies get Secure, responses get HSTS."""
        return self.public_url.lower().startswith("https://")

    @property
    def web_url(self) -> str:
        return self.public_url or f"http://localhost:{self.web_port}"

    def api_base(self, brand: str) -> str:
        return getattr(self, f"{brand}_api_base")

    def network_api_base(self, network: str) -> str:
        return str(getattr(self, f"{network}_api_base", "") or "")


def ensure_secret_key(env_file: Path = ENV_FILE) -> None:
    """Write a new PIPELET_SECRET_KEY into `.env` when neither the environment nor the file has one."""
    if os.environ.get("PIPELET_SECRET_KEY"):
        return
    existing = env_file.read_text() if env_file.exists() else ""
    if any(line.startswith("PIPELET_SECRET_KEY=") for line in existing.splitlines()):
        return
    key = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    prefix = existing if existing.endswith("\n") or not existing else existing + "\n"
    env_file.write_text(f"{prefix}PIPELET_SECRET_KEY={key}\n")
    env_file.chmod(0o600)
    get_settings.cache_clear()


def settings_error_message(error: ValidationError) -> str:
    """The first problem as one line naming the environment variable: 'CSMS_PORT: 70000 is not ...'."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]).upper()
    return f"{field}: {first['msg'].removeprefix('Value error, ')}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
