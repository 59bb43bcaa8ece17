"""`actuation.snapshot.frozen_grid_w`: when a grid meter that keeps sending counts as frozen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipelet_app.actuation.snapshot import frozen_grid_w
from pipelet_app.db.models import SiteSample

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
KINDS = {1: "grid", 2: "pv", 3: "battery", 4: "charger"}


def samples(device: int, *powers: float, every_s: int = 30) -> list[SiteSample]:
    return [
        SiteSample(site_id=1, device_id=device, ts=T0 + timedelta(seconds=i * every_s), minute=T0, power_w=p)
        for i, p in enumerate(powers)
    ]


def test_a_grid_value_that_sticks_while_pv_moves_is_frozen() -> None:
    rows = samples(1, -8000, -8000, -8000, -8000) + samples(2, 9000, 8000, 6000, 4000)
    assert frozen_grid_w(rows, KINDS) == -8000


def test_a_car_changing_its_draw_also_shows_it() -> None:
    rows = samples(1, 200, 200, 200, 200) + samples(4, 0, 4000, 4100, 4100)
    assert frozen_grid_w(rows, KINDS) == 200


def test_a_moving_grid_value_is_believed() -> None:
    rows = samples(1, -8000, -7999, -8000, -8000) + samples(2, 9000, 8000, 6000, 4000)
    assert frozen_grid_w(rows, KINDS) is None


def test_a_steady_site_is_not_frozen() -> None:
    rows = samples(1, -8000, -8000, -8000, -8000) + samples(2, 9000, 9100, 9050, 9000)
    assert frozen_grid_w(rows, KINDS) is None


def test_a_battery_regulating_the_grid_explains_a_steady_reading() -> None:
    rows = samples(1, 0, 0, 0, 0) + samples(2, 9000, 6000, 4000, 3000) + samples(3, -5000, -2000, 0, 1000)
    assert frozen_grid_w(rows, KINDS) is None


def test_too_few_or_too_close_samples_prove_nothing() -> None:
    pv = samples(2, 9000, 3000)
    assert frozen_grid_w(samples(1, -8000, -8000) + pv, KINDS) is None
    assert frozen_grid_w(samples(1, -8000, -8000, -8000, every_s=10) + pv, KINDS) is None
