"""Huawei PV production: the hourly plant data (getKpiStationHour) fills what the live counter misses, within
Huawei's limits, and the counter difference stands alone when the history is refused or throttled."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipelet_app.inverters.base import BrandUnavailable, ProductionInterval, System
from pipelet_app.inverters.huawei import HuaweiAdapter, reset_sessions
from tests.fakes.inverters._recorded import assert_same_shape, recorded
from tests.fakes.inverters.huawei import PLANT, SYSTEM_CODE, USER, HuaweiFake

CREDS = {"userName": USER, "systemCode": SYSTEM_CODE}
START = datetime(2026, 6, 1, 9, 55, tzinfo=UTC)
SYSTEM = System(PLANT, "Home")


def production(moment: datetime) -> float:
    """Nothing before 10:00, 1 kW from 10 to 11, 3 kW from 11 to 12, 2 kW after."""
    return {10: 1000.0, 11: 3000.0}.get(moment.hour, 0.0 if moment.hour < 10 else 2000.0)


@pytest.fixture
def fake() -> Iterator[HuaweiFake]:
    reset_sessions()
    with HuaweiFake(start=START) as server:
        server.production = production
        yield server
    reset_sessions()


class Link:
    """What the poll job keeps of a link between polls: the state of a successful poll only."""

    def __init__(self, fake: HuaweiFake) -> None:
        self.fake = fake
        self.credentials: dict[str, Any] = dict(CREDS)
        self.state: dict[str, Any] = {}

    async def poll(self, since: datetime) -> list[ProductionInterval]:
        state = copy.deepcopy(self.state)
        adapter = HuaweiAdapter(
            self.credentials, base_url=self.fake.base_url, clock=self.fake.clock.now, state=state
        )
        async with adapter:
            intervals = await adapter.fetch_production(SYSTEM, since)
        self.state = state
        return intervals


def wh(intervals: list[ProductionInterval]) -> float:
    return sum(i.power_w * (i.end_utc - i.start_utc).total_seconds() / 3600 for i in intervals)


def history_calls(fake: HuaweiFake) -> int:
    return fake.paths().count("/thirdData/getKpiStationHour")


async def test_a_missed_poll_is_filled_with_the_hours_real_energy(fake: HuaweiFake) -> None:
    link = Link(fake)
    assert await link.poll(START - timedelta(hours=1)) == []  # 09:55: the counter's baseline
    fake.clock.advance(30 * 60)  # 10:25: the poll fails, nothing of it is kept
    fake.inject("500", match="getDevList")
    with pytest.raises(BrandUnavailable):
        await link.poll(START - timedelta(hours=1))
    fake.clock.advance(100 * 60)  # 12:05
    intervals = await link.poll(START - timedelta(hours=1))

    hours = {i.start_utc.hour: i for i in intervals if i.end_utc - i.start_utc == timedelta(hours=1)}
    assert (hours[10].power_w, hours[11].power_w) == (1000.0, 3000.0), "each hour its own energy, not a smear"
    assert hours[9].power_w == 0.0 and 12 not in hours, "the running hour is not read"
    [tail] = [i for i in intervals if i.end_utc - i.start_utc != timedelta(hours=1)]
    assert tail.start_utc == datetime(2026, 6, 1, 12, 0, tzinfo=UTC), "the counter only after the history"
    assert tail.end_utc == fake.clock.now()
    assert [i.start_utc for i in intervals] == sorted(i.start_utc for i in intervals)
    for earlier, later in itertools.pairwise(intervals):
        assert earlier.end_utc <= later.start_utc, "no minute counted twice"
    assert history_calls(fake) == 2, "at the baseline (hour 08 complete) and at 12:05; the failed poll none"


async def test_history_is_asked_only_for_a_new_complete_hour(fake: HuaweiFake) -> None:
    link = Link(fake)
    await link.poll(START - timedelta(hours=1))
    for _ in range(12):  # an hour of 5-minute polls: one new complete hour, one history call
        fake.clock.advance(300)
        await link.poll(fake.clock.now() - timedelta(hours=1))
    assert history_calls(fake) == 2, "the baseline's (hour 08 complete) and 10:00's"
    fake.clock.advance(300)
    counter = [i for i in await link.poll(fake.clock.now()) if i.end_utc - i.start_utc < timedelta(hours=1)]
    assert all(i.start_utc >= datetime(2026, 6, 1, 10, 0, tzinfo=UTC) for i in counter)


async def test_a_throttled_history_leaves_the_counter_and_is_read_next_time(fake: HuaweiFake) -> None:
    link = Link(fake)
    await link.poll(START - timedelta(hours=1))
    fake.clock.advance(70 * 60)  # 11:05
    fake.inject("throttle", match="getKpiStationHour")  # failCode 407: too frequent
    intervals = await link.poll(START - timedelta(hours=1))
    [counter] = intervals
    assert (counter.start_utc, counter.end_utc) == (START, fake.clock.now()), "the counter difference alone"
    assert wh(intervals) == pytest.approx(1000.0 + 5 * 3000.0 / 60 + 0.0, abs=0.5)

    fake.clock.advance(60 * 60)  # 12:05: the hours 10 and 11 come from the history, replacing the smear
    intervals = await link.poll(START - timedelta(hours=1))
    hours = {i.start_utc.hour: i.power_w for i in intervals if i.end_utc - i.start_utc == timedelta(hours=1)}
    assert hours[10] == 1000.0 and hours[11] == 3000.0
    assert history_calls(fake) == 3, "the baseline's, the throttled one, 12:05's"


async def test_a_refused_history_is_never_asked_more_than_huaweis_daily_limit(fake: HuaweiFake) -> None:
    fake.history_refused = True
    link = Link(fake)
    await link.poll(START - timedelta(hours=1))
    spans = []
    for _ in range(36):  # three hours of 5-minute polls: the history refused every time
        fake.clock.advance(300)
        spans += await link.poll(fake.clock.now() - timedelta(hours=1))
    assert history_calls(fake) == 24, "the account's ledger stops at 24 a day (documented: 1 + 24)"
    assert not any(isinstance(b, dict) and b.get("failCode") == 407 for _, _, b in fake.answers), "1 a minute"
    assert wh(spans) == pytest.approx(1000.0 + 3000.0 + 2000.0 * 55 / 60, abs=1.0), "the counter carries it"


async def test_served_hours_have_the_recorded_shape(fake: HuaweiFake) -> None:
    link = Link(fake)
    await link.poll(START - timedelta(hours=1))
    fake.clock.advance(3 * 3600)
    await link.poll(START - timedelta(hours=1))
    served = [body for path, status, body in fake.answers if path.endswith("/getKpiStationHour")]
    assert served
    for body in served:
        assert_same_shape(body, recorded("huawei", "getKpiStationHour"))


async def test_an_hour_listed_without_a_value_keeps_the_counters_span(fake: HuaweiFake) -> None:
    """``null`` is no value (the recorded answer has one before sunrise): that hour is not a zero, the counter
    difference still covers it; only the hours with a value cut the counter's span."""
    link = Link(fake)
    await link.poll(START - timedelta(hours=1))
    fake.clock.advance(130 * 60)  # 12:05
    answer = recorded("huawei", "getKpiStationHour")
    template = answer["data"][0]
    ten, eleven = (int(datetime(2026, 6, 1, h, tzinfo=UTC).timestamp() * 1000) for h in (10, 11))
    answer["data"] = [
        {**template, "stationCode": PLANT, "collectTime": ten},  # as recorded: inverter_power null
        {
            **template,
            "stationCode": PLANT,
            "collectTime": eleven,
            "dataItemMap": {**template["dataItemMap"], "inverter_power": 3.0},
        },
    ]
    fake.inject("body", match="/getKpiStationHour", body=answer)
    intervals = await link.poll(START - timedelta(hours=1))
    spans = [(i.start_utc.strftime("%H:%M"), i.end_utc.strftime("%H:%M")) for i in intervals]
    assert spans == [("09:55", "11:00"), ("11:00", "12:00"), ("12:00", "12:05")]
    assert intervals[1].power_w == 3000.0
    assert intervals[0].power_w == intervals[2].power_w, "the counter's mean, cut around the hour read"
