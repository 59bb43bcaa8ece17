from pathlib import Path

import pytest
from pydantic import ValidationError

from pipelet_app.settings import Settings, ensure_secret_key


def test_secret_key_is_generated_once_into_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPELET_SECRET_KEY", raising=False)
    env_file = tmp_path / ".env"
    env_file.write_text("WEB_PORT=3001")
    ensure_secret_key(env_file)
    first = env_file.read_text()
    assert first.startswith("WEB_PORT=3001\nPIPELET_SECRET_KEY=")
    assert len(first.split("PIPELET_SECRET_KEY=")[1].strip()) >= 43
    assert env_file.stat().st_mode & 0o077 == 0, ".env must not be readable by others"
    ensure_secret_key(env_file)
    assert env_file.read_text() == first


def test_secret_key_from_environment_is_not_written(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    ensure_secret_key(env_file)  # the autouse fixture sets PIPELET_SECRET_KEY
    assert not env_file.exists()


def test_postgres_urls_use_psycopg3() -> None:
    settings = Settings(database_url="postgresql://u@h/db")
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert not settings.is_sqlite


@pytest.mark.parametrize("url", ["mysql://x/y", "pipelet.db", ""])
def test_malformed_database_url_is_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="must look like sqlite"):
        Settings(database_url=url)


def test_every_brand_has_an_api_base() -> None:
    from pipelet_app.settings import INVERTER_BRANDS

    settings = Settings()
    assert all(settings.api_base(brand).startswith("https://") for brand in INVERTER_BRANDS)


def test_relative_sqlite_paths_resolve_against_the_project_directory() -> None:
    from pipelet_app.settings import PROJECT_DIR

    relative = Settings(database_url="sqlite:///data/p.db").database_url
    assert relative == f"sqlite:///{PROJECT_DIR / 'data/p.db'}"
    assert Settings(database_url="sqlite:////var/p.db").database_url == "sqlite:////var/p.db"
    assert Settings(database_url="sqlite://").database_url == "sqlite://"


@pytest.mark.parametrize("port", [0, -1, 65536, 70000])
def test_ports_outside_tcp_range_are_refused(port: int) -> None:
    with pytest.raises(ValidationError, match="not a TCP port"):
        Settings(csms_port=port)
    with pytest.raises(ValidationError, match="not a TCP port"):
        Settings(web_port=port)


def test_tls_files_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        Settings(csms_tls_cert=str(tmp_path / "missing.pem"))
    with pytest.raises(ValidationError, match="is not a file"):
        Settings(csms_tls_key=str(tmp_path))
    cert = tmp_path / "cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    assert Settings(csms_tls_cert=str(cert)).csms_tls_cert == str(cert)
