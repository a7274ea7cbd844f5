"""Fault injection: HTTP errors, 429s, delays and dropped connections for the next calls.

A part of `FakeBotAPI` (tests.botapi.server): its state lives in `FakeBotAPI.__init__`."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import web

from tests.botapi.model import ApiError, Fault, JSONDict

HOLD_MOST_SECONDS = 120.0  # a hold nobody releases ends by itself: a failed test never hangs the bot


@dataclass
class Hold:
    """The answer to one call, done but held back: Telegram has done what was asked (a message sent is
    there for users to reply to) while the bot still waits for the answer. A test window made certain."""

    predicate: Callable[[JSONDict], bool]
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    result: Any = None

    def wait_reached(self, timeout: float = 60.0) -> Any:
        """Block until the call was made and done; returns its result (e.g. the Message sent)."""
        if not self.reached.wait(timeout):
            raise TimeoutError(f"the held call was not made within {timeout}s")
        return self.result

    def release(self) -> None:
        """Let the held answer go to the bot."""
        self.released.set()


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

    def hold(self, method: str, predicate: Callable[[JSONDict], bool] | None = None) -> Hold:
        """Hold back the answer to the next call of `method` whose parameters match `predicate`: the call
        is done at once, its answer reaches the bot only at `Hold.release()` (or after HOLD_MOST_SECONDS)."""
        held = Hold(predicate or (lambda params: True))
        self._call_in_loop(self._holds.setdefault(method.lower(), []).append, held)
        return held

    async def _hold_answer(self, key: str, params: JSONDict, result: Any) -> None:
        """Wait here while a hold taken for this call is not released."""
        # a hold released before its call came is spent: it holds nothing later
        self._holds[key] = [h for h in self._holds.get(key, []) if not h.released.is_set()]
        held = next((h for h in self._holds[key] if h.predicate(params)), None)
        if held is None:
            return
        self._holds[key].remove(held)
        held.result = result
        held.reached.set()
        deadline = asyncio.get_running_loop().time() + HOLD_MOST_SECONDS
        while (
            not held.released.is_set() and asyncio.get_running_loop().time() < deadline and not self._closing
        ):
            await asyncio.sleep(0.02)
