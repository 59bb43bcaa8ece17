"""Sungrow PV production: today from the plant's day-yield counter, the days before from the minute history
(getDevicePointMinuteDataList), which fills a missed poll the next day within the portal's documented rules
(no data of the current day, at most 3 hours a call); a refused or throttled history leaves the counter."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pipelet_app.inverters.base import ProductionInterval, System
from pipelet_app.inverters.sungrow import SungrowAdapter
from tests.fakes.inverters._recorded import recorded
from tests.fakes.inverters.sungrow import HARNESS, PS_ID, TZ, SungrowFake

START = datetime(2026, 6, 1, 9, 55, tzinfo=UTC)  # 11:55 in Berlin
SYSTEM = System(str(PS_ID), "Home", TZ)
STEP = timedelta(minutes=5)


def production(moment: datetime) -> float:
    """Nothing before 10:00 UTC, 1 kW from 10 to 11, 3 kW from 11 to 12, 2 kW after."""
    return {10: 1000.0, 11: 3000.0}.get(moment.hour, 0.0 if moment.hour < 10 else 2000.0)


@pytest.fixture
def fake() -> Iterator[SungrowFake]:
    with SungrowFake(start=START) as server:
        server.production = production
        yield server


class Link:
    """What the poll job keeps of a link between polls: the state of a successful poll only."""

    def __init__(self, fake: SungrowFake) -> None:
        self.fake = fake
        self.credentials: dict[str, Any] = HARNESS.good_credentials(fake)
        self.state: dict[str, Any] = {}

    async def poll(self, since: datetime) -> list[ProductionInterval]:
        state = copy.deepcopy(self.state)
        adapter = SungrowAdapter(
            self.credentials, base_url=self.fake.base_url, clock=self.fake.clock.now, state=state
        )
        async with adapter:
            intervals = await adapter.fetch_production(SYSTEM, since)
        self.credentials, self.state = adapter.credentials, state
        return intervals


def history_requests(fake: SungrowFake) -> list[dict[str, Any]]:
    return [r.json() for r in fake.requests if r.path.endswith("/getDevicePointMinuteDataList")]


def before_today(intervals: list[ProductionInterval]) -> list[ProductionInterval]:
    """The history's intervals (the counter's are of the plant's current day, 2 June in Berlin)."""
    return [i for i in intervals if i.end_utc <= datetime(2026, 6, 2, 0, 0, tzinfo=ZoneInfo(TZ))]


def local(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=ZoneInfo(TZ))


async def test_a_missed_poll_is_filled_the_next_day_in_five_minute_steps(fake: SungrowFake) -> None:
    link = Link(fake)
    assert await link.poll(START - timedelta(hours=1)) == []  # the day yield's baseline
    fake.clock.advance(130 * 60)  # 12:05 UTC: the 10:25 poll was missed; the counter smears the span
    [smeared] = await link.poll(START)
    assert (smeared.start_utc, smeared.end_utc) == (START, fake.clock.now())
    assert history_requests(fake) == [], "the history has nothing of the plant's current day"

    fake.clock.advance(18 * 3600)  # 06:05 UTC the next day (08:05 in Berlin)
    filled = await link.poll(fake.clock.now() - timedelta(hours=1))
    fake.clock.advance(30 * 60)
    filled += await link.poll(fake.clock.now() - timedelta(hours=1))
    power = {i.start_utc: i.power_w for i in filled if i.end_utc - i.start_utc == STEP}
    day = START.replace(hour=0, minute=0)
    assert all(
        power[day + timedelta(hours=10, minutes=m)] == pytest.approx(1000.0, abs=2) for m in range(0, 60, 5)
    )
    assert all(
        power[day + timedelta(hours=11, minutes=m)] == pytest.approx(3000.0, abs=2) for m in range(0, 60, 5)
    )
    assert power[day + timedelta(hours=12)] == pytest.approx(2000.0, abs=2)  # the yield's 0.1 Wh steps
    assert power[day + timedelta(hours=9, minutes=55)] == 0.0

    asked = history_requests(fake)
    assert len(asked) == 2, "one window a poll"
    for body in asked:
        start, end = local(body["start_time_stamp"]), local(body["end_time_stamp"])
        assert timedelta(0) < end - start <= timedelta(hours=3), "the documented maximum window"
        assert end <= datetime(2026, 6, 2, 0, 0, tzinfo=ZoneInfo(TZ)), "never the plant's current day"
        assert body["points"] == "p1" and body["ps_key_list"] == [f"{PS_ID}_1_1_1"]
    assert local(asked[1]["start_time_stamp"]) == local(asked[0]["end_time_stamp"]) - STEP, "windows follow"


