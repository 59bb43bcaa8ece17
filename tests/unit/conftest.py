"""Unit tests have no migrated database: vendor logins are counted in a fresh in-memory ledger per test
(`logins_in_memory`; the database's ledger is tested in tests/integration/pv/test_huawei_login_ledger.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _logins_in_memory(logins_in_memory: object) -> None:
    return None
