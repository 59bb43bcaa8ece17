"""The Mosquitto files `pipelet mqtt-acl` writes, and MQTT_URL's login part (never shown in clear)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pipelet_app.cli.broker import broker_program
from pipelet_app.site_energy import broker_acl
from pipelet_app.site_energy.broker_acl import SiteEntry
from pipelet_app.site_energy.consumer import Consumer, broker_address, broker_login, redacted_url

KINDS = ("measurements", "transactions")


def test_the_hash_is_mosquittos_pbkdf2_sha512_entry() -> None:
    entry = broker_acl.hash_password("secret", salt=b"\x00" * 12)
    kind, iterations, salt, digest = entry.split("$")[1:]
    assert (kind, iterations, salt) == ("7", "101", "AAAAAAAAAAAAAAAA")
    assert len(digest) == 88  # base64 of a 64-byte SHA-512 digest
    assert broker_acl.check_password("secret", entry) and not broker_acl.check_password("Secret", entry)
    assert entry != broker_acl.hash_password("secret")  # a fresh salt otherwise


@pytest.mark.skipif(shutil.which("mosquitto_passwd") is None, reason="needs mosquitto_passwd")
def test_mosquitto_passwds_own_entries_check_out(tmp_path: Path) -> None:
    path = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(path), "site-7", "s3cret"], check=True)
    entry = broker_acl.read_password_file(path)["site-7"]
    assert broker_acl.check_password("s3cret", entry) and not broker_acl.check_password("other", entry)


def test_each_site_user_writes_only_its_two_topics_and_the_consumer_reads_all() -> None:
    files = broker_acl.build([SiteEntry(42, "sun"), SiteEntry(7, "moon")], {}, consumer_user="reader")
    blocks = [b.strip().splitlines() for b in files.acl.split("\n\n")[1:]]
    assert blocks == [
        ["user reader", "topic read pipelet/sites/+/+"],
        ["# tenant moon", "user site-7", *[f"topic write pipelet/sites/7/{k}" for k in KINDS]],
        ["# tenant sun", "user site-42", *[f"topic write pipelet/sites/42/{k}" for k in KINDS]],
    ]
    assert [user for user, _ in files.issued] == ["reader", "site-7", "site-42"]
    assert all(broker_acl.check_password(pw, files.passwords[user]) for user, pw in files.issued)


def test_existing_passwords_are_kept_gone_sites_dropped_and_rotation_is_per_site() -> None:
    first = broker_acl.build([SiteEntry(1, "a"), SiteEntry(2, "b"), SiteEntry(3, "c")], {})
    kept = broker_acl.build([SiteEntry(1, "a"), SiteEntry(2, "b"), SiteEntry(4, "d")], first.passwords)
    assert [user for user, _ in kept.issued] == ["site-4"]
    assert set(kept.passwords) == {"pipelet-consumer", "site-1", "site-2", "site-4"}
    assert kept.passwords["site-1"] == first.passwords["site-1"]
    one = broker_acl.build([SiteEntry(1, "a"), SiteEntry(2, "b")], kept.passwords, rotate_sites=[2])
    assert [user for user, _ in one.issued] == ["site-2"]
    assert len(broker_acl.build([SiteEntry(1, "a")], kept.passwords, rotate=True).issued) == 2
    with pytest.raises(ValueError, match="consumer-user"):
        broker_acl.build([SiteEntry(1, "a")], {}, consumer_user="site-1")


def test_written_files_hold_hashes_only_and_the_password_file_is_private(tmp_path: Path) -> None:
    files = broker_acl.build([SiteEntry(5, "a")], {})
    broker_acl.write(tmp_path / "out", files)
    text = (tmp_path / "out" / "passwords").read_text()
    assert all(password not in text for _, password in files.issued)
    assert broker_acl.read_password_file(tmp_path / "out" / "passwords") == files.passwords
    assert (tmp_path / "out" / "passwords").stat().st_mode & 0o777 == 0o600
    conf = (tmp_path / "out" / "pipelet-acl.conf").read_text()
    assert "allow_anonymous false" in conf and f"acl_file {tmp_path / 'out' / 'acl'}" in conf


def test_mqtt_url_carries_a_login_that_is_never_shown(tmp_path: Path) -> None:
    url = "mqtt://pipelet-consumer:p%40ss-w0rd@broker.internal:8883"
    assert broker_address(url) == ("broker.internal", 8883)
    assert broker_login(url) == ("pipelet-consumer", "p@ss-w0rd")
    assert broker_login("mqtt://127.0.0.1") == (None, None)
    assert redacted_url(url) == "mqtt://pipelet-consumer:***@broker.internal:8883"
    with pytest.raises(ValueError) as bad:
        broker_address("http://u:hunter2@host")
    assert "hunter2" not in str(bad.value) and "***" in str(bad.value)
    consumer = Consumer(url)
    assert (consumer.host, consumer.port) == ("broker.internal", 8883)
    _program, line, _env = broker_program("mqtt://u:hunter2@192.0.2.1:1883", dict(os.environ), tmp_path)
    assert "hunter2" not in line and "u:***@192.0.2.1" in line


def test_the_fragment_binds_client_ids_on_the_gateways_listener_only(tmp_path: Path) -> None:
    """A listener option belongs to the `listener` line above it in the same file (outside one,
    Mosquitto opens a default listener on 1883 for it): the gateways' listener carries
    `use_username_as_clientid`, the consumers' one (one login, several processes) does not."""
    conf = broker_acl.conf_snippet(
        tmp_path, broker_acl.listener("8883"), broker_acl.listener("1884 10.0.0.5")
    )
    lines = [line for line in conf.splitlines() if line and not line.startswith("#")]
    assert lines[3:] == ["listener 8883", "use_username_as_clientid true", "listener 1884 10.0.0.5"]
    default = broker_acl.conf_snippet(tmp_path)
    assert "\nlistener 1883\nuse_username_as_clientid true\n" in default
    assert default.endswith("\nlistener 1884 127.0.0.1\n")
    for bad in ("", "x", "0", "70000", "1883 a b", "1883\nallow_anonymous true"):
        with pytest.raises(ValueError):
            broker_acl.listener(bad)


def test_mqtt_acl_refuses_a_bad_or_shared_listener_before_touching_anything(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipelet_app.cli import app

    for args, said in (
        (["--site-listener", "1883 0.0.0.0 x"], "--site-listener: '1883 0.0.0.0 x' is not"),
        (["--consumer-listener", "1883 127.0.0.1"], "--consumer-listener: the gateways' port"),
    ):
        result = CliRunner().invoke(app, ["mqtt-acl", "--out", str(tmp_path / "out"), *args])
        assert result.exit_code == 2 and said in result.output, result.output
    assert not (tmp_path / "out").exists()
