"""Chats, members, command lists and the bot's own texts (names, descriptions).

A part of `FakeBotAPI` (tests.botapi.server): its state lives in `FakeBotAPI.__init__`."""

from __future__ import annotations

from collections.abc import Iterable

from tests.botapi.model import ADMIN_RIGHTS, Chat, JSONDict, User, _bad_request
from tests.botapi.wire import Call, Handler, _check_command, _scope_key


class ChatsMixin:
    """Chats, members, command lists and the bot's own texts (names, descriptions)."""

    def add_chat(self, chat: Chat | User) -> Chat:
        """Make a chat known, as if the user had started the bot (or the bot was added to the group)."""
        resolved = chat.private_chat if isinstance(chat, User) else chat
        if isinstance(chat, User):
            self._call_in_loop(self._remember_user, chat)
        self._call_in_loop(self._chats.__setitem__, resolved.id, resolved)
        return resolved

    def block(self, user: User) -> None:
        """The user blocks the bot: sending to them answers 403."""
        self._call_in_loop(self._blocked.add, user.id)

    def unblock(self, user: User) -> None:
        self._call_in_loop(self._blocked.discard, user.id)

    def set_chat_admins(self, chat_id: int, user_ids: Iterable[int], owner: int | None = None) -> None:
        """Who getChatAdministrators/getChatMember report as admins (include `bot_id` to make the bot one).

        The group itself becomes known to the bot once a user posts there (or via `add_chat`).
        """
        self._call_in_loop(self._set_admins, chat_id, list(user_ids), owner)

    def _set_admins(self, chat_id: int, user_ids: list[int], owner: int | None) -> None:
        self._admins[chat_id] = user_ids
        if owner is not None:
            self._owners[chat_id] = owner
        for user_id in [*user_ids, *([owner] if owner is not None else [])]:
            if user_id != self.bot_id:
                self._users.setdefault(
                    user_id, {"id": user_id, "is_bot": False, "first_name": f"User {user_id}"}
                )
            self._members.setdefault(chat_id, set()).add(user_id)

    def _remember_user(self, user: User) -> None:
        self._users[user.id] = user.to_dict()

    def _register_sender(self, user: User, chat: Chat) -> None:
        if chat.is_private and chat.id != user.id:
            raise ValueError("a user's private chat with the bot has the user's id")
        self._remember_user(user)
        self._chats[chat.id] = chat
        self._members.setdefault(chat.id, set()).add(user.id)

    def _set_my_commands(self, call: Call) -> bool:
        commands = call.obj("commands")
        if not isinstance(commands, list):
            raise _bad_request("commands is empty")
        for command in commands:
            _check_command(command)
        key = (_scope_key(call.obj("scope")), call.text("language_code") or "")
        self._commands[key] = [{"command": c["command"], "description": c["description"]} for c in commands]
        return True

    def _get_my_commands(self, call: Call) -> list[JSONDict]:
        return list(self._commands.get((_scope_key(call.obj("scope")), call.text("language_code") or ""), []))

    def _delete_my_commands(self, call: Call) -> bool:
        self._commands.pop((_scope_key(call.obj("scope")), call.text("language_code") or ""), None)
        return True

    def _bot_text_handlers(self) -> dict[str, Handler]:
        """set/getMyDescription, set/getMyShortDescription, set/getMyName."""
        handlers: dict[str, Handler] = {}
        for suffix, field, limit in (
            ("Description", "description", 512),
            ("ShortDescription", "short_description", 120),
            ("Name", "name", 64),
        ):
            handlers[f"setMy{suffix}"] = self._bot_text_setter(field, limit)
            handlers[f"getMy{suffix}"] = self._bot_text_getter(field)
        return handlers

    def _bot_text_setter(self, field: str, limit: int) -> Handler:
        def handler(call: Call) -> bool:
            value = call.text(field) or ""
            if len(value) > limit:
                raise _bad_request(f"{field} is too long")
            self._bot_texts[(field, call.text("language_code") or "")] = value
            return True

        return handler

    def _bot_text_getter(self, field: str) -> Handler:
        def handler(call: Call) -> JSONDict:
            return {field: self._bot_texts.get((field, call.text("language_code") or ""), "")}

        return handler

    def _get_chat(self, call: Call) -> JSONDict:
        chat = self._known_chat(call)
        gifts = dict.fromkeys(
            (
                "unlimited_gifts",
                "limited_gifts",
                "unique_gifts",
                "premium_subscription",
                "gifts_from_channels",
            ),
            False,
        )
        return {
            **chat.to_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    def _get_chat_member(self, call: Call) -> JSONDict:
        chat = self._known_chat(call)
        user_id = call.integer("user_id")
        if user_id is None:
            raise _bad_request("invalid user_id specified")
        return self._member(chat, user_id)

    def _get_chat_administrators(self, call: Call) -> list[JSONDict]:
        chat = self._known_chat(call)
        if chat.is_private:
            raise _bad_request("there are no administrators in the private chat")
        owner = self._owners.get(chat.id)
        user_ids = ([owner] if owner is not None else []) + [
            user_id for user_id in self._admins.get(chat.id, []) if user_id != owner
        ]
        return [self._member(chat, user_id) for user_id in user_ids]

    def _get_chat_member_count(self, call: Call) -> int:
        chat = self._known_chat(call)
        return len(self._members.get(chat.id, set()) | {self.bot_id})

    def _member(self, chat: Chat, user_id: int) -> JSONDict:
        user = self.bot_user if user_id == self.bot_id else self._users.get(user_id)
        if user is None:
            raise _bad_request("user not found")
        if self._owners.get(chat.id) == user_id:
            return {"status": "creator", "user": user, "is_anonymous": False}
        if user_id in self._admins.get(chat.id, []):
            return {"status": "administrator", "user": user, **ADMIN_RIGHTS}
        in_chat = user_id in self._members.get(chat.id, set()) or user_id == self.bot_id
        return {"status": "member" if in_chat else "left", "user": user}
