"""Where the CSMS may connect when a charger names the address: public hosts only.

A station's Authorize names the OCSP responder to ask (`responderURL`), and a contract certificate its
own (Authority Information Access). Those are the station's words: without a check, a charger (or
whoever poses as one) could make the CSMS POST to the loopback command endpoint, the database's host,
a cloud metadata service or any internal address (server-side request forgery). So the host must
resolve only to public addresses, unless the operator names it in `CSMS_OUTBOUND_ALLOWED_HOSTS` (an
internal OCSP responder, or a test's loopback one). Redirects are not followed by the callers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from pipelet_app.settings import get_settings


class AddressRefused(ValueError):
    """The URL is not http(s), or its host is (or resolves to) a non-public address."""


def _allowed_hosts() -> set[str]:
    raw = get_settings().csms_outbound_allowed_hosts or ""
    return {host.strip().lower() for host in raw.split(",") if host.strip()}


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global and not ip.is_multicast


async def check_public_url(url: str) -> None:
    """Raises AddressRefused unless `url` is http(s) to a host that resolves only to public addresses
    (or is allowed by name). DNS is asked off the event loop."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AddressRefused(f"{url[:100]!r} is not an http(s) URL")
    host = parts.hostname.lower()
    if host in _allowed_hosts():
        return
    try:
        infos = await asyncio.to_thread(socket.getaddrinfo, host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise AddressRefused(f"{host!r} does not resolve") from None
    addresses = {info[4][0] for info in infos}
    if not addresses or not all(_public(address) for address in addresses):
        raise AddressRefused(
            f"{host!r} is not a public address (allow it in CSMS_OUTBOUND_ALLOWED_HOSTS if it is yours)"
        )
