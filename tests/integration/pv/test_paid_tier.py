"""A paid tier's account polls at its own pace and within its own limits, not the free plan's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pipelet_app.db import session_scope
from pipelet_app.db.models import PvAccount
from pollers.pv import account_quota, poll_pv_account
from tests.fakes.inverters import HARNESSES
from tests.fakes.inverters._server import FakeCloud
from tests.integration.pv.helpers import account, couple, make_driver

HARNESS = HARNESSES["solaredge"]  # the free plan (300 requests a day) paces polls slower than 30 min


@pytest.fixture
def fake() -> Iterator[FakeCloud]:
    with HARNESS.make_fake() as server:
        yield server


async def gap_after_poll(account_id: int, fake: FakeCloud) -> float:
    now = fake.clock.now()
    report = await poll_pv_account(account_id, clock=fake.clock.now, base_url=fake.base_url)
    assert report is not None and report.status == "connected", report
    stored = account(account_id)
    assert stored.next_poll_utc is not None
    fake.clock.set(stored.next_poll_utc)
    return (stored.next_poll_utc - now).total_seconds()


async def test_account_interval_and_limits_override_the_brands(database: str, fake: FakeCloud) -> None:
    account_id = await couple(HARNESS, fake, make_driver())
    free = await gap_after_poll(account_id, fake)
    assert free >= 1_800

    with session_scope() as db:
        row = db.get(PvAccount, account_id)
        row.poll_interval_s = 300
        row.quota_windows = [{"limit": 20_000, "period_s": 86_400}]
        db.add(row)
    paid = [await gap_after_poll(account_id, fake) for _ in range(3)]
    assert all(gap <= 300 for gap in paid), paid

    with session_scope() as db:  # a tier tighter than the interval: the limits still win
        row = db.get(PvAccount, account_id)
        row.quota_windows = [{"limit": 24, "period_s": 86_400}]
        db.add(row)
    tight = await gap_after_poll(account_id, fake)
    assert tight >= 3_600, tight


def test_account_quota_keeps_the_brands_cost_per_poll() -> None:
    assert account_quota("solaredge", None) is None
    quota = account_quota("solaredge", [{"limit": 5, "period_s": 60}])
    assert quota is not None and [(w.limit, w.period_s) for w in quota.windows] == [(5, 60.0)]
