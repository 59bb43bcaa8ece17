"""Whether the PV-surplus loop steers a charger's EVSE: the CSMS's honest answer to NotifyEVChargingNeeds."""

from __future__ import annotations

from sqlmodel import Session, col, select

from pipelet_app.db.models import Charger, SiteDevice, SiteSurplus


def surplus_steers(db: Session, charge_point_id: str, evse_id: int) -> bool:
    """True when the charger sits at a site whose controller is on and names this EVSE as a device."""
    row = db.exec(
        select(SiteDevice.id)
        .join(Charger, col(Charger.charge_point_id) == col(SiteDevice.charge_point_id))
        .join(SiteSurplus, col(SiteSurplus.site_id) == col(SiteDevice.site_id))
        .where(
            SiteDevice.charge_point_id == charge_point_id,
            SiteDevice.connector_id == evse_id,
            col(Charger.site_id) == col(SiteDevice.site_id),
            col(SiteSurplus.enabled).is_(True),
        )
    ).first()
    return row is not None
