"""Waiting for what the bot sends or calls, from the server's loop or another thread.

A part of `FakeBotAPI` (tests.botapi.server): its state lives in `FakeBotAPI.__init__`."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from tests.botapi.model import Chat, JSONDict, Predicate, User
from tests.botapi.wire import _chat_id_of, _summarize


class WaitingMixin:
    """Waiting for what the bot sends or calls, from the server's loop or another thread."""

    async def wait_for_sent(
        self,
        predicate: Predicate | None = None,
        chat_id: int | User | Chat | None = None,
        count: int = 1,
        timeout: float = 30.0,
        start: int = 0,
    ) -> list[JSONDict]:
        """Wait until at least `count` entries of ``sent[start:]`` match; return all that match."""
        check = self._sent_check(predicate, _chat_id_of(chat_id), count, start)
        found = await self._wait(check, timeout)
        if found is None:
            raise TimeoutError(self._sent_timeout_message(count, timeout))
        return found

    def wait_for_sent_sync(
        self,
        predicate: Predicate | None = None,
        chat_id: int | User | Chat | None = None,
        count: int = 1,
        timeout: float = 30.0,
        start: int = 0,
    ) -> list[JSONDict]:
        """Blocking `wait_for_sent` for threads other than the server's (thread mode)."""
        check = self._sent_check(predicate, _chat_id_of(chat_id), count, start)
        found = self._wait_sync(check, timeout)
        if found is None:
            raise TimeoutError(self._sent_timeout_message(count, timeout))
        return found

    async def wait_for_request(
        self, method: str, predicate: Predicate | None = None, count: int = 1, timeout: float = 30.0
    ) -> list[JSONDict]:
        """Wait until at least `count` calls of `method` (matching `predicate`) were made."""
        found = await self._wait(self._request_check(method, predicate, count), timeout)
        if found is None:
            raise TimeoutError(f"expected {count} {method} request(s) within {timeout}s")
        return found

    def wait_for_request_sync(
        self, method: str, predicate: Predicate | None = None, count: int = 1, timeout: float = 30.0
    ) -> list[JSONDict]:
        found = self._wait_sync(self._request_check(method, predicate, count), timeout)
        if found is None:
            raise TimeoutError(f"expected {count} {method} request(s) within {timeout}s")
        return found

    def _sent_check(
        self, predicate: Predicate | None, chat_id: int | None, count: int, start: int
    ) -> Callable[[], list[JSONDict] | None]:
        def check() -> list[JSONDict] | None:
            found = [
                entry
                for entry in self.sent[start:]
                if (chat_id is None or entry["chat_id"] == chat_id)
                and (predicate is None or predicate(entry))
            ]
            return found if len(found) >= count else None

        return check

    def _request_check(
        self, method: str, predicate: Predicate | None, count: int
    ) -> Callable[[], list[JSONDict] | None]:
        def check() -> list[JSONDict] | None:
            found = [entry for entry in self.calls(method) if predicate is None or predicate(entry)]
            return found if len(found) >= count else None

        return check

    def _sent_timeout_message(self, count: int, timeout: float) -> str:
        return f"expected {count} matching sent message(s) within {timeout}s; sent so far:\n{_summarize(self.sent)}"

    async def _wait(
        self, check: Callable[[], list[JSONDict] | None], timeout: float
    ) -> list[JSONDict] | None:
        loop = self._loop
        if loop is None or self._activity is None:
            return check()
        if loop is not asyncio.get_running_loop():
            return await asyncio.to_thread(self._wait_sync, check, timeout)
        deadline = loop.time() + timeout
        while (found := check()) is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await self._activity.wait(remaining)
        return found

    def _wait_sync(self, check: Callable[[], list[JSONDict] | None], timeout: float) -> list[JSONDict] | None:
        if self._loop is not None and threading.get_ident() == self._loop_thread:
            raise RuntimeError("a sync wait would block the server's own loop; await wait_for_sent()")
        results: list[list[JSONDict]] = []

        def ready() -> bool:
            found = check()
            if found is not None:
                results.append(found)
            return found is not None

        with self._cond:
            self._cond.wait_for(ready, timeout)
        return results[-1] if results else None
