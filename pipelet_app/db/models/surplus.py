"""PV-surplus charging state: the operator's settings per site, a driver's wishes per session, and the
decisions the actuation loop took (for the operator's view of what the controller did and why).

`site_surplus` also carries the loop's lease: one worker owns a site's loop at a time (`owner`,
`lease_until_utc`, taken by a conditional UPDATE like the PV poll job's lease).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from pipelet_app.db.types import UTCDateTime, utcnow


class SiteSurplus(SQLModel, table=True):
    """The surplus controller's settings for one site (the beta is off until an operator enables it)."""

    __tablename__ = "site_surplus"

    site_id: int = Field(foreign_key="sites.id", primary_key=True)
    enabled: bool = False
    mode: str = Field(default="pv-only", max_length=16)
    #: below this home-battery state of charge (%) the battery charges before the cars
    min_soc: float | None = None
    battery_priority: bool = True
    interval_s: int = 10  # the fast end of 10-30 s: benchmarks/surplus measured 0.972 vs 0.965 of optimum
    #: where Eco-plus gets its prices: "none", "awattar" (day-ahead market, `tariff_region` de/at) or "csv"
    tariff_source: str = Field(default="none", max_length=16)
    tariff_region: str | None = Field(default=None, max_length=8)
    #: the operator's uploaded price CSV (`time_utc,price_per_kwh`), kept as given
    tariff_csv: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: the worker's cache: [[start ISO, EUR/kWh], ...] and the slot length; the loop reads only this
    tariff_prices: list[list[Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    tariff_slot_s: float | None = None
    tariff_fetched_utc: datetime | None = Field(default=None, sa_type=UTCDateTime)
    tariff_next_fetch_utc: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: why the last fetch failed (the cached prices stay in use); None after a good fetch
    tariff_error: str | None = None
    owner: str | None = Field(default=None, max_length=64)
    lease_until_utc: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SessionPreference(SQLModel, table=True):
    """A driver's wishes for one running session; None = not given (site defaults, car's needs apply)."""

    __tablename__ = "session_preferences"

    session_id: int = Field(foreign_key="op_charging_sessions.id", primary_key=True)
    mode: str | None = Field(default=None, max_length=16)
    departure_utc: datetime | None = Field(default=None, sa_type=UTCDateTime)
    energy_wh: float | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SurplusDecision(SQLModel, table=True):
    """One control cycle of one site: what the site measured, what each charger got, and why.

    `chargers` is a list of {charger, limit_a, phases, charging, reason, sent, purpose, unit}; `sent`
    says what became of a profile (Accepted, Rejected, fallback:..., offline, unchanged).
    """

    __tablename__ = "surplus_decisions"
    __table_args__ = (Index("ix_surplus_decisions_site_time", "site_id", "time_utc"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int = Field(foreign_key="sites.id")
    time_utc: datetime = Field(sa_type=UTCDateTime)
    mode: str = Field(max_length=16)
    stale: bool = False
    available_w: float = 0.0
    grid_w: float | None = None
    pv_w: float | None = None
    reason: str = ""
    chargers: list[dict] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class SurplusLoopMemory(SQLModel, table=True):
    """The surplus loop's memory of one site, saved by its owner after each cycle (`actuation.memory`).

    `memory` is `domain.surplus.saved.encode`'s JSON (versioned: the controller's timers, phase lockout,
    draw caps, recent PV, and what each profile slot last carried); a worker that takes the site over
    restores it. `owner` is the worker that wrote it.
    """

    __tablename__ = "surplus_loop_memory"

    site_id: int = Field(foreign_key="sites.id", primary_key=True)
    owner: str = Field(max_length=64)
    saved_utc: datetime = Field(sa_type=UTCDateTime)
    memory: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


__all__ = ["SessionPreference", "SiteSurplus", "SurplusDecision", "SurplusLoopMemory"]
