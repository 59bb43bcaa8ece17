"""The `pipelet` command as a user runs it: a real subprocess, exit codes, stdout/stderr."""

from __future__ import annotations

import json

import pytest

from tests.pipelet_process import pipelet


def test_help_lists_every_interface_command() -> None:
    out = pipelet("--help").stdout
    for command in (
        "run",
        "db",
        "seed-demo",
        "csms",
        "api-key",
        "worker",
        "reconstruct",
        "simulate-surplus",
        "tax",
        "mqtt-acl",
        "mqtt-dynsec",
    ):
        assert f" {command} " in out, command
    assert "create" in pipelet("api-key", "--help").stdout
    assert "macrs" in pipelet("tax", "--help").stdout


def test_seed_demo_json_is_complete_and_idempotent(database: str) -> None:
    first = json.loads(pipelet("seed-demo", "--json").stdout)
    second = json.loads(pipelet("seed-demo", "--json").stdout)
    assert first == second
    roles = {u["role"] for u in first["users"]}
    assert roles == {"driver", "fleet_manager", "operator", "investor", "admin"}
    assert {"email", "password", "role", "tenant"} <= set(first["users"][0])
    passwords = {cp["id"]: cp["password"] for cp in first["charge_points"]}
    assert {"SON-CP-001", "NW-CP-002"} <= set(passwords)
    assert all(isinstance(p, str) and len(p) >= 16 for p in passwords.values())
    assert len(set(passwords.values())) == len(passwords)
    assert "ACME0001" in first["id_tokens"]
    assert first["spvs"][0]["name"] == "Pipelet Solar Fund I" and first["spvs"][0]["tax_years"] == [2025]


def test_demo_chargers_are_admitted_with_their_listed_password_only(database: str) -> None:
    import asyncio

    from pipelet_app.ocpp.admission import Admission

    listed = json.loads(pipelet("seed-demo", "--json").stdout)["charge_points"]
    admission = Admission(auto_register=False)
    admission.refresh()

    async def verdicts() -> list[str]:
        out = []
        for cp in listed[:2]:
            out.append((await admission.admit(cp["id"], (cp["id"], cp["password"]), "t")).kind)
            out.append((await admission.admit(cp["id"], None, "t")).kind)
            out.append((await admission.admit(cp["id"], (cp["id"], "pipelet-operator"), "t")).kind)
        return out

    assert asyncio.run(verdicts()) == ["ok", "unauthorized", "unauthorized"] * 2


def test_api_key_create_and_revoke(database: str) -> None:
    pipelet("seed-demo")
    created = pipelet("api-key", "create", "--email", "fleet@acme.demo", "--name", "partner")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("pk_") and "not shown again" in created.stderr
    revoked = pipelet("api-key", "revoke", key.split("_")[1])
    assert revoked.returncode == 0 and "revoked" in revoked.stdout


@pytest.mark.parametrize(
    "args,env,message",
    [
        (["db", "upgrade"], {"DATABASE_URL": "mysql://nope"}, "error: DATABASE_URL: must look like sqlite"),
        (["api-key", "create", "--email", "ghost@nowhere"], {}, "error: email: no user 'ghost@nowhere'"),
        (["api-key", "revoke", "doesnotexist"], {}, "error: key_id: no API key 'doesnotexist'"),
        (["worker"], {}, "error: REDIS_URL: not set"),
        # what the argument parser refuses reads the same: one line naming the option, not a usage panel
        (
            ["simulate-surplus", "--pv", "pv.csv", "--ev", "ev.json", "--mode", "pv-only", "--step-s", "abc"],
            {},
            "error: Invalid value for '--step-s'",
        ),
        (["simulate-surplus", "--pv", "pv.csv", "--ev", "ev.json"], {}, "error: Missing option '--mode'"),
        (["reconstruct"], {}, "error: Missing argument 'input_csv'"),
        (["no-such-command"], {}, "error: No such command 'no-such-command'"),
    ],
)
def test_bad_input_exits_2_with_one_line(database: str, args: list[str], env: dict, message: str) -> None:
    result = pipelet(*args, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
