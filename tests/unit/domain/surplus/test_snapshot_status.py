"""`actuation.snapshot`: when a car counts as unmeasured (its offer, `controller.unmeasured_draws`) and
when the charger's connector status says it draws nothing. One site's view from hand-built batch rows,
as `load_sites` reads them (no database: a site with a grid sample reads nothing more)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipelet_app.actuation.snapshot import ChargerRow, Device, Sample, SiteRow, _Rows, _view
from pipelet_app.db.models import ChargingSession, DeviceKind, SiteSurplus
from pipelet_app.domain import live_power
from pipelet_app.domain.surplus import ChargerInput

T0 = datetime(2026, 6, 1, 11, tzinfo=UTC)  # the session's start
SITE, CHARGER, SESSION = 7, 70, 700


def rows(
    now: datetime,
    registers: list[tuple[float, float]] = (),  # type: ignore[assignment]
    status: tuple[str, float] | None = None,
    read_once: bool = False,
    charging_state: tuple[str, float] | None = None,
) -> _Rows:
    """A site with a grid meter and one 1.6 charger whose session started at T0 with `meterStart`
    12 kWh: `registers` (seconds after T0, Wh) read in the loop's window, the connector's `status`
    (name, seconds after T0), `read_once`: a reading of the session came since its start (any age),
    `charging_state`: a 2.0.1 TransactionEvent's chargingState (name, seconds after T0)."""
    session = ChargingSession(
        id=SESSION,
        transaction_id="tx-1",
        charger_id=CHARGER,
        connector_id=1,
        start_utc=T0,
        meter_start_wh=12_000.0,
        charging_state=charging_state[0] if charging_state else None,
        charging_state_at=T0 + timedelta(seconds=charging_state[1]) if charging_state else None,
    )
    return _Rows(
        sites={SITE: SiteRow(SITE, 32.0, 3, None, None)},
        settings={SITE: SiteSurplus(site_id=SITE, enabled=True)},
        devices={
            SITE: [
                Device(1, SITE, DeviceKind.GRID, None, None, False),
                Device(2, SITE, DeviceKind.CHARGER, "CP", 1, False),
            ]
        },
        samples={SITE: [Sample(1, now - timedelta(seconds=5), -2000.0, None)]},
        chargers={"CP": ChargerRow(CHARGER, "CP", SITE, True, None, "1.6")},
        sessions={(CHARGER, 1): session},
        transactions={},
        preferences={},
        needs={},
        variables={},
        ocpp_power={},
        ocpp_registers={
            SESSION: [
                live_power.Reading(T0 + timedelta(seconds=s), live_power.REGISTER, wh, "Wh")
                for s, wh in registers
            ]
        },
        max_power_w={},
        connector_status={SESSION: (status[0], T0 + timedelta(seconds=status[1]))} if status else {},
        read_since_start={SESSION} if read_once or registers else set(),
    )


def car(batch: _Rows, now: datetime) -> ChargerInput:
    view = _view(None, batch, SITE, now)  # type: ignore[arg-type]
    assert view is not None
    return view.snapshot.chargers[0]


def test_a_car_waiting_for_its_first_reading_stays_unmeasured_past_two_minutes() -> None:
    """A register-only charger whose first MeterValues comes 5 minutes after the start: its car counts
    its offer until then (it counted 0 W after 2 minutes and its share went to other cars)."""
    for seconds in (30, 119, 121, 300):
        assert car(rows(T0 + timedelta(seconds=seconds)), T0 + timedelta(seconds=seconds)).unmeasured
    # once a reading came, one that went stale is 0 W as before (the car may have stopped)
    later = T0 + timedelta(seconds=400)
    assert not car(rows(later, read_once=True), later).unmeasured
    young = T0 + timedelta(seconds=60)  # within 2 minutes a refused reading still leaves it unmeasured
    assert car(rows(young, read_once=True), young).unmeasured


