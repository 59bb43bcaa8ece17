"""The README's demo login table is what the seed creates (it once named the wrong investor tenant)."""

from __future__ import annotations

from pathlib import Path

from pipelet_app.demo.seed import LOGINS, TENANTS

README = Path(__file__).resolve().parents[3] / "README.md"
ROLE_WORDS = {
    "admin": "admin",
    "operator": "operator",
    "fleet manager": "fleet_manager",
    "driver": "driver",
    "investor": "investor",
}


def readme_logins() -> list[tuple[str, str, str, str | None]]:
    rows = []
    for line in README.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and "@" in cells[1]:
            role, email, password, tenant = cells
            rows.append((ROLE_WORDS[role], email, password, None if tenant == "—" else tenant))
    return rows


def test_readme_table_matches_the_seeded_logins() -> None:
    seeded = [
        (login.role.value, login.email, login.password, TENANTS[login.tenant][0] if login.tenant else None)
        for login in LOGINS
    ]
    assert readme_logins() == seeded
