"""Property-based tests (hypothesis) for the guards that face untrusted input: the image decoder and names."""

from __future__ import annotations

import io
import unicodedata

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from engine.images import ImageError, Photo, decode_photo
from store.names import MAX_NAME_CHARS, InvalidName, clean_name, name_key
from tests.paths import face

# --------------------------------------------------------------------------------------------------
# The image decoder: whatever the bytes, a Photo of RGB uint8 pixels or an ImageError — nothing else.


def _encoded(image: Image.Image, kind: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind, **options)
    return buffer.getvalue()


def _seeds() -> list[bytes]:
    """Small valid files in every accepted format (and a few modes): the starting points of mutations."""
    gradient = Image.linear_gradient("L").resize((40, 30)).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: the EXIF-orientation path
    return [
        face("barack_obama/obama_small.jpg").read_bytes(),
        _encoded(gradient, "JPEG", exif=exif.tobytes()),
        _encoded(gradient.convert("RGBA"), "PNG"),
        _encoded(gradient.convert("P"), "PNG"),
        _encoded(gradient.convert("I;16"), "PNG"),
        _encoded(gradient, "GIF"),
        _encoded(gradient, "BMP"),
        _encoded(gradient, "WEBP"),
        _encoded(gradient.convert("CMYK"), "TIFF", exif=exif.tobytes()),
        _encoded(gradient, "TIFF", compression="tiff_deflate"),
    ]


SEEDS = _seeds()


def _check(data: bytes) -> None:
    try:
        photo = decode_photo(data)
    except ImageError as exc:
        assert exc.code in ("too_large", "bad_image")
        return
    assert isinstance(photo, Photo)
    assert photo.pixels.dtype == np.uint8
    assert photo.pixels.ndim == 3 and photo.pixels.shape[2] == 3
    assert photo.pixels.shape[0] >= 1 and photo.pixels.shape[1] >= 1


PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


@PROPERTY_SETTINGS
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_decode_to_rgb_or_raise_image_error(data: bytes) -> None:
    _check(data)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real file with some bytes overwritten, a piece inserted or cut, or the tail truncated."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        action = draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        # mutations cluster in the first bytes, where the headers that the guards read are
        position = draw(st.one_of(st.integers(0, min(len(data), 512)), st.integers(0, len(data))))
        if action == "flip" and position < len(data):
            data[position] ^= draw(st.integers(1, 255))
        elif action == "set" and position < len(data):
            data[position] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80]))
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 64))]
        elif action == "truncate":
            del data[position:]
    return bytes(data)


@PROPERTY_SETTINGS
@given(mutated())
def test_mutated_real_images_decode_to_rgb_or_raise_image_error(data: bytes) -> None:
    _check(data)


def test_the_seeds_themselves_decode() -> None:
    for data in SEEDS:
        assert decode_photo(data).pixels.shape[2] == 3


# --------------------------------------------------------------------------------------------------
# Names

INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn"}
# Text with the troublemakers mixed in: letters (with case, Hangul jamo, compatibility forms) next to
# controls, bidi marks and isolates, zero-width characters, combining marks and odd spaces.
BASES = list("eIiAßẞΣσςﬁ①\u0130\u0131\u1100\u1161\u11a8\uac00")
INVISIBLES = list("\x00\x07\x1b\x7f\u200b\u200c\u200d\u200e\u200f\u202a\u202e\u2066\u2069\u061c\ufeff")
COMBINING = list("\u0301\u0308\u0327\u0345")
SPACES = list(" \t\n\u00a0\u2000\u2028\u3000")
TRICKY = st.sampled_from(BASES + INVISIBLES + COMBINING + SPACES)
NAMES = st.one_of(st.text(TRICKY, max_size=80), st.text(st.one_of(st.characters(), TRICKY), max_size=80))


def _cleaned(raw: str) -> str | None:
    try:
        return clean_name(raw)
    except InvalidName:
        return None


@PROPERTY_SETTINGS
@given(NAMES)
def test_clean_name_is_idempotent_and_leaves_only_visible_text(raw: str) -> None:
    name = _cleaned(raw)
    if name is None:
        return
    assert clean_name(name) == name
    assert 1 <= len(name) <= MAX_NAME_CHARS
    assert not any(unicodedata.category(ch) in INVISIBLE for ch in name)
    assert name == name.strip() and "  " not in name
    assert all(ch == " " or not ch.isspace() for ch in name)
    assert unicodedata.is_normalized("NFC", name)


@PROPERTY_SETTINGS
@given(NAMES)
def test_name_key_ignores_what_clean_name_removes(raw: str) -> None:
    name = _cleaned(raw)
    if name is None:
        with pytest.raises(InvalidName):
            name_key(raw)
        return
    assert name_key(raw) == name_key(name)
    # canonically equivalent spellings (precomposed or not) are one name
    for form in ("NFC", "NFD"):
        assert name_key(unicodedata.normalize(form, raw)) == name_key(raw)


@PROPERTY_SETTINGS
@given(st.text(st.characters(codec="utf-8", categories=["Lu", "Ll", "Lt", "Zs"]), max_size=200))
def test_clean_name_caps_the_length(raw: str) -> None:
    name = _cleaned(raw)
    collapsed = " ".join(unicodedata.normalize("NFC", raw).split())
    if name is None:
        assert not collapsed or len(collapsed) > MAX_NAME_CHARS
    else:
        assert len(name) <= MAX_NAME_CHARS


# Scripts with case: Latin, Greek and Coptic, Cyrillic, Armenian (letters only).
CASED = st.text(
    st.characters(
        categories=["Lu", "Ll", "Lt"],
        exclude_characters="\u0131\u0130",  # Turkish dotless/dotted i: their case pairs are language-specific
    ).filter(lambda ch: ch < "\u0250" or "\u0370" <= ch < "\u0590")
    # letters whose case mappings expand or decompose
    | st.sampled_from(list("ßẞΐΰǰŉﬀﬁᾳῼſµÅǅ"))
    | st.just(" "),
    min_size=1,
    max_size=30,
)


@PROPERTY_SETTINGS
@given(CASED)
def test_names_compare_case_insensitively(raw: str) -> None:
    if _cleaned(raw) is None or _cleaned(raw.upper()) is None or _cleaned(raw.lower()) is None:
        return  # empty, or over the length cap once cased (ß → SS)
    assert name_key(raw) == name_key(raw.upper()) == name_key(raw.lower()) == name_key(raw.swapcase())
