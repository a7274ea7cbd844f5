"""Commons' HTML fields (an author's links, spans, entities) → plain text for a credit line."""

from __future__ import annotations

from html.parser import HTMLParser


class _Text(HTMLParser):
    """Collects the text between the tags (entities decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str) -> str:
    """Commons' HTML (links, spans, entities) → one line of plain text, at most 200 characters."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    text = " ".join("".join(parser.parts).split())
    return text if len(text) <= 200 else text[:199] + "…"
