"""Celebrity names: what an admin typed in, what is stored, and how two names are compared.

Any script works (Hangul, Latin, Cyrillic, …). Names are NFC-normalised, stripped of control and
bidirectional-formatting characters, and whitespace is collapsed; names compare case-insensitively
(NFKC + casefold), so "IU" and "iu" are one celebrity, and so are a precomposed and a decomposed "아이유".
"""

from __future__ import annotations

import unicodedata

MAX_NAME_CHARS = 64


class InvalidName(ValueError):
    """The name is empty or too long once cleaned."""


def clean_name(raw: str) -> str:
    """An admin's raw name → the stored display name. Raises `InvalidName` if nothing usable is left."""
    kept = "".join(" " if ch.isspace() else ch for ch in raw if _visible(ch))
    # NFC after dropping the invisible characters: one between a letter and its accent blocked composing
    name = " ".join(unicodedata.normalize("NFC", kept).split())
    if not name:
        raise InvalidName("the name is empty")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidName(f"the name is longer than {MAX_NAME_CHARS} characters")
    return name


def name_key(name: str) -> str:
    """The comparison key of a name: case- and normalisation-insensitive.

    Normalised again after case folding, which can leave a decomposed form: "ΐ" folds to ι + ̈ + ́ while
    its capital folds to ϊ + ́.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", clean_name(name)).casefold())


def _visible(ch: str) -> bool:
    """False for control, format (bidi marks, zero-width), surrogate, private and unassigned characters."""
    if ch.isspace():
        return True
    return unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn"}
