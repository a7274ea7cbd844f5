"""Inline keyboards and inline mode: callback_query and inline_query updates, their answers, and the
results a user picks from the chat picker.

A part of `FakeBotAPI` (tests.botapi.server): its state lives in `FakeBotAPI.__init__`."""

from __future__ import annotations

import re
import secrets
import time

from tests.botapi.model import CALLBACK_TEXT_LIMIT, CAPTION_LIMIT, Chat, JSONDict, User, _bad_request
from tests.botapi.wire import Call

INLINE_RESULTS_LIMIT = 50
INLINE_DEFAULT_CACHE_SECONDS = 300  # Telegram's, when answerInlineQuery gives no cache_time
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")
_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


class InlineMixin:
    """Inline keyboards' callbacks and inline mode (switched on with BotFather's /setinline)."""

    # ---- callback queries

    def press_button(self, user: User, message: JSONDict, data: str) -> str:
        """The user presses an inline button of the bot's `message`; returns the callback query id."""
        return self._call_in_loop(self._post_callback_query, user, message, data)

    def _post_callback_query(self, user: User, message: JSONDict, data: str) -> str:
        self._remember_user(user)
        chat_id = message["chat"]["id"]
        current = self._messages.get((chat_id, message["message_id"]), message)
        query_id = str(secrets.randbits(62))
        query = {
            "id": query_id,
            "from": user.to_dict(),
            "message": current,
            "chat_instance": str(abs(chat_id) * 7919 + self.bot_id),
            "data": data,
        }
        self._callback_ids.add(query_id)
        self._push_update("callback_query", query)
        return query_id

    def _answer_callback_query(self, call: Call) -> bool:
        query_id = call.text("callback_query_id") or ""
        if query_id not in self._callback_ids:
            raise _bad_request(QUERY_TOO_OLD)
        if len(call.text("text") or "") > CALLBACK_TEXT_LIMIT:
            raise _bad_request("MESSAGE_TOO_LONG")
        self._callback_ids.discard(query_id)
        return True

    # ---- inline queries

    def send_inline_query(self, user: User, query: str = "", chat_type: str = "sender") -> str:
        """The user types "@bot `query`" (in the chat picker a Share button opened): an inline_query
        update; returns its id. Raises if inline mode is off (Telegram would not offer the bot)."""
        return self._call_in_loop(self._post_inline_query, user, query, chat_type)

    def ask_inline(
        self, user: User, query: str = "", chat_type: str = "sender", timeout: float = 60
    ) -> JSONDict:
        """What the user sees for "@bot `query`": Telegram's cached answer when one applies (the bot then
        never hears of the query), else the bot's answerInlineQuery to a new inline_query update.

        Returns the answer's parameters (`results`, `button`, `is_personal`, `cache_time`) and `cached`."""
        cached = self.cached_inline_answer(user, query)
        if cached is not None:
            return {**cached, "cached": True}
        query_id = self.send_inline_query(user, query, chat_type)
        answer = self.wait_for_request_sync(
            "answerInlineQuery",
            lambda r: str(r["params"].get("inline_query_id")) == query_id,
            timeout=timeout,
        )[0]
        return {**self._inline_answers[query_id], "cached": False} if answer["fault"] is None else answer

    def cached_inline_answer(self, user: User, query: str = "") -> JSONDict | None:
        """The answer Telegram would show `user` for `query` from its cache, without asking the bot."""
        return self._call_in_loop(self._cached_inline_answer, user, query)

    def inline_answer(self, query_id: str) -> JSONDict | None:
        """The bot's answerInlineQuery to one inline query (None while unanswered)."""
        return self._inline_answers.get(query_id)

    def choose_inline_result(self, user: User, answer: JSONDict, result_id: str, chat: Chat) -> JSONDict:
        """The user picks result `result_id` of `answer` (from `ask_inline`) and sends it into `chat`:
        the message everyone there sees, ``via_bot`` this bot."""
        return self._call_in_loop(self._post_chosen_result, user, answer, result_id, chat)

    def _post_inline_query(self, user: User, query: str, chat_type: str) -> str:
        if not self.inline_mode:
            raise RuntimeError("inline mode is off for this bot (BotFather /setinline): no inline queries")
        self._remember_user(user)
        query_id = str(secrets.randbits(62))
        self._inline_queries[query_id] = (user.id, query, time.monotonic())
        payload = {
            "id": query_id,
            "from": user.to_dict(),
            "query": query,
            "offset": "",
            "chat_type": chat_type,
        }
        self._push_update("inline_query", payload)
        return query_id

    def _cached_inline_answer(self, user: User, query: str) -> JSONDict | None:
        now = time.monotonic()
        for key in (("personal", user.id, query), ("everyone", None, query)):
            entry = self._inline_cache.get(key)
            if entry is not None and entry[0] > now:
                return entry[1]
        return None

    def _answer_inline_query(self, call: Call) -> bool:
        query_id = call.text("inline_query_id") or ""
        asked = self._inline_queries.get(query_id)  # a refused answer leaves the query open
        if asked is None:
            raise _bad_request(QUERY_TOO_OLD)
        results = call.obj("results")
        if not isinstance(results, list):
            raise _bad_request("can't parse inline query results JSON object")
        if len(results) > INLINE_RESULTS_LIMIT:
            raise _bad_request("RESULTS_TOO_MUCH")
        ids = [self._checked_result(result) for result in results]
        if len(set(ids)) != len(ids):
            raise _bad_request("RESULT_ID_DUPLICATE")
        button = call.obj("button")
        if button is not None:
            _check_results_button(button)
        cache_time = call.integer("cache_time", INLINE_DEFAULT_CACHE_SECONDS) or 0
        answer = {
            "results": results,
            "button": button,
            "is_personal": call.flag("is_personal"),
            "cache_time": cache_time,
        }
        del self._inline_queries[query_id]
        self._inline_answers[query_id] = answer
        user_id, query, _ = asked
        key = ("personal", user_id, query) if answer["is_personal"] else ("everyone", None, query)
        self._inline_cache[key] = (time.monotonic() + cache_time, answer)
        return True

    def _checked_result(self, result: object) -> str:
        """The id of one InlineQueryResult, checked as Telegram does for the kinds the stand-in knows."""
        if not isinstance(result, dict) or not isinstance(result.get("id"), str):
            raise _bad_request("RESULT_ID_INVALID")
        if not 1 <= len(result["id"].encode()) <= 64:
            raise _bad_request("RESULT_ID_INVALID")
        if result.get("type") != "photo" or "photo_file_id" not in result:
            raise _bad_request(f"result type {result.get('type')!r} is not supported by the stand-in server")
        if result["photo_file_id"] not in self._photo_sets:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        if len(result.get("caption") or "") > CAPTION_LIMIT:
            raise _bad_request("message caption is too long")
        return result["id"]

    def _post_chosen_result(self, user: User, answer: JSONDict, result_id: str, chat: Chat) -> JSONDict:
        result = next((r for r in answer["results"] if r["id"] == result_id), None)
        if result is None:
            raise ValueError(f"no result {result_id!r} in that answer")
        self._register_sender(user, chat)
        sizes = [dict(size) for size in self._photo_sets[result["photo_file_id"]]]
        content: JSONDict = {"photo": sizes, "via_bot": self.bot_user}
        if result.get("caption"):
            content["caption"] = result["caption"]
        return self._store_message(chat, user.to_dict(), content)


def _check_results_button(button: object) -> None:
    """An InlineQueryResultsButton: a text and exactly one of start_parameter and web_app."""
    if not isinstance(button, dict) or not button.get("text"):
        raise _bad_request("BUTTON_TEXT_INVALID")
    if ("start_parameter" in button) == ("web_app" in button):
        raise _bad_request("BUTTON_TYPE_INVALID")
    if "start_parameter" in button and not _START_PARAMETER.fullmatch(str(button["start_parameter"])):
        raise _bad_request("START_PARAM_INVALID")


def check_keyboard_buttons(markup: JSONDict) -> None:
    """Every button of an inline keyboard has a text and exactly one action (Telegram: BUTTON_TYPE_INVALID)."""
    for row in markup.get("inline_keyboard") or []:
        if not isinstance(row, list):
            raise _bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise _bad_request("BUTTON_TEXT_INVALID")
            if len(_BUTTON_ACTIONS & button.keys()) != 1:
                raise _bad_request("BUTTON_TYPE_INVALID")
