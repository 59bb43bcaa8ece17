"""A site's printable sheet of pay-page QR codes, one per connector of its payable chargers.

The code encodes `<PUBLIC_URL>/pay/<charge point id>/<connector id>`; the sheet is plain HTML with inline
SVG (segno, pure Python), so it prints from any browser at any size without an image library. Operators
only, their own sites only (another tenant's site is 404, like a missing one).
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

import segno
from sqlmodel import Session, col, select

from pipelet_app.auth import NotFound, Principal, require, require_tenant
from pipelet_app.db.models import Charger, Connector, Role, Site
from pipelet_app.settings import get_settings


def pay_url(charge_point_id: str, connector_id: int) -> str:
    base = get_settings().web_url.rstrip("/")
    return f"{base}/pay/{quote(charge_point_id, safe='')}/{connector_id}"


def site_sheet(db: Session, principal: Principal, site_id: int) -> str:
    require(principal, Role.OPERATOR)
    site = db.get(Site, site_id)
    if site is None:
        raise NotFound("Not found.")
    require_tenant(principal, site.tenant_id)
    rows = db.exec(
        select(Charger.charge_point_id, Connector.connector_id)
        .join(Connector, Connector.charger_id == Charger.id)
        .where(
            Charger.site_id == site.id,
            Charger.tenant_id == site.tenant_id,
            col(Charger.pricing_plan_id).is_not(None),
            Connector.connector_id > 0,  # connector 0 is the charger itself in OCPP
        )
        .order_by(col(Charger.charge_point_id), col(Connector.connector_id))
    ).all()
    cards = []
    for cp_id, connector_id in rows:
        url = pay_url(cp_id, connector_id)
        svg = segno.make(url, error="m").svg_inline(scale=5, title=f"{cp_id} connector {connector_id}")
        cards.append(
            f'<figure class="qr">{svg}<figcaption><b>{escape(cp_id)}</b> · connector {connector_id}'
            f"<br>Scan to pay and charge<br><small>{escape(url)}</small></figcaption></figure>"
        )
    body = "".join(cards) or "<p>No payable connector here yet: give the site's chargers a pricing plan.</p>"
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Pay QR codes · {escape(site.name)}</title>"
        "<style>body{font-family:sans-serif}.qr{display:inline-block;margin:1em;text-align:center;"
        "page-break-inside:avoid}small{color:#555}</style></head>"
        f"<body><h1>{escape(site.name)}</h1>{body}</body></html>"
    )
