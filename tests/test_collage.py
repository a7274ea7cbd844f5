"""Fonts and result images: real rendering, decoded back with Pillow, checked against Telegram's limits."""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image, ImageChops, ImageDraw

from engine import pictures
from engine.fonts import ELLIPSIS, clean_text, fit_text, font, font_path, graphemes, has_glyphs, license_path
from engine.pictures import CollageText, Tile, canvas, jpeg, render_board, render_collage, render_pairs
from engine.pictures import board as board_picture
from engine.pictures import pairs as pairs_picture
from tests.paths import REPO, face

# Face boxes (top, right, bottom, left) as face_recognition reports them; cropped with a margin here.
BOXES = {
    "barack_obama/obama.jpg": (142, 617, 409, 349),
    "joe_biden/biden.jpg": (241, 740, 562, 419),
    "kit_harington/kit_harington_john2.jpeg": (98, 469, 284, 283),
    "rose_leslie/rose_leslie_img2.jpg": (171, 438, 439, 171),
    "lin_manuel_miranda/lin-manuel-miranda.png": (170, 562, 491, 241),  # RGBA source
    "alex_lacamoire/alex_lacamoire_img1.jpg": (206, 598, 527, 277),
}
LONG_MIXED = "Alexandria Ocasio-Cortez 알렉산드리아 오카시오코르테스 Jr. (The Original Broadway Cast)"
KO = CollageText("나랑 닮은 연예인은?", "나", "거리", "닮은 정도", "갤러리: 연예인 1,234명")
EN = CollageText("Who do you look like?", "You", "distance", "similarity", "Gallery: 1,234 celebrities")


