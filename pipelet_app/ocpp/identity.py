"""Charge point identities and their Basic-auth passwords: which ids are acceptable, what a fresh
password looks like. Shared by the CSMS (at the upgrade) and the operator services (create, claim,
rotate), so both sides agree.

OCPP 2.0.1 allows an identity of up to 48 characters from `a-z A-Z 0-9 * - _ = : + | @ .`; 1.6 says
nothing beyond "the last path segment". We accept a safe subset of that: letters, digits and
`. _ - :`, up to 48 characters, starting with a letter or digit. So an id never starts a spreadsheet
formula (`=`, `+`, `-`, `@`), never needs escaping in a URL, a log line or HTML, and stays valid in
both versions. See docs/charger-identity.md.
"""

from __future__ import annotations

import re
import secrets
import string

from argon2 import PasswordHasher

MAX_ID_LENGTH = 48
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,47}")
ID_RULE = "1-48 characters: letters, digits, '.', '_', '-', ':', starting with a letter or digit"

# argon2id at OWASP's minimum (19 MiB, 2 passes, one lane): ~20 ms of one core per check. The library
# default (64 MiB, 3 passes, four lanes) took ~180 ms of CPU spread over every core, so a flood of guesses
# starved the chargers however small the pool running the checks. Generated passwords carry ~143 bits,
# so the slow hash only matters for passwords set by hand (ChangeConfiguration / SetVariables).
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# 24 characters of 62 symbols: ~143 bits, inside both versions' 16-40 character password range.
PASSWORD_LENGTH = 24
_ALPHABET = string.ascii_letters + string.digits


def valid_charge_point_id(value: str) -> bool:
    return bool(_SAFE_ID.fullmatch(value))


def id_problem(value: str) -> str | None:
    """Why `value` cannot be a charge point id (naming the field), or None."""
    if valid_charge_point_id(value):
        return None
    return f"charge_point_id: must be {ID_RULE}"


def new_password() -> str:
    """A generated Basic-auth password; shown once, stored only as an argon2 hash."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(PASSWORD_LENGTH))


def hash_password(password: str) -> str:
    """The stored form of a charger's Basic password (verified by `auth.secrets.verify_password`)."""
    return _HASHER.hash(password)
