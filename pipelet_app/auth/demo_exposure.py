"""The demo must not become a way in: its logins and passwords are printed in the README.

Demo accounts are the ones with a `.demo` e-mail address (the seed creates nothing else under it).
When `PUBLIC_URL` names an address other than this machine (localhost, 127.0.0.0/8, ::1,
`*.localhost`), the installation is reachable by others and every demo login is refused.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pipelet_app.settings import get_settings

DEMO_DOMAIN_SUFFIX = ".demo"
REFUSED = (
    "Demo logins are turned off because PUBLIC_URL is a public address. "
    "Create real accounts (pipelet invitations) instead."
)


def is_local_url(url: str) -> bool:
    """True for an empty URL and for URLs whose host is this machine."""
    if not url.strip():
        return True
    host = (urlsplit(url if "://" in url else f"//{url}").hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_demo_email(email: str) -> bool:
    return email.strip().lower().endswith(DEMO_DOMAIN_SUFFIX)


def demo_installation() -> bool:
    """Whether the demo accounts exist here (the sign-in page then says plainly that this is a demo)."""
    from sqlmodel import col, select

    from pipelet_app.db import session_scope
    from pipelet_app.db.models import User

    with session_scope() as db:
        return (
            db.exec(select(User.id).where(col(User.email).endswith(DEMO_DOMAIN_SUFFIX)).limit(1)).first()
            is not None
        )


def demo_login_refused(email: str) -> bool:
    return is_demo_email(email) and not is_local_url(get_settings().public_url)
