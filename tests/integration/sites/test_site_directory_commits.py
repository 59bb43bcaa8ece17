"""The consumer's asset directory learns of a device committed in this process at once.

In the embedded deployment the API and the MQTT consumer share a process. A miss reloads the directory at
most every `MISS_RELOAD_S`, so before this a meter that sent right after its device was added could be
refused as `unknown-asset` when a reload had happened just before the commit (a flaky browser test).
"""

from __future__ import annotations

from sqlmodel import Session, select

from pipelet_app.db import get_engine, session_scope
from pipelet_app.db.models import Site, SiteDevice
from pipelet_app.db.models.sites import DeviceKind
from pipelet_app.site_energy.directory import SiteDirectory


def _counting_directory(now: list[float]) -> tuple[SiteDirectory, list[int]]:
    loads = [0]

    def session() -> Session:
        loads[0] += 1
        return Session(get_engine())

    return SiteDirectory(session, clock=lambda: now[0]), loads


def test_a_device_committed_here_is_known_at_once_but_bogus_ids_still_do_not_reload(demo: dict) -> None:
    now = [0.0]
    directory, loads = _counting_directory(now)
    with session_scope() as db:
        site_id = db.exec(select(Site.id)).first()
    assert site_id is not None
    assert directory.lookup(site_id, "pv-new") is None and loads[0] == 1

    with session_scope() as db:
        db.add(SiteDevice(site_id=site_id, asset_id="pv-new", kind=DeviceKind.PV))
    found = directory.lookup(site_id, "pv-new")  # same instant: within MISS_RELOAD_S of the last load
    assert found is not None and found.kind == "pv" and loads[0] == 2

    assert directory.lookup(site_id, "bogus") is None and loads[0] == 2  # no commit since: no reload


def test_a_rolled_back_device_does_not_force_a_reload(demo: dict) -> None:
    now = [0.0]
    directory, loads = _counting_directory(now)
    with session_scope() as db:
        site_id = db.exec(select(Site.id)).first()
    assert site_id is not None
    directory.reload()
    with Session(get_engine()) as db:
        db.add(SiteDevice(site_id=site_id, asset_id="pv-never", kind=DeviceKind.PV))
        db.flush()
        db.rollback()
        db.commit()  # a later commit of the same session wrote no device
    assert directory.lookup(site_id, "pv-never") is None and loads[0] == 1
