"""getMe, getUpdates (long polling) and webhooks.

A part of `FakeBotAPI` (tests.botapi.server): its state lives in `FakeBotAPI.__init__`."""

from __future__ import annotations

import asyncio

from tests.botapi.model import ApiError, JSONDict, _bad_request
from tests.botapi.wire import Call


class UpdatesMixin:
    """getMe, getUpdates (long polling) and webhooks."""

    def _get_me(self, call: Call) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": self.inline_mode,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, call: Call) -> list[JSONDict]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            )
        offset = call.integer("offset", 0) or 0
        limit = min(max(call.integer("limit", 100) or 100, 1), 100)
        timeout = max(call.number("timeout", 0.0), 0.0)
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        assert self._update_signal is not None
        self._update_signal.fire()  # an older long poll sees the new generation and ends with 409
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            batch = [update for update in self._updates if update["update_id"] >= offset][:limit]
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closing:
                return batch
            await self._update_signal.wait(remaining)

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [update for update in self._updates if update["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _delete_webhook(self, call: Call) -> bool:
        if call.flag("drop_pending_updates"):
            self._updates.clear()
        self._webhook = None
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            self._webhook_task = None
        return True

    def _get_webhook_info(self, call: Call) -> JSONDict:
        url = self._webhook[0] if self._webhook else ""
        return {"url": url, "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    def _set_webhook(self, call: Call) -> bool:
        url = call.text("url") or ""
        if not url:
            return self._delete_webhook(call)
        if not url.startswith(("http://", "https://")):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if call.flag("drop_pending_updates"):
            self._updates.clear()
        self._webhook = (url, call.text("secret_token"))
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._deliver_to_webhook())
        return True

    async def _deliver_to_webhook(self) -> None:
        """POST pending updates to the webhook one at a time; an update is confirmed by a 2xx answer."""
        import aiohttp

        assert self._update_signal is not None
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            while self._webhook is not None and not self._closing:
                if not self._updates:
                    await self._update_signal.wait(1.0)
                    continue
                url, secret = self._webhook
                update = self._updates[0]
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                try:
                    async with session.post(url, json=update, headers=headers) as answer:
                        delivered = 200 <= answer.status < 300
                except (aiohttp.ClientError, TimeoutError):
                    delivered = False
                if delivered:
                    self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
                else:
                    await asyncio.sleep(0.5)
