"""Fault injection: HTTP errors, 429s, delays and dropped connections for the next calls.

A part of `FakeBotAPI` (tests.botapi.server): its state lives in `FakeBotAPI.__init__`."""

from __future__ import annotations

import asyncio
from http import HTTPStatus

from aiohttp import web

from tests.botapi.model import ApiError, Fault


class FaultsMixin:
    """Fault injection: HTTP errors, 429s, delays and dropped connections for the next calls."""

    def inject(
        self,
        method: str,
        *,
        status: int | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        drop: bool = False,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` ("download" for file downloads) fail.

        They answer `status` (429 carries ``parameters.retry_after``), or wait `delay` seconds first,
        or lose their connection without an answer (`drop`). With none given, status 500.
        """
        if status is None and not drop and delay <= 0:
            status = 500
        if status is not None and not 400 <= status <= 599:
            raise ValueError(f"an injected status must be an HTTP error, got {status}")
        if status == HTTPStatus.TOO_MANY_REQUESTS and retry_after is None:
            retry_after = 1
        fault = Fault(status=status, retry_after=retry_after, delay=delay, drop=drop, remaining=times)
        self._call_in_loop(self._add_fault, method.lower(), fault)

    def clear_faults(self) -> None:
        self._call_in_loop(self._faults.clear)

    def _add_fault(self, key: str, fault: Fault) -> None:
        self._faults.setdefault(key, []).append(fault)

    def _take_fault(self, key: str) -> Fault | None:
        queue = self._faults.get(key)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.pop(0)
        return fault

    async def _apply_fault(self, request: web.Request, fault: Fault) -> web.StreamResponse | None:
        if fault.delay > 0:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            if request.transport is not None:
                request.transport.close()
            return web.Response()
        if fault.status is not None:
            return ApiError(fault.status, retry_after=fault.retry_after).to_response()
        return None
