"""docs/interfaces.md names every API route and every setting that main has (issue 12: honest docs).

Adding a route or an environment variable without documenting it fails here, with the missing names."""

from __future__ import annotations

import re
from pathlib import Path

from pipelet_app.settings import INVERTER_BRANDS, Settings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "interfaces.md").read_text()
_, _, PLANNED = DOC.partition("## Planned")
CURRENT = DOC.removesuffix(PLANNED)


def test_every_api_route_is_documented() -> None:
    from pipelet_app.api import build_api

    paths = build_api().openapi()["paths"]
    documented = set(re.findall(r"(/api/v1/[^\s`?,|]*)", CURRENT))
    assert sorted(set(paths) - documented) == [], "add these routes to docs/interfaces.md (HTTP API table)"


def test_documented_routes_exist_or_are_marked_planned() -> None:
    from pipelet_app.api import build_api

    paths = set(build_api().openapi()["paths"]) | {"/api/v1/openapi.json"}
    documented = set(re.findall(r"(/api/v1/[^\s`?,|]*)", CURRENT))
    assert sorted(documented - paths) == [], "not on main: fix docs/interfaces.md or move them to Planned"


def test_every_setting_is_documented() -> None:
    brand_fields = {f"{brand}_api_base" for brand in INVERTER_BRANDS}
    missing = [
        name.upper()
        for name in Settings.model_fields
        if name not in brand_fields and not re.search(rf"\b{name.upper()}\b", CURRENT)
    ]
    assert missing == [], "add these variables to docs/interfaces.md (Environment table)"
    assert "<BRAND>_API_BASE" in CURRENT
    assert all(brand.upper() in CURRENT for brand in INVERTER_BRANDS)
