"""aWATTar's public market-data API (EPEX day-ahead prices for Germany and Austria, no account needed).

`GET {base}/v1/marketdata?start=<epoch ms>&end=<epoch ms>` answers the slots overlapping the span
(documented at https://www.awattar.de/services/api; `https://api.awattar.de` for Germany,
`https://api.awattar.at` for Austria). Parsing is the domain's (`parse_awattar_json`), so a saved answer
and a live one go through the same checks; this module only does the HTTP and turns its failures into
`TariffError` with a message an operator can act on.
"""

from __future__ import annotations

from datetime import datetime

import httpx

from pipelet_app.domain.surplus import PriceSeries
from pipelet_app.domain.surplus.inputs import InputError, parse_awattar_json

DEFAULT_URL = "https://api.awattar.de"
TIMEOUT_S = 15.0


class TariffError(RuntimeError):
    """The tariff could not be fetched or read; the message says which and why."""


def marketdata_url(base_url: str) -> str:
    return base_url.rstrip("/") + "/v1/marketdata"


def fetch_prices(
    start: datetime, end: datetime, base_url: str = DEFAULT_URL, client: httpx.Client | None = None
) -> PriceSeries:
    """The prices from `start` to `end` (aware datetimes), EUR per kWh."""
    params = {"start": int(start.timestamp() * 1000), "end": int(end.timestamp() * 1000)}
    url = marketdata_url(base_url)
    try:
        if client is None:
            with httpx.Client(timeout=TIMEOUT_S) as own:
                response = own.get(url, params=params)
        else:
            response = client.get(url, params=params)
    except httpx.HTTPError as exc:
        raise TariffError(f"aWATTar: {url} did not answer ({type(exc).__name__})") from None
    if response.status_code != 200:
        raise TariffError(f"aWATTar: {url} answered HTTP {response.status_code}")
    try:
        return parse_awattar_json(response.json())
    except ValueError as exc:  # InputError, or the body is not JSON
        detail = str(exc) if isinstance(exc, InputError) else "the answer is not JSON"
        raise TariffError(detail if detail.startswith("aWATTar") else f"aWATTar: {detail}") from None
