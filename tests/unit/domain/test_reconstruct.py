"""The reconstructor on every messy case the Inverter Hub issue names, plus its invariants as properties."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelet_app.domain.reconstruct import (
    ChargerState,
    ReconstructConfig,
    ReconstructedSession,
    Reconstruction,
    classify_status,
    reconstruct,
    transaction_id,
)
from pipelet_app.domain.snapshots import Snapshot, SnapshotParseError, parse_snapshots_csv

T0 = datetime(2024, 3, 5, 18, 0, tzinfo=UTC)


def snap(minute: float, wh: float, power: float | None = None, status: str | None = None) -> Snapshot:
    return Snapshot(T0 + timedelta(minutes=minute), wh, power, status)


def counter(values: Sequence[float], every_min: float = 30) -> list[Snapshot]:
    """Snapshots every `every_min` minutes from T0 with the given counter readings."""
    return [snap(i * every_min, value) for i, value in enumerate(values)]


def ended(session: ReconstructedSession) -> datetime:
    assert session.end_utc is not None, "session is still ongoing"
    return session.end_utc


def run(snapshots: list[Snapshot], **config: float) -> Reconstruction:
    return reconstruct(snapshots, brand="sma", system="S1", config=ReconstructConfig(**config))


def codes(result: Reconstruction) -> set[str]:
    return {warning.code for warning in result.warnings}


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


# --- plain sessions -------------------------------------------------------------------------------------


def test_session_over_many_polls_has_energy_edges_and_a_deterministic_id() -> None:
    result = run(counter([1000, 1000, 2850, 6550, 10250, 10850, 10850]))

    (session,) = result.sessions
    assert session.energy_wh == pytest.approx(9850)
    assert session.transaction_id == f"pv-sma-S1-{int(at(30).timestamp())}"
    assert (session.start_edge_utc, session.end_edge_utc) == (at(30), at(150))
    assert (session.meter_start_wh, session.meter_stop_wh) == (1000, 10850)
    assert not session.ongoing and session.reason == "pv-reconstructed"
    assert result.counter_increase_wh == pytest.approx(9850) and result.unattributed_wh == 0


def test_start_and_end_are_estimated_from_the_power_of_full_intervals() -> None:
    # 7.4 kW: 1850 Wh in the first interval = 15 min of charging before 19:00; 600 Wh after 20:00 ≈ 4.9 min.
    (session,) = run(counter([0, 0, 1850, 5550, 9250, 9850, 9850])).sessions

    assert session.start_utc == at(45)
    assert abs((ended(session) - at(120)).total_seconds() - 600 / 7400 * 3600) <= 1


def test_power_readings_set_the_charge_power_when_the_brand_gives_them() -> None:
    # 11 kW read from the cloud: 2750 Wh before the second poll means charging began 15 min earlier.
    snapshots = [snap(0, 0, 0), snap(30, 0, 0), snap(60, 2750, 11000), snap(90, 3000, 0), snap(120, 3000, 0)]

    (session,) = run(snapshots).sessions

    assert session.start_utc == at(45)


def test_power_seen_at_a_poll_before_the_counter_moves_starts_the_session_there() -> None:
    # the cloud's counter lags: 3 Wh (below noise) before the 60-min poll, which already reads 7.4 kW
    snapshots = [snap(0, 0, 0), snap(30, 0, 0), snap(60, 3, 7400), snap(90, 3703, 7400), snap(120, 3703, 0)]

    (session,) = run(snapshots).sessions

    assert session.start_edge_utc == at(30)
    assert at(59) <= session.start_utc <= at(60)
    assert session.end_utc == at(90) and session.energy_wh == pytest.approx(3703)


def test_single_interval_session_uses_the_wallboxs_typical_power() -> None:
    long_one = [0, 0, 1850, 5550, 9250, 9850, 9850, 9850]  # teaches 7.4 kW
    short_one = [9850, 11700, 11700]  # 1850 Wh = 15 min at 7.4 kW, centred in its interval
    result = run(counter(long_one + short_one))

    short = result.sessions[1]
    assert ended(short) - short.start_utc == timedelta(minutes=15)
    assert short.start_edge_utc <= short.start_utc and ended(short) <= short.end_edge_utc


def test_session_spanning_midnight_is_one_session() -> None:
    start = datetime(2024, 3, 5, 22, 0, tzinfo=UTC)
    readings = [500, 500, 2000, 5700, 9400, 13100, 16800, 18000, 18000, 18000]
    snapshots = [Snapshot(start + timedelta(minutes=30 * i), value) for i, value in enumerate(readings)]

    (session,) = run(snapshots).sessions

    assert session.start_utc.date() != ended(session).date()
    assert session.energy_wh == pytest.approx(17500)


def test_two_sessions_separated_by_a_flat_poll_are_two_sessions() -> None:
    result = run(counter([0, 3000, 3000, 3000, 5000, 5000]))

    assert [s.energy_wh for s in result.sessions] == [3000, 2000]
    assert ended(result.sessions[0]) <= result.sessions[1].start_utc


# --- messy data ------------------------------------------------------------------------------------------


def test_exact_duplicates_are_dropped_and_reported() -> None:
    clean = counter([0, 0, 2000, 4000, 4000])
    result = run(clean + clean[1:3])

    assert result.sessions == run(clean).sessions
    assert "duplicates" in codes(result)


def test_conflicting_rows_in_one_second_keep_the_highest_reading_whatever_their_order() -> None:
    base = counter([0, 0, 2000, 4000, 4000])
    other = Snapshot(base[3].time_utc + timedelta(milliseconds=400), 3900)

    first, second = run([*base, other]), run([other, *base])

    assert first.sessions == second.sessions
    assert first.sessions[0].energy_wh == pytest.approx(4000)
    assert "conflicting-duplicates" in codes(first)


def test_out_of_order_rows_give_the_same_sessions_and_a_warning() -> None:
    ordered = counter([0, 0, 2000, 4000, 4000, 6000, 6000])
    shuffled = [ordered[i] for i in (4, 0, 6, 2, 1, 5, 3)]

    result = run(shuffled)

    assert result.sessions == run(ordered).sessions
    assert "out-of-order" in codes(result)


def test_counter_reset_to_zero_mid_session_counts_the_energy_since_the_reset() -> None:
    # firmware reset: 50 kWh lifetime counter restarts at 0 and shows 1200 Wh half an hour later
    result = run(counter([50_000, 50_000, 53_000, 1_200, 4_900, 4_900]))

    (session,) = result.sessions
    assert session.energy_wh == pytest.approx(3000 + 1200 + 3700)
    assert "counter-reset" in codes(result)


def test_replaced_meter_with_a_large_start_value_is_a_new_baseline() -> None:
    # new meter starts at 120 kWh, more than any wallbox can charge in 30 min: that interval counts zero
    result = run(counter([500_000, 500_000, 120_000, 120_000, 122_000, 122_000]))

    (session,) = result.sessions
    assert session.energy_wh == pytest.approx(2000)
    assert result.counter_increase_wh == pytest.approx(2000)
    assert any("new meter" in warning.message for warning in result.warnings)


def test_small_backwards_jitter_is_not_a_reset() -> None:
    result = run(counter([10_000, 10_000, 9_995, 10_000, 12_000, 12_000]))

    (session,) = result.sessions
    assert session.energy_wh == pytest.approx(2000)
    assert "counter-jitter" in codes(result) and "counter-reset" not in codes(result)


def test_gap_from_missed_polls_is_reported_and_its_energy_kept() -> None:
    snapshots = [snap(0, 0), snap(30, 0), snap(60, 2000), snap(420, 30_000), snap(450, 30_000)]

    result = run(snapshots)

    assert sum(s.energy_wh for s in result.sessions) == pytest.approx(30_000)
    assert "gap" in codes(result)


def test_flat_gap_at_night_is_not_a_warning() -> None:
    result = run([snap(0, 0), snap(30, 0), snap(600, 0), snap(630, 0)])

    assert result.sessions == () and "gap" not in codes(result)


def test_noise_below_the_threshold_is_no_session_but_is_accounted_for() -> None:
    # standby: +3 Wh per poll for hours, then a real session
    readings = [0, 3, 6, 9, 12, 15, 18, 2018, 2021, 2024]
    result = run(counter(readings))

    (session,) = result.sessions
    assert session.energy_wh == pytest.approx(2000)
    assert result.unattributed_wh == pytest.approx(24)
    assert "noise" in codes(result)


def test_long_gap_with_only_standby_draw_is_not_a_session() -> None:
    # 60 Wh over 12 hours is 5 W: more than noise_wh in total but standby by its mean power
    result = run([snap(0, 0), snap(720, 60), snap(750, 60)])

    assert result.sessions == ()


# --- pauses and status ------------------------------------------------------------------------------------


def test_pause_without_status_splits_unless_merge_pause_is_set() -> None:
    readings = [0, 0, 3000, 3000, 3000, 5000, 5000]

    assert len(run(counter(readings)).sessions) == 2
    (merged,) = run(counter(readings), merge_pause_s=3600).sessions
    assert merged.energy_wh == pytest.approx(5000)


def test_pause_with_plugged_in_status_stays_one_session() -> None:
    snapshots = [
        snap(0, 0, 0, "Available"),
        snap(30, 1000, 7000, "Charging"),
        snap(60, 1000, 0, "SuspendedEV"),
        snap(90, 1000, 0, "SuspendedEV"),
        snap(120, 3000, 7000, "Charging"),
        snap(150, 3500, 0, "Available"),
    ]

    (session,) = run(snapshots).sessions

    assert session.energy_wh == pytest.approx(3500)
    assert session.transaction_id == f"pv-sma-S1-{int(at(0).timestamp())}"


def test_unplugged_status_between_two_charging_intervals_splits_them() -> None:
    snapshots = [
        snap(0, 0, 0, "Available"),
        snap(30, 2000, 0, "Available"),  # first car left, second not yet here
        snap(60, 3500, 0, "Available"),
        snap(90, 3500, 0, "Available"),
    ]

    sessions = run(snapshots).sessions

    assert [s.energy_wh for s in sessions] == [2000, 1500]
    assert ended(sessions[0]) <= sessions[1].start_utc


def test_plugged_in_status_widens_the_session_to_plug_in_and_plug_out() -> None:
    snapshots = [
        snap(0, 0, 0, "Available"),
        snap(30, 0, 0, "Preparing"),  # plugged in, waiting for sun
        snap(60, 0, 0, "SuspendedEVSE"),
        snap(90, 2000, 4000, "Charging"),
        snap(120, 2000, 0, "Finishing"),
        snap(150, 2000, 0, "Available"),
    ]

    (session,) = run(snapshots).sessions

    assert session.start_edge_utc == at(0) and session.start_utc == at(15)
    assert session.end_edge_utc == at(150) and session.end_utc == at(135)
    assert session.energy_wh == pytest.approx(2000)


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("Charging", ChargerState.CHARGING),
        ("SuspendedEV", ChargerState.PLUGGED),
        ("plugged in", ChargerState.PLUGGED),
        ("Available", ChargerState.IDLE),
        ("Unavailable", ChargerState.FAULT),
        ("unplugged", ChargerState.IDLE),
        ("Not connected", ChargerState.IDLE),
        ("not charging", ChargerState.UNKNOWN),
        ("Faulted", ChargerState.FAULT),
        ("7", ChargerState.UNKNOWN),
        (None, ChargerState.UNKNOWN),
    ],
)
def test_free_text_statuses_map_to_states(status: str | None, state: ChargerState) -> None:
    assert classify_status(status) is state


def test_statuses_no_pattern_knows_are_reported_for_the_adapter() -> None:
    snapshots = [snap(0, 0, None, "7"), snap(30, 0, None, "Available"), snap(60, 0, None, "blinking")]

    (warning,) = [w for w in run(snapshots).warnings if w.code == "unknown-status"]

    assert "'7' (1)" in warning.message and "'blinking' (1)" in warning.message
    assert "Available" not in warning.message


# --- ongoing sessions and id stability ---------------------------------------------------------------------


def test_session_running_at_the_last_snapshot_is_ongoing_and_keeps_its_id_when_it_completes() -> None:
    full = counter([0, 0, 2000, 5700, 9400, 10000, 10000])

    (running,) = run(full[:4]).sessions
    (done,) = run(full).sessions

    assert running.ongoing and running.end_utc is None
    assert running.transaction_id == done.transaction_id
    assert not done.ongoing and done.end_utc is not None
    assert "ongoing" in codes(run(full[:4]))


def test_plugged_status_at_the_last_snapshot_keeps_the_session_open() -> None:
    snapshots = [snap(0, 0, 0, "Available"), snap(30, 2000, 0, "Charging"), snap(60, 2000, 0, "SuspendedEV")]

    (session,) = run(snapshots).sessions

    assert session.ongoing


def test_session_already_running_at_the_first_snapshot_is_flagged() -> None:
    result = run(counter([0, 3700, 5000, 5000]))

    assert len(result.sessions) == 1
    assert "started-before-data" in codes(result)


def test_transaction_id_is_brand_lowercased_and_whole_seconds() -> None:
    edge = datetime(2024, 1, 1, 0, 30, 0, 900_000, tzinfo=UTC)

    assert transaction_id("Huawei", "NE=123", edge) == "pv-huawei-NE=123-1704069000"
    with pytest.raises(ValueError):
        transaction_id(" ", "x", edge)


def test_fewer_than_two_snapshots_gives_no_sessions_and_says_why() -> None:
    result = run([snap(0, 100)])

    assert result.sessions == () and "too-few-snapshots" in codes(result)


def test_snapshot_refuses_naive_times_and_impossible_counters() -> None:
    with pytest.raises(ValueError):
        Snapshot(datetime(2024, 1, 1), 0)
    with pytest.raises(ValueError):
        Snapshot(T0, math.nan)
    with pytest.raises(ValueError):
        Snapshot(T0, -1)


def test_adapter_snapshots_are_accepted_and_invalid_ones_skipped_with_a_warning() -> None:
    @dataclass(frozen=True)
    class CounterSnapshot:  # the shape of inverters.base.CounterSnapshot
        time_utc: datetime
        lifetime_wh: float
        power_w: float | None = None
        status: str | int | None = None

    rows = [CounterSnapshot(at(30 * i), wh) for i, wh in enumerate([0, 0, 2000, 2000])]
    rows.append(CounterSnapshot(datetime(2024, 3, 5, 20, 30), 2000))  # naive time: skipped
    rows.append(CounterSnapshot(at(150), math.nan, None, 3))

    result = run(rows)  # type: ignore[arg-type]

    assert [s.energy_wh for s in result.sessions] == [2000]
    assert any(w.code == "invalid-snapshot" and w.message.startswith("2 snapshots") for w in result.warnings)


def test_config_refuses_nonsense_thresholds() -> None:
    with pytest.raises(ValueError):
        ReconstructConfig(interval_s=0)
    with pytest.raises(ValueError):
        ReconstructConfig(noise_wh=-1)


# --- CSV -------------------------------------------------------------------------------------------------


def test_csv_parses_optional_columns_offsets_and_blank_cells() -> None:
    text = (
        "time_utc,lifetime_wh,power_w,status,extra\n"
        "2024-01-01T00:00:00Z,10.5,,,x\n"
        "\n"
        "2024-01-01T01:00:00+01:00,11,7400,Charging,y\n"
    )

    first, second = parse_snapshots_csv(text)

    assert first == Snapshot(datetime(2024, 1, 1, tzinfo=UTC), 10.5, None, None)
    assert second.time_utc == datetime(2024, 1, 1, tzinfo=UTC)
    assert (second.power_w, second.status) == (7400, "Charging")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time_utc,power_w\n", "row 1, lifetime_wh: missing column"),
        ("\n", "row 1, header: the file is empty"),
        ("time_utc,lifetime_wh\n2024-01-01T00:00:00Z,1\n2024-01-01T00:30:00Z,abc\n", "row 3, lifetime_wh"),
        (
            "time_utc,lifetime_wh\n2024-01-01 00:00,1\n",
            "row 2, time_utc: '2024-01-01 00:00' has no UTC offset",
        ),
        ("time_utc,lifetime_wh\nyesterday,1\n", "row 2, time_utc: 'yesterday' is not an ISO 8601 time"),
        ("time_utc,lifetime_wh\n2024-01-01T00:00:00Z,-5\n", "row 2, lifetime_wh: '-5' is negative"),
        ("time_utc,lifetime_wh\n2024-01-01T00:00:00Z,nan\n", "row 2, lifetime_wh: 'nan' is not a finite"),
        ("time_utc,lifetime_wh\n2024-01-01T00:00:00Z,\n", "row 2, lifetime_wh: empty"),
        ("time_utc,lifetime_wh,power_w\n2024-01-01T00:00:00Z,1,fast\n", "row 2, power_w"),
        ("time_utc,lifetime_wh\n2024-01-01T00:00:00Z,1,2\n", "row 2, (row): more cells"),
    ],
)
def test_csv_errors_name_the_row_and_column(text: str, message: str) -> None:
    with pytest.raises(SnapshotParseError) as caught:
        parse_snapshots_csv(text)

    assert str(caught.value).startswith(message)


# --- properties -------------------------------------------------------------------------------------------

STATUSES = [None, None, "Charging", "SuspendedEV", "Available", "Preparing", "Faulted"]


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Snapshot], float]:
    """A wallbox history with the energy it really recorded (net of resets), built independently.

    Intervals are idle, standby noise, or charging up to 11 kW; now and then the counter resets to zero
    inside an interval, in which case only the energy charged after the reset is knowable.
    """
    count = draw(st.integers(min_value=1, max_value=40))
    moment = T0 + timedelta(seconds=draw(st.integers(0, 3600)))
    reading = float(draw(st.integers(2_000, 5_000_000)))
    with_status = draw(st.booleans())
    snapshots = [Snapshot(moment, reading, None, draw(st.sampled_from(STATUSES)) if with_status else None)]
    expected = 0.0
    for _ in range(count):
        seconds = draw(st.sampled_from([60, 300, 900, 1800, 1800, 1800, 3600, 7200, 43200]))
        kind = draw(st.sampled_from(["idle", "idle", "noise", "charge", "charge", "reset"]))
        if kind == "reset" and reading > 2_000:
            # charged since the firmware reset, at most what 11 kW gives in the interval
            reading = float(draw(st.integers(0, int(min(1_000, 11_000 * seconds / 3600)))))
            expected += reading
        else:
            cap = 11_000 * seconds / 3600 if kind == "charge" else 4 if kind == "noise" else 0
            gained = float(draw(st.integers(0, int(cap))))
            reading += gained
            expected += gained
        moment += timedelta(seconds=seconds)
        power = draw(st.sampled_from([None, 0.0, 7400.0])) if with_status else None
        status = draw(st.sampled_from(STATUSES)) if with_status else None
        snapshots.append(Snapshot(moment, reading, power, status))
    return snapshots, expected


def assert_no_overlap(result: Reconstruction) -> None:
    for before, after in zip(result.sessions, result.sessions[1:], strict=False):
        assert before.end_edge_utc <= after.start_edge_utc
        assert before.end_utc is not None and before.end_utc <= after.start_utc
    for session in result.sessions:
        assert session.start_edge_utc <= session.start_utc
        assert session.end_utc is None or session.start_utc <= session.end_utc <= session.end_edge_utc


# every property also holds when short pauses are merged without status
PAUSES = st.sampled_from([0.0, 0.0, 3600.0])


@settings(max_examples=300, deadline=None)
@given(histories(), PAUSES)
def test_property_energy_balances_and_sessions_never_overlap(
    history: tuple[list[Snapshot], float], pause: float
) -> None:
    snapshots, expected = history
    result = run(snapshots, merge_pause_s=pause)

    if len(snapshots) >= 2:
        assert result.counter_increase_wh == pytest.approx(expected, abs=1e-6)
    total = math.fsum(s.energy_wh for s in result.sessions) + result.unattributed_wh
    assert total == pytest.approx(result.counter_increase_wh, abs=1e-6)
    assert all(s.energy_wh > 0 for s in result.sessions)
    assert len({s.transaction_id for s in result.sessions}) == len(result.sessions)
    assert_no_overlap(result)


@settings(max_examples=200, deadline=None)
@given(histories(), PAUSES, st.randoms(use_true_random=False))
def test_property_row_order_does_not_matter(
    history: tuple[list[Snapshot], float], pause: float, rng: random.Random
) -> None:
    snapshots, _ = history
    shuffled = snapshots[:]
    rng.shuffle(shuffled)

    assert run(shuffled, merge_pause_s=pause).sessions == run(snapshots, merge_pause_s=pause).sessions


@settings(max_examples=200, deadline=None)
@given(histories(), PAUSES, st.randoms(use_true_random=False))
def test_property_duplicates_do_not_change_the_result(
    history: tuple[list[Snapshot], float], pause: float, rng: random.Random
) -> None:
    snapshots, _ = history
    doubled = snapshots + [rng.choice(snapshots) for _ in range(rng.randint(1, len(snapshots)))]
    rng.shuffle(doubled)

    result = run(doubled, merge_pause_s=pause)

    assert result.sessions == run(snapshots, merge_pause_s=pause).sessions
    assert "duplicates" in codes(result)


@settings(max_examples=200, deadline=None)
@given(histories(), PAUSES, st.data())
def test_property_ids_survive_more_data(
    history: tuple[list[Snapshot], float], pause: float, data: st.DataObject
) -> None:
    snapshots, _ = history
    cut = data.draw(st.integers(min_value=1, max_value=len(snapshots)))
    early, full = run(snapshots[:cut], merge_pause_s=pause), run(snapshots, merge_pause_s=pause)

    later = {s.transaction_id: s for s in full.sessions}
    for session in early.sessions:
        assert session.transaction_id in later
        if not session.ongoing and not pause:  # a merge window lets a closed session absorb a later one
            assert later[session.transaction_id].energy_wh == pytest.approx(session.energy_wh)
            assert later[session.transaction_id].end_edge_utc == session.end_edge_utc


@settings(max_examples=200, deadline=None)
@given(histories(), PAUSES, st.data())
def test_property_rerun_from_resume_point_reproduces_the_full_history(
    history: tuple[list[Snapshot], float], pause: float, data: st.DataObject
) -> None:
    """The poller may re-read only the snapshots from `resume_from_utc` on and still get the same rows."""
    snapshots, _ = history
    cut = data.draw(st.integers(min_value=1, max_value=len(snapshots)))
    resume = run(snapshots[:cut], merge_pause_s=pause).resume_from_utc
    assert resume is not None

    window = run([s for s in snapshots if s.time_utc >= resume], merge_pause_s=pause)
    full = run(snapshots, merge_pause_s=pause)

    expected = {s.transaction_id: s.energy_wh for s in full.sessions if s.start_edge_utc >= resume}
    got = {s.transaction_id: s.energy_wh for s in window.sessions}
    assert got.keys() == expected.keys()
    for key, energy in got.items():
        assert energy == pytest.approx(expected[key], abs=10.0)  # at most one jitter drop at the seam


def test_resume_point_is_the_start_edge_of_an_ongoing_session() -> None:
    result = run(counter([0, 0, 2000, 4000]))

    assert result.resume_from_utc == result.sessions[0].start_edge_utc == at(30)


def test_resume_point_after_a_closed_session_is_the_last_poll_outside_it() -> None:
    result = run(counter([0, 0, 2000, 2000, 2000]))

    assert result.resume_from_utc == at(120)
