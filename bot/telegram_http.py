"""The bot's HTTP client for the Bot API: PTB's `BaseRequest` on aiohttp.

PTB's own client (`HTTPXRequest`) spends about a third of the bot process's CPU under load in httpx and
httpcore (docs/cpu-per-photo.md); aiohttp's client, already a dependency of the bot's servers, does the
same calls for a fraction of it. The semantics are PTB's: the same defaults and timeouts, `TimedOut` for
a timeout (a pool timeout says the request was not sent), `NetworkError` for any other failure, and every
HTTP status returned to PTB, which turns errors into its exceptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.request
from collections.abc import AsyncIterator, Iterator

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_POOL_TIMEOUT_MESSAGE = (
    "Pool timeout: All connections in the connection pool are occupied. Request was *not* sent to "
    "Telegram. Consider adjusting the connection pool size or the pool timeout."
)


class AiohttpRequest(BaseRequest):
    """Bot API calls over one aiohttp session of at most `connection_pool_size` connections.

    Timeouts in seconds, as `HTTPXRequest`'s: `read_timeout` between bytes of an answer,
    `connect_timeout` to open a connection, `pool_timeout` to wait for a free one, and `write_timeout`
    (`media_write_timeout` for uploads) to send the request; aiohttp times a request's writing only as
    part of the whole, so that bounds the whole request with the other three."""

    def __init__(
        self,
        connection_pool_size: int = 1,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._defaults = {
            "read": read_timeout,
            "write": write_timeout,
            "connect": connect_timeout,
            "pool": pool_timeout,
            "media_write": media_write_timeout,
        }
        self._session: aiohttp.ClientSession | None = None
        self._free = asyncio.Semaphore(connection_pool_size)

    @property
    def read_timeout(self) -> float | None:
        """See `BaseRequest.read_timeout`."""
        return self._defaults["read"]

    async def initialize(self) -> None:
        """Open the session (again, after `shutdown`)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
                # The Bot API's answers are JSON or a file's bytes: nothing to decompress
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),  # the Bot API sets none
                # HTTPS_PROXY and friends, as httpx honours them; aiohttp reads them (and ~/.netrc) again
                # for every request, so only when some are set
                trust_env=bool(urllib.request.getproxies()),
            )

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See `BaseRequest.do_request`: (HTTP status, body)."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        read = self._given(read_timeout, "read")
        connect = self._given(connect_timeout, "connect")
        pool = self._given(pool_timeout, "pool")
        write = self._given(write_timeout, "media_write" if files else "write")
        timeout = aiohttp.ClientTimeout(
            total=_sum(read, write, connect), sock_connect=connect, sock_read=read
        )
        async with self._connection(pool):
            with _translated_errors():
                async with self._session.request(
                    method, url, data=_body(request_data), timeout=timeout
                ) as response:
                    return response.status, await response.read()

    def _given(self, value: ODVInput[float], name: str) -> float | None:
        """A timeout passed to `do_request`, or this client's default when none was."""
        return self._defaults[name] if isinstance(value, DefaultValue) else value

    @contextlib.asynccontextmanager
    async def _connection(self, pool_timeout: float | None) -> AsyncIterator[None]:
        """Hold one of the pool's connections, waiting at most `pool_timeout` for it."""
        try:
            await asyncio.wait_for(self._free.acquire(), pool_timeout)
        except TimeoutError as err:
            raise TimedOut(_POOL_TIMEOUT_MESSAGE) from err
        try:
            yield
        finally:
            self._free.release()


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    """The request's body: multipart when it uploads files, else its parameters form-encoded (as PTB's
    own client sends them)."""
    if request_data is None:
        return None
    files = request_data.multipart_data
    if not files:
        return request_data.json_parameters
    # Names as UTF-8, as browsers and httpx send them (aiohttp would percent-encode a Hangul file name)
    form = aiohttp.FormData(request_data.json_parameters, quote_fields=False)
    for name, (filename, content, mime_type) in files.items():
        form.add_field(name, content, filename=filename, content_type=mime_type)
    return form


def _sum(*timeouts: float | None) -> float | None:
    """The sum of timeouts, or None (no limit) if any is None."""
    return None if any(t is None for t in timeouts) else sum(t for t in timeouts if t is not None)


@contextlib.contextmanager
def _translated_errors() -> Iterator[None]:
    """aiohttp's and asyncio's failures as PTB's: `TimedOut` for a timeout, `NetworkError` for the rest.
    The message names the failure's class and never the URL (it holds the bot's token)."""
    try:
        yield
    except TimeoutError as err:
        raise TimedOut from err
    except aiohttp.ClientError as err:
        raise NetworkError(f"aiohttp.{type(err).__name__}: {_without_url(err)}") from err


def _without_url(err: aiohttp.ClientError) -> str:
    """What went wrong, for a connection failure its host and OS error; never a request URL."""
    if isinstance(err, aiohttp.ClientConnectorError):
        return f"cannot connect to {err.host}:{err.port} ({err.os_error.strerror or err.os_error})"
    if isinstance(err, aiohttp.InvalidURL | aiohttp.ClientResponseError):
        return "the request failed"
    return str(err) if "/bot" not in str(err) else "the request failed"
