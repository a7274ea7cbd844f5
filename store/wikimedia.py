"""A polite HTTP client for Wikidata's and Commons' Action API, the Wikidata Query Service, and Commons files.

Follows Wikimedia's rules for API clients:
- a descriptive User-Agent with a contact (https://meta.wikimedia.org/wiki/User-Agent_policy);
- at most `MAX_CONNECTIONS` requests at once, `maxlag=5` on every Action API call, and on a maxlag error,
  a 429 or a 5xx answer a retry after `Retry-After` (else an exponential backoff)
  (https://www.mediawiki.org/wiki/Manual:Maxlag_parameter, https://www.mediawiki.org/wiki/API:Etiquette);
- timeouts on every request; nothing cached here (the gallery itself is the record of what was done).

Below `store/`: no Telegram. The caller chooses the endpoints (the public ones by default).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

T = TypeVar("T")

WIKIDATA_API = "https://www.wikidata.org/w/api.php"
WIKIDATA_SPARQL = "https://query.wikidata.org/sparql"
COMMONS_API = "https://commons.wikimedia.org/w/api.php"
# Wikimedia's User-Agent policy asks for a way to reach whoever runs the client: the operator's own contact
# (WIKIMEDIA_CONTACT), never one made up here. Mirrors and test stand-ins need none.
PUBLIC_DOMAINS = ("wikidata.org", "wikimedia.org", "wikipedia.org")
NO_CONTACT = "no contact given: not for the public Wikimedia endpoints"
MAX_CONNECTIONS = 4  # Wikimedia asks API clients not to run many requests in parallel
MAXLAG = 5  # seconds: the value the maxlag manual recommends for bots
MAX_DOWNLOAD = 20 * 1024 * 1024  # a thumbnail is ~100-300 KB; anything this big is not one
BATCH = 50  # ids or titles per wbgetentities / imageinfo request: the API's limit for non-bots


def user_agent(contact: str) -> str:
    """The User-Agent for a run operated by `contact` (a URL or an e-mail address)."""
    return (
        f"lookalike-gallery/0.1 ({contact}; builds a face gallery from freely licensed Commons photos) "
        f"httpx/{httpx.__version__}"
    )


@dataclass(frozen=True)
class Endpoints:
    """Where the three services are: the public endpoints unless a test or a mirror says otherwise."""

    wikidata_api: str = WIKIDATA_API
    sparql: str = WIKIDATA_SPARQL
    commons_api: str = COMMONS_API

    @property
    def public(self) -> bool:
        """Whether any of them is one of Wikimedia's own servers (which ask for a contact)."""
        hosts = (urlsplit(url).hostname or "" for url in (self.wikidata_api, self.sparql, self.commons_api))
        return any(host == d or host.endswith("." + d) for host in hosts for d in PUBLIC_DOMAINS)


class WikimediaError(Exception):
    """A service stayed unreachable or kept failing after the retries, or answered with an error."""


class NoContact(ValueError):
    """The public endpoints were asked for without a contact for the User-Agent (a setting to fix)."""


class HttpRefused(WikimediaError):
    """A 4xx answer (other than 429) to one request: that request is wrong or gone; retrying won't help."""

    def __init__(self, url: str, status: int) -> None:
        super().__init__(f"{url}: HTTP {status}")
        self.status = status


