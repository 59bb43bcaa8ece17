"""Which operator e-mails a user wants (operations/notifications.py). No row = the defaults: faults and
recoveries for every site, no digest — what every operator got before subscriptions existed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from pipelet_app.clock import utcnow
from pipelet_app.db.types import UTCDateTime


class NotificationPreference(SQLModel, table=True):
    __tablename__ = "notification_preferences"

    user_id: int = Field(primary_key=True, foreign_key="users.id")
    faults: bool = True
    recoveries: bool = True
    daily_digest: bool = False
    #: local hour (0-23) at which the digest of the day before goes out, in `timezone`
    digest_hour: int = 7
    #: IANA zone of the digest's day; None = the zone most of the tenant's sites are in
    timezone: str | None = None
    #: only these sites' news; empty = every site of the tenant (new sites included)
    site_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
