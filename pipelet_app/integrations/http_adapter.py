"""The HTTP side every integration adapter shares: inverter brands (``inverters.base.InverterAdapter``) and
charging networks (``networks.base.NetworkAdapter``).

One client lifecycle (build or borrow an ``httpx.AsyncClient``, close only one of our own), the fields a poll
saves back (``credentials`` with ``credentials_changed``, the non-secret ``state``), one request wrapper
(timeouts and unreachable hosts become :class:`BrandUnavailable`; the URL may hold a key, so it is never
shown) and one safety net: a crash in a protocol method (a KeyError on an answer of a shape we do not know)
is our fault, not the vendor being down, so it becomes :class:`IntegrationError`, logged with its traceback.
The subclasses keep what differs: their protocol, where their base URL comes from, and their wording.
"""

from __future__ import annotations

import functools
import json
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from functools import lru_cache
from typing import Any, ClassVar, Self

import httpx

from pipelet_app.clock import utcnow
from pipelet_app.integrations.errors import BrandUnavailable, IntegrationError, InverterError

# httpx logs every request URL at INFO, and several brands carry the key in the query (``?key=``,
# ``?api_key=``): keep the HTTP client's own loggers at WARNING whatever level a process configures, so a
# `pipelet worker` started with INFO logging never writes a key into its log.
for _http_logger in ("httpx", "httpcore"):
    logging.getLogger(_http_logger).setLevel(logging.WARNING)


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    """One TLS context for every adapter: building one per client costs ~50 ms of CPU per poll."""
    return ssl.create_default_context()


def _safety_net(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Turn a crash in an adapter's protocol method into IntegrationError (adapter errors pass unchanged).

    It is logged here with its traceback (for the developers; the log is not shown to users) and raised with
    a text naming the method and the exception type only: the original is not chained, its text could quote
    the vendor's answer.
    """

    @functools.wraps(method)
    async def wrapper(self: HttpAdapter, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except InverterError:
            raise
        except Exception as exc:
            where = f"{type(self).__name__}.{method.__name__}"
            self._log.error(
                "integration error in %s (%s): %s", where, self._owner, type(exc).__name__, exc_info=True
            )
            raise IntegrationError(
                self._owner, self._cannot_read.format(what=f"{method.__name__}: {type(exc).__name__}")
            ) from None

    wrapper._safety_net = True  # type: ignore[attr-defined]
    return wrapper


class HttpAdapter:
    """Base of the adapter bases. Subclasses set the class attributes below and name their owner."""

    #: the protocol methods wrapped in the safety net
    _protocol_methods: ClassVar[tuple[str, ...]] = ()
    #: the logger integration errors go to (``pipelet.inverters``, ``pipelet.networks``)
    _log: ClassVar[logging.Logger]
    #: what the texts call the other side: "cloud", "network"
    _party: ClassVar[str]
    #: the text of an IntegrationError; ``{what}`` names the field or the method, never a value
    _cannot_read: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_protocol_methods" in cls.__dict__:
            return  # the class declaring the protocol: its defaults (NotImplementedError) stay as they are
        for name in cls._protocol_methods:
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "_safety_net", False):
                setattr(cls, name, _safety_net(method))

    def __init__(
        self,
        credentials: Mapping[str, Any],
        *,
        base_url: str,
        state: dict[str, Any] | None,
        client: httpx.AsyncClient | None,
        timeout_s: float,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials: dict[str, Any] = dict(credentials)
        self.credentials_changed = False
        self.state: dict[str, Any] = state if state is not None else {}
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=timeout_s, follow_redirects=False, verify=_ssl_context()
        )

    @property
    def _owner(self) -> str:
        """The brand or network the errors name."""
        raise NotImplementedError

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _fail(self, message: str) -> BrandUnavailable:
        return BrandUnavailable(self._owner, message)

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request; network failures become BrandUnavailable (the URL may hold a key: never shown)."""
        if not url.startswith("http"):
            url = f"{self.base_url}{url}"
        try:
            return await self._client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise self._fail(
                f"the {self._party} did not answer in time; the poll will be retried later"
            ) from None
        except httpx.HTTPError:
            raise self._fail(
                f"the {self._party} could not be reached; the poll will be retried later"
            ) from None

    def _json(self, response: httpx.Response) -> Any:
        """The JSON body, or BrandUnavailable when the other side sent HTML (maintenance page) or garbage."""
        ctype = response.headers.get("content-type", "")
        text = response.text
        if "html" in ctype or text.lstrip().startswith("<"):
            raise self._fail(
                f"the {self._party} sent a web page instead of data (maintenance?); will retry later"
            )
        try:
            return json.loads(text)
        except ValueError:
            raise self._fail(
                f"the {self._party} sent an unreadable answer; the poll will be retried later"
            ) from None

    def _unknown_shape(self, what: str) -> IntegrationError:
        """An answer whose structure the adapter does not know: logged with the stack, returned to raise.

        ``what`` names the field or structure (never a value): it goes into the log and the user's text.
        """
        self._log.error("integration error (%s): %s", self._owner, what, stack_info=True)
        return IntegrationError(self._owner, self._cannot_read.format(what=what))

    @staticmethod
    def retry_after_header(response: httpx.Response, default_s: float) -> float:
        """Seconds from a Retry-After header (delta or HTTP date), else the caller's default."""
        value = response.headers.get("retry-after")
        if not value:
            return default_s
        try:
            return max(1.0, float(value))
        except ValueError:
            pass
        try:
            from email.utils import parsedate_to_datetime

            return max(1.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
        except (TypeError, ValueError):
            return default_s
