"""The shape every `.../history` route answers: an object's audit trail, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditOut(BaseModel):
    at: datetime
    actor: str = Field(description="E-mail of the user who acted, or 'system'")
    action: str
    changes: dict[str, Any] = Field(description="field -> [before, after]")
