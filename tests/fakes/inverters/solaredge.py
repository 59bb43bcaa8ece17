"""Fake SolarEdge monitoring API v1: ``?api_key=``, sites paging, inventory with an EV charger, meters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakes.inverters._harness import BrandHarness
from tests.fakes.inverters._recorded import recorded
from tests.fakes.inverters._server import FakeCloud, FakeRequest, FakeResponse, SimWallbox

API_KEY = "SE0123456789ABCDEFGHIJKLMNOPQRSTU"
SITE_ID = 1_234_567
EMPTY_SITE_ID = 7_654_321
SERIAL = "EVK1234-56"
TZ = "Europe/Amsterdam"
FMT = "%Y-%m-%d %H:%M:%S"


class SolarEdgeFake(FakeCloud):
    brand = "solaredge"

    def __init__(self, start: datetime | None = None) -> None:
        super().__init__(start)
        self.wallbox = SimWallbox(SERIAL, self.clock)
        self.meter_unit = "Wh"  # or "kWh"
        #: the site's PV production (W) at a moment (aware); /power serves its quarter-hour means
        self.production: Callable[[datetime], float] = lambda moment: 0.0

    def throttle_response(self, request: FakeRequest) -> FakeResponse:
        return FakeResponse(429, "Too many requests", content_type="text/plain")

    def setup_routes(self) -> None:
        self.route("GET", "/sites/list", self.sites)
        self.route("GET", r"/site/(?P<sid>\d+)/inventory", self.inventory)
        self.route("GET", r"/site/(?P<sid>\d+)/meters", self.meters)
        self.route("GET", r"/site/(?P<sid>\d+)/power", self.power)

    def _denied(self, req: FakeRequest) -> FakeResponse | None:
        if req.query.get("api_key") != API_KEY:
            return FakeResponse(403, "<html><body>Invalid token</body></html>", content_type="text/html")
        return None

    def sites(self, req: FakeRequest) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        body = recorded("solaredge", "sites_list")
        template = body["sites"]["site"][0]
        all_sites = [
            {**template, "id": sid, "name": name, "location": {**template["location"], "timeZone": TZ}}
            for sid, name in ((SITE_ID, "Home"), (EMPTY_SITE_ID, "Cabin"))
        ]
        start, size = int(req.query.get("startIndex", 0)), int(req.query.get("size", 100))
        body["sites"].update(count=len(all_sites), site=all_sites[start : start + size])
        return FakeResponse(200, body)

    def inventory(self, req: FakeRequest, sid: str) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        inventory: dict[str, Any] = {
            "meters": [],
            "sensors": [],
            "gateways": [],
            "batteries": [],
            "inverters": [{"name": "Inverter 1", "SN": "7E1234-AB", "model": "SE5000H"}],
        }
        if int(sid) == SITE_ID:
            inventory["evChargers"] = [{"name": "EV Charger", "SN": SERIAL, "model": "SE-EVK-22"}]
        return FakeResponse(200, {"Inventory": inventory})

    def meters(self, req: FakeRequest, sid: str) -> FakeResponse:
        if (denied := self._denied(req)) is not None:
            return denied
        if req.query.get("timeUnit") != "QUARTER_OF_AN_HOUR":
            return FakeResponse(400, {"message": "timeUnit"})
        tz = ZoneInfo(TZ)
        start = datetime.strptime(req.query["startTime"], FMT).replace(tzinfo=tz)
        end = datetime.strptime(req.query["endTime"], FMT).replace(tzinfo=tz)
        quarter = start.replace(minute=start.minute // 15 * 15, second=0)
        values = []
        while quarter <= end:
            wh = self.wallbox.lifetime_at(quarter)
            value = round(wh / 1000.0, 4) if self.meter_unit == "kWh" else round(wh, 1)
            values.append({"date": quarter.strftime(FMT), "value": value})
            quarter += timedelta(minutes=15)
        body = recorded("solaredge", "meters")
        production = body["meterEnergyDetails"]["meters"][0]
        meters = [
            {**production, "values": [{"date": v["date"], "value": 1.0} for v in values]},
            {
                **production,
                "meterSerialNumber": "M2",
                "connectedSolaredgeDeviceSN": SERIAL,
                "model": "EV meter",
                "meterType": "Consumption",
                "values": values,
            },
        ]
        if int(sid) != SITE_ID:
            meters = meters[:1]
        body["meterEnergyDetails"].update(unit=self.meter_unit, meters=meters)
        return FakeResponse(200, body)

    def power(self, req: FakeRequest, sid: str) -> FakeResponse:
        """Quarter-hour mean power between startTime and endTime (site-local), null for the running one."""
        if (denied := self._denied(req)) is not None:
            return denied
        tz = ZoneInfo(TZ)
        start = datetime.strptime(req.query["startTime"], FMT).replace(tzinfo=tz)
        end = datetime.strptime(req.query["endTime"], FMT).replace(tzinfo=tz)
        if end - start > timedelta(days=31):
            return FakeResponse(403, {"String": "Bad Request - period exceeds one month"})
        now = self.clock.now()
        quarter = start.replace(minute=start.minute // 15 * 15, second=0, microsecond=0)
        values = []
        while quarter <= end:
            if quarter + timedelta(minutes=15) <= now:
                watts = (
                    sum(self.production(quarter + timedelta(minutes=i, seconds=30)) for i in range(15)) / 15
                )
                values.append({"date": quarter.strftime(FMT), "value": round(watts, 4)})
            else:
                values.append({"date": quarter.strftime(FMT), "value": None})
            quarter += timedelta(minutes=15)
        body = recorded("solaredge", "power")
        body["power"].update(values=values)
        return FakeResponse(200, body)


HARNESS = BrandHarness(
    brand="solaredge",
    make_fake=SolarEdgeFake,
    good_credentials=lambda fake: {"api_key": API_KEY},
    bad_credentials=lambda fake: {"api_key": "SE-WRONG-KEY-000000"},
    snapshot_match="/meters",
    energy_tolerance_wh=0.2,
)