class _Retry(Exception):
    """A failure worth retrying (429, 5xx, maxlag), with the server's `Retry-After` if it gave one."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # absent, or an HTTP date: fall back to the backoff


class Wikimedia:
    """Use as `async with Wikimedia(...) as client:`; `api`, `sparql` and `download` are safe to run at once."""

    def __init__(
        self,
        endpoints: Endpoints = Endpoints(),
        user_agent: str = user_agent(NO_CONTACT),
        *,
        timeout: float = 30.0,
        attempts: int = 6,
        backoff: float = 2.0,
        max_wait: float = 120.0,
    ) -> None:
        self.endpoints = endpoints
        self.attempts = attempts
        self.backoff = backoff
        self.max_wait = max_wait
        self.requests = 0  # sent, retries included (for the summary)
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self._http = httpx.AsyncClient(
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS),
            follow_redirects=True,
        )

    async def __aenter__(self) -> Wikimedia:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def api(self, url: str, params: dict[str, Any]) -> dict[str, Any]:
        """One Action API GET (JSON, formatversion 2, maxlag); the decoded answer. API errors raise."""
        query = {"format": "json", "formatversion": "2", "maxlag": str(MAXLAG), **params}

        async def once() -> dict[str, Any]:
            response = await self._send("GET", url, params=query)
            body = _json(response, url)
            error = body.get("error") if isinstance(body, dict) else None
            if isinstance(error, dict):
                if error.get("code") == "maxlag":
                    raise _Retry(f"{url}: {error.get('info', 'maxlag')}", _retry_after(response) or MAXLAG)
                raise WikimediaError(f"{url}: {error.get('code')}: {error.get('info', '')}")
            return body

        return await self._retrying(once)

    async def sparql(self, query: str) -> tuple[list[str], list[dict[str, Any]]]:
        """(variables, bindings) of a SPARQL SELECT run by the query service (SPARQL 1.1 JSON results,
        https://www.w3.org/TR/sparql11-results-json/)."""

        async def once() -> tuple[list[str], list[dict[str, Any]]]:
            response = await self._send(
                "POST",
                self.endpoints.sparql,
                data={"query": query},
                headers={"Accept": "application/sparql-results+json"},
            )
            body = _json(response, self.endpoints.sparql)
            try:
                return list(body["head"]["vars"]), list(body["results"]["bindings"])
            except (KeyError, TypeError):
                raise WikimediaError("the query service's answer has no results") from None

        return await self._retrying(once)

    async def download(self, url: str, max_bytes: int = MAX_DOWNLOAD) -> bytes:
        """A file's bytes; a body cut short (fewer bytes than announced) is retried like a network fault."""

        async def once() -> bytes:
            async with self._slots:
                self.requests += 1
                async with self._http.stream("GET", url) as response:
                    _check_status(response, url)
                    chunks, size = [], 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise WikimediaError(f"{url}: larger than {max_bytes} bytes")
                        chunks.append(chunk)
                    received = response.num_bytes_downloaded
            expected = response.headers.get("Content-Length", "")
            if expected.isdigit() and int(expected) != received:
                raise _Retry(f"{url}: {received} of {expected} bytes", None)
            return b"".join(chunks)

        return await self._retrying(once)

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async with self._slots:
            self.requests += 1
            response = await self._http.request(method, url, **kwargs)
        _check_status(response, url)
        return response

    async def _retrying(self, once: Callable[[], Awaitable[T]]) -> T:
        """Run `once` until it succeeds; retryable failures wait `Retry-After` or a growing backoff."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type((_Retry, httpx.TransportError)),
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await once()
        except _Retry as exc:
            raise WikimediaError(f"{exc} (gave up after {self.attempts} attempts)") from None
        except httpx.TransportError as exc:
            reason = type(exc).__name__
            raise WikimediaError(f"unreachable: {reason} (gave up after {self.attempts} attempts)") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        """Seconds before the next attempt: the server's `Retry-After`, else backoff·2^n with jitter."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retry) and exc.retry_after is not None:
            return min(self.max_wait, exc.retry_after)
        delay = self.backoff * 2 ** (state.attempt_number - 1)
        return min(self.max_wait, delay * random.uniform(0.75, 1.25))


def _check_status(response: httpx.Response, url: str) -> None:
    status = response.status_code
    if status == 429 or status >= 500:
        raise _Retry(f"{url}: HTTP {status}", _retry_after(response))
    if status >= 400:
        raise HttpRefused(url, status)


def _json(response: httpx.Response, url: str) -> Any:
    with contextlib.suppress(ValueError):
        return response.json()
    # A proxy's HTML error page with a 200 status: treat like a server error.
    raise _Retry(f"{url}: the answer is not JSON", _retry_after(response))