def test_a_status_that_says_the_car_draws_nothing_ends_the_wait() -> None:
    """SuspendedEV, SuspendedEVSE, Finishing, Faulted or Available after the start: 0 W, measured, at
    the status's time; Charging, or a status from before the session (the last car's), says nothing."""
    now = T0 + timedelta(seconds=200)
    for name in ("SuspendedEV", "SuspendedEVSE", "Finishing", "Faulted", "Available"):
        charger = car(rows(now, status=(name, 150)), now)
        assert not charger.unmeasured and charger.measured_w == 0.0
        assert charger.measured_since == charger.measured_at == T0 + timedelta(seconds=150)
    assert car(rows(now, status=("Charging", 150)), now).unmeasured
    assert car(rows(now, status=("SuspendedEV", -10)), now).unmeasured
    assert car(rows(now, status=("SuspendedEV", 0)), now).unmeasured  # not after the start
    assert car(rows(now, status=("SuspendedEV", 210)), now).unmeasured  # not yet at `now`


def coarse(seconds: int, watts: float = 10_000.0) -> list[tuple[float, float]]:
    """A 0.1 kWh register read every 10 s from T0 + 10 s to `seconds`, the car at `watts`."""
    return [(s, 100.0 * ((12_000 + watts * s / 3600) // 100)) for s in range(10, seconds + 1, 10)]


def test_a_coarse_register_counts_0_w_once_the_charger_says_the_car_stopped() -> None:
    """A 0.1 kWh register at 10 kW, then SuspendedEV at 150 s and no step since: its average over two
    steps still said about 9 kW 14 s on (and 2.4 kW two minutes on); the charger's word says 0 W."""
    registers = [*coarse(150), (160, coarse(150)[-1][1])]
    now = T0 + timedelta(seconds=164)
    drawing = car(rows(now, registers), now)
    assert 8_000 <= drawing.measured_w <= 11_500, drawing
    stopped = car(rows(now, registers, status=("SuspendedEV", 152)), now)
    assert stopped.measured_w == 0.0 and not stopped.unmeasured


def test_a_reading_begun_after_the_status_wins_over_it() -> None:
    """A charger that did not send Charging when the car drew again: a register interval that began
    after its SuspendedEV is the newer word (a fine register, 15 Wh in 10 s: 5.4 kW)."""
    now = T0 + timedelta(seconds=204)
    registers = [(190, 12_500.0), (200, 12_515.0)]
    assert car(rows(now, registers, status=("SuspendedEV", 180)), now).measured_w == 5400.0
    assert car(rows(now, registers, status=("SuspendedEV", 195)), now).measured_w == 0.0


def test_a_201_charging_state_says_what_its_connector_status_does_not() -> None:
    """A 2.0.1 connector stays Occupied through a transaction; SuspendedEV, SuspendedEVSE, EVConnected
    or Idle in a TransactionEvent says the car draws nothing, Charging that it draws again. The newer of
    the connector's status and the transaction's state decides."""
    now = T0 + timedelta(seconds=200)
    for name in ("SuspendedEV", "SuspendedEVSE", "EVConnected", "Idle"):
        charger = car(rows(now, status=("Occupied", 5), charging_state=(name, 150)), now)
        assert not charger.unmeasured and charger.measured_w == 0.0, name
        assert charger.measured_since == T0 + timedelta(seconds=150)
    assert car(rows(now, status=("Occupied", 5), charging_state=("Charging", 150)), now).unmeasured
    # back to Charging after a suspension: the newer word wins, in either column
    assert car(rows(now, status=("SuspendedEV", 100), charging_state=("Charging", 150)), now).unmeasured
    unplugged = car(rows(now, status=("Available", 180), charging_state=("Charging", 150)), now)
    assert unplugged.measured_w == 0.0 and unplugged.measured_since == T0 + timedelta(seconds=180)
    # the state of an event from before the start (a late Started moved it earlier) says nothing
    assert car(rows(now, charging_state=("SuspendedEV", 0)), now).unmeasured
