"""Keep passwords and event payloads out of the web process's logs.

Reflex logs a whole event payload when a socket sends an event before it has a client token ("Event data:
..."); a sign-up form's password would land in the log in clear. This filter cuts such payloads off and
masks any `password` (or pay-form `card` / `cvc`) value left in a message, on the loggers that log frames.
"""

from __future__ import annotations

import logging
import re

LOGGERS = (
    "reflex",
    "reflex.app",
    "reflex.state",
    "socketio",
    "engineio",
    "socketio.server",
    "engineio.server",
)
_PAYLOAD = re.compile(r"(event data:?).*", re.IGNORECASE | re.DOTALL)
# Passwords, and card-like fields (`card`, `cvc`) should any form carry them (the pay page does not:
# its card goes to Stripe.js, docs/payments.md).
_SECRET = re.compile(
    r"""(["']?[\w-]*(?:password|card|cvc)[\w-]*["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,}&]+)""", re.IGNORECASE
)


def redact(message: str) -> str:
    message = _PAYLOAD.sub(r"\1 <redacted>", message)
    return _SECRET.sub(r"\1<redacted>", message)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        cleaned = redact(text)
        if cleaned != text:
            record.msg, record.args = cleaned, None
        return True


def install() -> None:
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