async def test_a_refused_history_leaves_the_counter_and_is_asked_again(fake: SungrowFake) -> None:
    link = Link(fake)
    await link.poll(START - timedelta(hours=1))
    fake.clock.advance(20 * 3600)  # 05:55 UTC the next day
    fake.history_code = "E900"  # an app plan without this API: not an invalid account here
    assert before_today(await link.poll(fake.clock.now() - timedelta(hours=1))) == []
    cursor = link.state[f"pvh:{PS_ID}"]
    fake.history_code = None
    fake.inject("throttle", match="getDevicePointMinuteDataList")  # E901: too frequent
    fake.clock.advance(30 * 60)
    assert before_today(await link.poll(fake.clock.now() - timedelta(hours=1))) == [], "the counter's only"
    assert link.state[f"pvh:{PS_ID}"] == cursor, "the window is asked again, not skipped"
    fake.clock.advance(30 * 60)
    filled = before_today(await link.poll(fake.clock.now() - timedelta(hours=1)))
    assert filled and filled[0].start_utc == datetime.fromisoformat(cursor) - STEP


async def test_served_minute_history_has_the_recorded_shape(fake: SungrowFake) -> None:
    """The recorded example's envelope, a map of ps_key to samples, each sample ``time_stamp`` plus
    ``p<point id>`` string values (ps_keys and point ids are data, so they are matched by pattern)."""
    link = Link(fake)
    await link.poll(START - timedelta(hours=1))
    fake.clock.advance(20 * 3600)
    await link.poll(fake.clock.now() - timedelta(hours=1))
    example = recorded("sungrow", "getDevicePointMinuteDataList")
    served = [b for p, s, b in fake.answers if p.endswith("/getDevicePointMinuteDataList") and s == 200]
    assert served
    for body in [example, *served]:
        assert set(body) == set(example) and isinstance(body["result_data"], dict)
        for ps_key, samples in body["result_data"].items():
            assert re.fullmatch(r"\d+_\d+_\d+_\d+", ps_key) and samples
            for sample in samples:
                points = set(sample) - {"time_stamp"}
                assert points and all(re.fullmatch(r"p\d+", key) for key in points)
                assert all(isinstance(value, str) for value in sample.values())
                assert re.fullmatch(r"\d{14}", sample["time_stamp"])


async def test_every_request_of_a_history_call_is_in_the_ledger(fake: SungrowFake) -> None:
    """The history's calls are spent in the adapter's ledger (saved by the poll job), a token renewed
    during one too: its login and the repeated call. Only the counter's read is left to the poll job."""
    link = Link(fake)
    await link.poll(START - timedelta(hours=1))
    fake.clock.advance(20 * 3600)
    token_invalid = {
        "req_serial_num": "x",
        "result_code": "E00003",
        "result_msg": "token",
        "result_data": None,
    }
    fake.inject("body", match="getDevicePointMinuteDataList", body=token_invalid)
    before = len(fake.requests)
    adapter = SungrowAdapter(
        link.credentials, base_url=fake.base_url, clock=fake.clock.now, state=copy.deepcopy(link.state)
    )
    async with adapter:
        filled = before_today(await adapter.fetch_production(SYSTEM, fake.clock.now() - timedelta(hours=1)))
    sent = [r.path.rsplit("/", 1)[1] for r in fake.requests[before:]]
    assert sent.count("login") == 1 and sent.count("getDevicePointMinuteDataList") == 2 and filled
    assert len(adapter.ledger["request"]) == len(sent) - sent.count("getDeviceRealTimeData")
