"""Text as Telegram treats it: UTF-16 lengths, command and mention entities, parse modes, captions."""

from __future__ import annotations

import html
import re

from tests.botapi.model import CAPTION_LIMIT, TEXT_LIMIT, ApiError, JSONDict, _bad_request
from tests.botapi.wire import Call

# --------------------------------------------------------------------------------------------------
# Text: entities and parse modes


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets and limits."""
    return len(text.encode("utf-16-le")) // 2


def _utf16_slice(text: str, offset: int, length: int) -> str:
    encoded = text.encode("utf-16-le")
    return encoded[2 * offset : 2 * (offset + length)].decode("utf-16-le")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode())


_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@/])")
_MENTION_RE = re.compile(r"(?<![A-Za-z0-9_@/])@[A-Za-z0-9_]{5,32}(?![A-Za-z0-9_@])")


def find_entities(text: str) -> list[JSONDict]:
    """``bot_command`` and ``mention`` entities as Telegram marks them in a user's text."""
    found = [_entity("bot_command", text, m) for m in _COMMAND_RE.finditer(text)]
    found += [_entity("mention", text, m) for m in _MENTION_RE.finditer(text)]
    return sorted(found, key=lambda entity: entity["offset"])


def _entity(kind: str, text: str, match: re.Match[str]) -> JSONDict:
    return {
        "offset": utf16_len(text[: match.start()]),
        "length": utf16_len(match.group()),
        "type": kind,
    }


def render_markup(text: str, parse_mode: str | None) -> str:
    """The plain text Telegram keeps after parsing `text` with `parse_mode` (raises ApiError 400)."""
    mode = (parse_mode or "").lower()
    if not mode:
        return text
    renderers = {"html": _render_html, "markdownv2": _render_markdown_v2, "markdown": _render_markdown}
    if mode not in renderers:
        raise _bad_request("unsupported parse_mode")
    return renderers[mode](text)


def _entities_error(detail: str) -> ApiError:
    return _bad_request(f"can't parse entities: {detail}")


_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "blockquote",
    }
)
_HTML_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)>")


def _render_html(text: str) -> str:
    pieces: list[str] = []
    stack: list[str] = []
    position = 0
    while (start := text.find("<", position)) != -1:
        pieces.append(text[position:start])
        match = _HTML_TAG_RE.match(text, start)
        offset = _byte_offset(text, start)
        name = match.group(2).lower() if match else ""
        if match is None or name not in _HTML_TAGS:
            raise _entities_error(f'Unsupported start tag "{name}" at byte offset {offset}')
        if match.group(1):
            _close_html_tag(stack, name, offset)
        else:
            stack.append(name)
        position = match.end()
    pieces.append(text[position:])
    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return html.unescape("".join(pieces))


def _close_html_tag(stack: list[str], name: str, offset: int) -> None:
    if not stack:
        raise _entities_error(f'Unexpected end tag at byte offset {offset}, found "</{name}>"')
    if stack[-1] != name:
        raise _entities_error(
            f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>", found "</{name}>"'
        )
    stack.pop()


_MDV2_MARKERS = ("||", "__", "*", "_", "~")
_MDV2_NAMES = {"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough", "||": "Spoiler"}
_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")


def _render_markdown_v2(text: str) -> str:
    out: list[str] = []
    open_markers: dict[str, int] = {}
    link_start: int | None = None
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
        elif char == "`":
            i = _markdown_code(text, i, out, escapes=True)
        elif marker := next((m for m in _MDV2_MARKERS if text.startswith(m, i)), None):
            _toggle_marker(open_markers, marker, _byte_offset(text, i))
            i += len(marker)
        elif char == "[" and link_start is None:
            link_start = _byte_offset(text, i)
            i += 1
        elif char == "]" and link_start is not None and text.startswith("(", i + 1):
            i = _skip_link_url(text, i + 2)
            link_start = None
        elif char == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1  # blockquote marker
        elif char in _MDV2_RESERVED or char == "\\":
            raise _entities_error(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        else:
            out.append(char)
            i += 1
    _check_markdown_v2_closed(open_markers, link_start)
    return "".join(out)


def _toggle_marker(open_markers: dict[str, int], marker: str, offset: int) -> None:
    if marker in open_markers:
        del open_markers[marker]
    else:
        open_markers[marker] = offset


def _check_markdown_v2_closed(open_markers: dict[str, int], link_start: int | None) -> None:
    if open_markers:
        marker, offset = min(open_markers.items(), key=lambda item: item[1])
        raise _entities_error(f"Can't find end of {_MDV2_NAMES[marker]} entity at byte offset {offset}")
    if link_start is not None:
        raise _entities_error(f"Can't find end of TextUrl entity at byte offset {link_start}")


def _skip_link_url(text: str, start: int) -> int:
    """Index just past the ')' closing a MarkdownV2 link URL that starts at `start`."""
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == ")":
            return i + 1
        else:
            i += 1
    raise _entities_error(f"Can't find end of TextUrl entity at byte offset {_byte_offset(text, start)}")


def _markdown_code(text: str, start: int, out: list[str], *, escapes: bool) -> int:
    """Append a `code` or ```pre``` span's content to `out`; return the index after it."""
    fence = "```" if text.startswith("```", start) else "`"
    i = start + len(fence)
    while i < len(text) and not text.startswith(fence, i):
        i += 2 if escapes and text[i] == "\\" else 1
    if i >= len(text):
        kind = "Pre" if fence == "```" else "Code"
        offset = _byte_offset(text, start)
        detail = f"Can't find end of {kind} entity at byte offset {offset}"
        raise _entities_error(
            detail if escapes else f"Can't find end of the entity starting at byte offset {offset}"
        )
    body = text[start + len(fence) : i]
    if fence == "```" and "\n" in body and " " not in body.split("\n", 1)[0]:
        body = body.split("\n", 1)[1]  # drop the language name
    out.append(re.sub(r"\\(.)", r"\1", body, flags=re.S) if escapes else body)
    return i + len(fence)


def _render_markdown(text: str) -> str:
    """Telegram's legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and text[i + 1 : i + 2] in ("_", "*", "`", "["):
            out.append(text[i + 1])
            i += 2
        elif char == "`":
            i = _markdown_code(text, i, out, escapes=False)
        elif char in "*_":
            close = text.find(char, i + 1)
            if close == -1:
                offset = _byte_offset(text, i)
                raise _entities_error(f"Can't find end of the entity starting at byte offset {offset}")
            out.append(text[i + 1 : close])
            i = close + 1
        elif char == "[" and (link := re.compile(r"\[([^\]]*)\]\(([^)]*)\)").match(text, i)):
            out.append(link.group(1))
            i = link.end()
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _message_text(raw: str, parse_mode: str | None) -> str:
    text = render_markup(raw, parse_mode)
    if not text.strip():
        raise _bad_request("message text is empty")
    if utf16_len(text) > TEXT_LIMIT:
        raise _bad_request("message is too long")
    return text


def _caption_from_call(call: Call) -> JSONDict:
    return _bot_caption(call.text("caption"), call.text("parse_mode"))


def _bot_caption(raw: str | None, parse_mode: str | None) -> JSONDict:
    caption = render_markup(raw or "", parse_mode)
    if utf16_len(caption) > CAPTION_LIMIT:
        raise _bad_request("message caption is too long")
    return {"caption": caption} if caption else {}


def _caption_content(caption: str | None) -> JSONDict:
    """A user's caption with its command and mention entities."""
    if not caption:
        return {}
    entities = find_entities(caption)
    return {"caption": caption, "caption_entities": entities} if entities else {"caption": caption}