@cache
def crop(relative: str) -> Image.Image:
    """Photo path under the shared faces dir -> the face cropped with 40 % margin (mode kept)."""
    top, right, bottom, left = BOXES[relative]
    w, h = right - left, bottom - top
    with Image.open(face(relative)) as im:
        im.load()
        return im.crop(
            (max(0, left - w * 2 // 5), max(0, top - h * 2 // 5), right + w * 2 // 5, bottom + h * 2 // 5)
        )


def faces() -> list[Image.Image]:
    """-> all test face crops."""
    return [crop(k) for k in BOXES]


def tiles(names: list[str]) -> list[Tile]:
    """Names -> ranked match tiles with decreasing similarity."""
    pics = faces()
    return [
        Tile(pics[i % len(pics)], n, distance=0.31 + 0.05 * i, similarity=88.4 - 9.3 * i, rank=i + 1)
        for i, n in enumerate(names)
    ]


def decode(data: bytes) -> Image.Image:
    """JPEG bytes -> decoded image, after checking format and every Telegram photo limit."""
    assert len(data) <= jpeg.TELEGRAM_MAX_BYTES
    im = Image.open(io.BytesIO(data))
    assert im.format == "JPEG"
    im.load()
    w, h = im.size
    assert w + h <= jpeg.TELEGRAM_MAX_SIDE_SUM
    assert max(w, h) <= jpeg.TELEGRAM_MAX_RATIO * min(w, h)
    return im.convert("RGB")


def is_background(im: Image.Image, box: tuple[int, int, int, int]) -> bool:
    """Image and region -> True when the region is (JPEG-noise close to) the plain canvas colour."""
    region = im.crop(box)
    flat = Image.new("RGB", region.size, canvas.BACKGROUND)
    return max(hi for _lo, hi in ImageChops.difference(region, flat).getextrema()) <= 24


def collage_at(commit: str) -> ModuleType:
    """`engine/collage.py` as it was at `commit` (from git), imported as a module of its own."""
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{commit}:engine/collage.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"collage_{commit[:10]}.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return module


# --- fonts -----------------------------------------------------------------------------------------------


def test_font_comes_from_the_package_with_its_license() -> None:
    assert font_path().is_file() and font_path().suffix == ".ttf"
    assert "justmytype_intl_cjk" in font_path().parts
    assert license_path().is_file() and "Open Font License" in license_path().read_text(encoding="utf-8")


def test_font_weights_are_named_instances() -> None:
    # The variable font's default instance is Thin; asking for Regular must not return Thin.
    assert font(20).font.style == "Regular"
    assert font(20, "Bold").font.style == "Bold"
    assert font(20, "bold").font.style == "Bold"
    assert font(20, "Bold") is font(20, "Bold")  # cached
    assert font(40, "Bold").getlength("Hangul 한글") > font(40, "Thin").getlength("Hangul 한글")
    with pytest.raises(ValueError, match="unknown weight"):
        font(20, "Heavy Italic")


@pytest.mark.parametrize(
    "text", ["아이유", "박서준", "漢字", "Beyoncé Knowles", "BTS 방탄소년단 — “Dynamite”", "아 이 유\t"]
)
def test_has_glyphs_true_for_covered_text(text: str) -> None:
    assert has_glyphs(text)


@pytest.mark.parametrize("text", ["\U0010fffd", "\ue000", "아이유\U0010fffd", "😀", "مرحبا"])
def test_has_glyphs_false_for_missing_characters(text: str) -> None:
    assert not has_glyphs(text)


def test_has_glyphs_agrees_with_rendering() -> None:
    """The cmap answer matches what FreeType draws: covered text differs from .notdef boxes."""
    f = font(40)

    def ink(text: str) -> bytes:
        im = Image.new("L", (400, 80))
        ImageDraw.Draw(im).text((10, 10), text, font=f, fill=255)
        return im.tobytes()

    tofu = ink("\U0010fffd" * 3)
    assert ink("아이유") != tofu and ink("박서준") != tofu
    assert ink("\ue000\U000f0000\U0010fffd") == tofu  # three uncovered characters: three .notdef boxes


def test_clean_text_strips_controls_bidi_and_missing_glyphs() -> None:
    raw = "\u202e아이유\u202c\u200b  \n😀 Ğökhan\u0000"
    cleaned = clean_text(raw)
    assert cleaned == "아이유 Gökhan"  # Ğ is not in the font: its base letter is kept
    assert has_glyphs(cleaned)
    assert clean_text("\u1100\u1161\u11a8") == "각"  # decomposed jamo are composed (NFC)
    assert clean_text("\u200f\u2066\u2069") == ""


def test_graphemes_keep_marks_and_jamo_together() -> None:
    assert list(graphemes("q\u0307a")) == ["q\u0307", "a"]
    assert list(graphemes("\u1100\u1161\u11a8\u1102\u1161")) == ["\u1100\u1161\u11a8", "\u1102\u1161"]
    assert list(graphemes("아이유")) == ["아", "이", "유"]


@pytest.mark.parametrize("width", [40, 120, 300, 600])
def test_fit_text_shortens_within_width(width: int) -> None:
    f = font(28, "Bold")
    shown = fit_text(LONG_MIXED, f, width)
    assert f.getlength(shown) <= width
    if shown:
        assert shown.endswith(ELLIPSIS) and not shown[:-1].endswith(" ")
        assert LONG_MIXED.startswith(shown[:-1])
        assert has_glyphs(shown)


def test_fit_text_keeps_short_names_and_cuts_between_clusters() -> None:
    f = font(28, "Bold")
    assert fit_text("아이유", f, 500) == "아이유"
    assert fit_text("abc", f, 3) == ""
    marked = "q\u0307" * 40
    shown = fit_text(marked, f, 200)
    assert shown.endswith(ELLIPSIS) and shown[:-1].endswith("q\u0307")


# --- render_collage --------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 5])
def test_render_collage_counts(count: int) -> None:
    names = ["아이유", "박서준", LONG_MIXED, "Rose Leslie", "Kit Harington"][:count]
    im = decode(render_collage(crop("barack_obama/obama.jpg"), tiles(names), KO))
    assert 1200 <= im.width <= 1600
    assert 600 <= im.height <= 1200


def test_render_collage_draws_the_empty_message() -> None:
    me = crop("barack_obama/obama.jpg")
    with_text = decode(render_collage(me, [], CollageText("T", "You", "d", "s", empty="No matches yet")))
    without = decode(render_collage(me, [], CollageText("T", "You", "d", "s")))
    assert ImageChops.difference(with_text, without).getbbox() is not None


def test_render_collage_long_names_stay_inside_their_cards() -> None:
    names = ["W" * 300, LONG_MIXED, "가" * 200, "x", "아이유"]
    im = decode(render_collage(crop("joe_biden/biden.jpg"), tiles(names), EN))
    right_margin = (im.width - canvas.MARGIN + 4, 0, im.width, im.height)
    assert is_background(im, right_margin)


def test_render_collage_credits_the_gallery_photos_in_a_last_line_that_fits() -> None:
    me, shown = crop("barack_obama/obama.jpg"), tiles(["아이유", "Rose Leslie"])
    plain = decode(render_collage(me, shown, KO))
    credits = "사진: " + ", ".join(f"김사진 {i} (CC BY-SA 4.0)" for i in range(40))  # far too long: shortened
    credited = decode(render_collage(me, shown, dataclasses.replace(KO, credits=credits)))
    assert credited.width == plain.width and credited.height == plain.height + canvas.CREDITS_H
    bottom = (0, credited.height - canvas.MARGIN - 16, credited.width, credited.height - canvas.MARGIN + 10)
    assert not is_background(credited, bottom)  # the line is drawn
    assert is_background(credited, (credited.width - canvas.MARGIN + 4, 0, credited.width, credited.height))
    nothing_shown = decode(render_collage(me, [], CollageText("T", "You", "d", "s", credits=credits)))
    assert nothing_shown.height == decode(render_collage(me, [], CollageText("T", "You", "d", "s"))).height


def test_render_collage_accepts_any_image_mode() -> None:
    base = crop("rose_leslie/rose_leslie_img2.jpg")
    odd = [
        base.convert("L"),
        base.convert("P"),
        base.convert("RGBA"),
        base.convert("CMYK"),
        base.convert("I;16"),
        Image.new("RGB", (1, 1), (255, 0, 0)),
        Image.new("RGB", (0, 0)),
        Image.new("RGB", (30, 400), (0, 128, 0)),  # very tall strip: padded, not stretched
    ]
    matches = [Tile(img, f"mode {img.mode}", 0.5, 50.0) for img in odd[:5]]
    decode(render_collage(odd[5], matches, EN))
    decode(render_collage(odd[6], matches[:2], EN))
    decode(render_collage(odd[7], [Tile(odd[7], "x", None, None)], EN))


def test_render_collage_missing_numbers_and_odd_values() -> None:
    pic = crop("kit_harington/kit_harington_john2.jpeg")
    matches = [
        Tile(pic, "no numbers"),
        Tile(pic, "nan", distance=float("nan"), similarity=float("nan")),
        Tile(pic, "out of range", distance=-1.0, similarity=250.0),
        Tile(pic, "😀😀😀", 0.4, 60.0),  # nothing drawable left: drawn as "?"
    ]
    decode(render_collage(pic, matches, EN))


# --- render_board ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 12])
def test_render_board_counts(count: int) -> None:
    pics = faces()
    players = [
        Tile(pics[i % len(pics)], ["김민지", LONG_MIXED][i % 2], similarity=95 - 3 * i) for i in range(count)
    ]
    text = CollageText("단체 게임 결과", "", "거리", "닮은 정도", "아직 아무도 참여하지 않았어요")
    im = decode(render_board(Tile(crop("barack_obama/obama.jpg"), "버락 오바마"), players, text))
    assert 1200 <= im.width <= 1600


def test_render_board_fifty_players_stay_within_limits() -> None:
    pics = faces()
    players = [Tile(pics[i % len(pics)], f"Player {i}", similarity=(37 * i) % 100) for i in range(50)]
    im = decode(render_board(Tile(pics[0], "Barack Obama"), players, EN))
    assert im.height < 3000


def test_render_board_ranks_closest_first() -> None:
    pic = crop("barack_obama/obama.jpg")
    players = [
        Tile(pic, "far", similarity=10),
        Tile(pic, "near", similarity=90),
        Tile(pic, "mid", similarity=50),
    ]
    assert [(r, t.name) for r, t in board_picture._ranked(players)] == [(1, "near"), (2, "mid"), (3, "far")]
    explicit = [Tile(pic, "b", rank=2), Tile(pic, "a", rank=1)]
    assert [t.name for _, t in board_picture._ranked(explicit)] == ["a", "b"]


def test_render_board_long_names_do_not_spill_into_the_gaps() -> None:
    pic = crop("alex_lacamoire/alex_lacamoire_img1.jpg")
    players = [Tile(pic, "M" * 200, similarity=50.0) for _ in range(8)]
    im = decode(render_board(Tile(pic, "W" * 200), players, EN))
    # Column gaps of the 4-column grid must stay plain background.
    x0 = canvas.MARGIN + board_picture.TARGET_CARD_W + canvas.GAP
    cell_w = (board_picture.BOARD_W - canvas.MARGIN - x0 - 3 * board_picture.CELL_GAP) // 4
    top = canvas.CONTENT_TOP
    for col in range(1, 4):
        gap_x = x0 + col * cell_w + (col - 1) * board_picture.CELL_GAP
        assert is_background(
            im, (gap_x + 3, top, gap_x + board_picture.CELL_GAP - 3, im.height - canvas.MARGIN)
        )
    # And the gap between the target card and the grid.
    target_right = canvas.MARGIN + board_picture.TARGET_CARD_W
    assert is_background(im, (target_right + 3, top, x0 - 3, im.height))


# --- render_pairs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 6])
def test_render_pairs_counts(count: int) -> None:
    pics = faces()
    pairs = [
        (
            Tile(pics[i % 6], ["아이유", LONG_MIXED][i % 2], 0.4 + 0.03 * i, 80 - 7 * i),
            Tile(pics[(i + 2) % 6], "박서준"),
        )
        for i in range(count)
    ]
    im = decode(render_pairs(pairs, KO))
    assert im.width == pairs_picture.PAIRS_W


def test_render_pairs_many_rows_are_shrunk_to_telegram_limits() -> None:
    pic = crop("barack_obama/obama.jpg")
    pairs = [
        (Tile(pic, "a", 0.5, 50.0), Tile(pic, "b")) for _ in range(33)
    ]  # ~9 200 px tall + 1 200 wide before fitting
    im = decode(render_pairs(pairs, EN))
    assert im.width + im.height <= jpeg.TELEGRAM_MAX_SIDE_SUM


def test_extreme_canvas_is_padded_and_shrunk() -> None:
    data = jpeg.encode_jpeg(Image.new("RGB", (12_000, 200), (10, 200, 30)))
    im = decode(data)
    assert im.width + im.height <= 10_000


# --- drawing fast, looking the same -----------------------------------------------------------------------

BEFORE_SPEEDUP = (
    "f6ed62ee38cd6b49d73de68acd1260c8c98ae708"  # engine/collage.py before bench/collage.py's work
)


def drawn(module: ModuleType) -> dict[str, bytes]:
    """A module with the three renderers (`engine.pictures`, or the old `engine/collage.py`) -> a collage of
    each shape (Korean with credits, English, no matches), a board and twin pairs (Tile and CollageText
    are read by attribute, so one module's serve the other's)."""
    me, pics = crop("barack_obama/obama.jpg"), faces()
    names = ["아이유", "박서준", LONG_MIXED, "Rose Leslie", "Kit Harington"]
    credited = dataclasses.replace(
        KO, credits="사진: " + ", ".join(f"김사진 {i} (CC BY-SA 4.0)" for i in range(40))
    )
    players = [Tile(pics[i % 6], f"Player {i}", similarity=(37 * i) % 100) for i in range(12)]
    pairs = [
        (Tile(pics[i % 6], "a", 0.4 + 0.03 * i, 80 - 7 * i), Tile(pics[(i + 2) % 6], "b")) for i in range(6)
    ]
    return {
        "collage_ko": module.render_collage(me, tiles(names), credited),
        "collage_en": module.render_collage(crop("joe_biden/biden.jpg"), tiles(names[:3]), EN),
        "collage_empty": module.render_collage(
            me, [], CollageText("T", "You", "d", "s", empty="No matches yet")
        ),
        "board": module.render_board(Tile(me, "버락 오바마"), players, KO),
        "pairs": module.render_pairs(pairs, EN),
    }


@pytest.fixture(scope="module")
def before() -> ModuleType:
    try:
        return collage_at(BEFORE_SPEEDUP)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"engine/collage.py at {BEFORE_SPEEDUP[:10]} is not in this clone (shallow?)")


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(decode(data), dtype=np.int16)


def test_pictures_are_pixel_identical_to_before_the_speedup_with_the_old_filter(
    before: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everything but the photos' resampling filter (and the JPEG's chroma) must be exact: corners,
    badges, cached bases, text."""
    monkeypatch.setattr(canvas, "PHOTO_RESAMPLE", Image.Resampling.LANCZOS)
    monkeypatch.setattr(canvas, "PHOTO_UPSCALE", Image.Resampling.LANCZOS)
    monkeypatch.setattr(jpeg, "SUBSAMPLING", 0)  # the old encoding's 4:4:4
    old, new = drawn(before), drawn(pictures)
    for name in old:
        assert np.array_equal(pixels(old[name]), pixels(new[name])), name


def test_pictures_look_as_before_the_speedup(before: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the faster filter the photos differ by about the JPEG's own noise, and nothing else moves.

    Measured: mean 0.29-0.60 of 255, 99.9th percentile 10-17 (the user's face enlarged bilinearly, where
    the old drawing used Lanczos); a one-pixel shift of the whole collage gives mean 3.6 and 212."""
    monkeypatch.setattr(jpeg, "SUBSAMPLING", 0)  # the old encoding's 4:4:4
    old, new = drawn(before), drawn(pictures)
    for name in old:
        a, b = pixels(old[name]), pixels(new[name])
        assert a.shape == b.shape, name
        diff = np.abs(a - b)
        assert diff.mean() < 1.0 and np.percentile(diff, 99.9) <= 20, (
            name,
            diff.mean(),
            np.percentile(diff, 99.9),
        )


def test_pictures_are_sent_with_chroma_at_half_resolution_as_telegram_keeps_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """4:2:0, as Telegram re-encodes every photo it is sent: smaller than 4:4:4, and the same picture
    up to colour fringes at the edges of coloured text and badges."""
    from PIL import JpegImagePlugin

    half = drawn(pictures)
    monkeypatch.setattr(jpeg, "SUBSAMPLING", 0)
    full = drawn(pictures)
    for name in half:
        assert JpegImagePlugin.get_sampling(Image.open(io.BytesIO(half[name]))) == 2, name
        assert len(half[name]) < 0.9 * len(full[name]), name
        diff = np.abs(pixels(half[name]) - pixels(full[name]))
        assert diff.mean() < 2.0, (name, diff.mean())


@pytest.mark.parametrize(
    ("size", "radius"), [((644, 756), 16), ((828, 172), 16), ((140, 140), 12), ((90, 12), 6)]
)
@pytest.mark.parametrize("image", [False, True])
def test_rounded_paste_gives_the_pixels_of_a_paste_through_the_whole_mask(
    size: tuple[int, int], radius: int, image: bool
) -> None:
    """The fast path pastes only the corners through the mask; anti-aliased corners must come out the same."""
    noise = np.random.default_rng(7).integers(0, 256, (size[1] + 20, size[0] + 20, 3), dtype=np.uint8)
    source = Image.fromarray(noise[: size[1], : size[0]][::-1].copy()) if image else (79, 70, 229)
    fast, slow = Image.fromarray(noise), Image.fromarray(noise)
    canvas._paste_rounded(fast, source, (9, 11), size, radius)
    slow.paste(source, (9, 11, 9 + size[0], 11 + size[1]), canvas._round_mask(*size, radius))
    assert fast.tobytes() == slow.tobytes()
    corner = np.asarray(fast)[11, 9]
    assert (corner == noise[11, 9]).all()  # the very corner is left as it was


def test_badge_is_the_white_disc_the_medal_and_the_number() -> None:
    noise = np.random.default_rng(8).integers(0, 256, (80, 80, 3), dtype=np.uint8)
    fast, slow = Image.fromarray(noise), Image.fromarray(noise)
    canvas.badge(fast, (40, 40), 44, 2)
    # As it was drawn before it was cached: a white disc 44 + 2 * max(2, 44 // 14) = 50 wide, the medal, the rank.
    canvas.rounded(slow, (15, 15, 65, 65), 50, canvas.CARD)
    canvas.rounded(slow, (18, 18, 62, 62), 44, canvas.MEDALS[2])
    ImageDraw.Draw(slow).text((40, 40), "2", font=font(22, "Bold"), fill=canvas.CARD, anchor="mm")
    assert fast.tobytes() == slow.tobytes()


def test_cached_collage_base_is_not_drawn_on() -> None:
    me, shown = crop("barack_obama/obama.jpg"), tiles(["아이유", "Rose Leslie"])
    first = render_collage(me, shown, dataclasses.replace(KO, credits="사진: A (CC BY)"))
    render_collage(crop("joe_biden/biden.jpg"), tiles(["x", "y"]), dataclasses.replace(KO, credits="사진: B"))
    assert render_collage(me, shown, dataclasses.replace(KO, credits="사진: A (CC BY)")) == first
