"""Files Pipelet writes are for its own user only: umask 077, and what exists already is tightened.

The SQLite database (with its WAL, SHM and journal), `.env` (the secret key) and logs hold credentials
and personal data, so they are 0600 and new directories 0700. Reflex's `.states/` (pickled tab states from
when the disk state manager was used, with session cookies in their headers) is deleted: state now lives
in memory or Redis.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipelet_app.settings import get_settings

PRIVATE_FILE = 0o600


def sqlite_files(database_url: str) -> list[Path]:
    """The database file of a `sqlite:///path` URL and its companions (none for other databases)."""
    if not database_url.startswith("sqlite") or ":memory:" in database_url:
        return []
    path = Path(database_url.split(":///", 1)[-1].split("?", 1)[0])
    return [path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))]


def harden(workdir: Path | None = None) -> None:
    """Set the umask and tighten what is there already; safe to call from every entry point."""
    os.umask(0o077)
    workdir = workdir or Path.cwd()
    for path in [*sqlite_files(get_settings().database_url), workdir / ".env"]:
        path = path if path.is_absolute() else workdir / path
        if path.exists():
            path.chmod(PRIVATE_FILE)
    shutil.rmtree(workdir / ".states", ignore_errors=True)
