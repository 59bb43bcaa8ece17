"""The consumer's asset directory: unknown sites and assets reload it, but not more than every 5 s."""

from __future__ import annotations

from pipelet_app.site_energy.directory import MISS_RELOAD_S, REFRESH_S, SiteDirectory


class FakeSession:
    """Stands in for a DB session: `exec(...).all()` answers the current device rows."""

    def __init__(self, rows: list[tuple]) -> None:
        self.rows = rows
        self.queries = 0

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def exec(self, _statement: object) -> FakeSession:
        self.queries += 1
        return self

    def all(self) -> list[tuple]:
        return list(self.rows)


def test_misses_reload_at_most_every_few_seconds() -> None:
    now = [0.0]
    db = FakeSession([(1, "pv", 10, "pv")])
    directory = SiteDirectory(lambda: db, clock=lambda: now[0])  # type: ignore[arg-type]
    assert directory.lookup(1, "pv").device_id == 10 and db.queries == 1
    db.rows.append((2, "grid", 11, "grid"))
    assert not directory.has_site(2) and db.queries == 1  # within MISS_RELOAD_S of the last load
    now[0] += MISS_RELOAD_S + 0.1
    assert directory.has_site(2) and db.queries == 2  # the new site is found by the miss reload
    assert directory.lookup(9, "x") is None and db.queries == 2  # a bogus id right after: no reload
    now[0] += REFRESH_S + 1
    directory.lookup(1, "pv")
    assert db.queries == 3  # the periodic refresh
