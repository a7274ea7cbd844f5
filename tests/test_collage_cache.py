"""The collage's caches (engine/pictures/reuse.py): the same bytes as main's drawing before them, cold or
warm; bounded; gallery photos only, never a user's face."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import threading
from functools import cache

import numpy as np
import pytest
from PIL import Image, ImageDraw

from engine.faces import face_thumbnail
from engine.fonts import fit_text, font
from engine.pictures import CollageText, Tile, canvas, render_collage, reuse
from engine.pool import DrawPool
from service.render import Card, draw_collages, face_image
from tests.engine_at import render_at
from tests.paths import face
from tests.test_collage import BOXES, EN, KO, LONG_MIXED

NAMES = ["아이유", "Rose Leslie", LONG_MIXED, "박서준", "W" * 120, "Kit Harington"]


@cache
def thumbnails() -> tuple[bytes, ...]:
    """The shared test photos' faces as the gallery and the bot keep them: 256 px JPEG thumbnails."""
    jpegs = []
    for relative, box in BOXES.items():
        with Image.open(face(relative)) as photo:
            pixels = np.asarray(photo.convert("RGB"))
        jpegs.append(face_thumbnail(pixels, box))
    return tuple(jpegs)


def boards(card: type, shared: bool, first: int = 0) -> list[tuple[bytes | None, list]]:
    """Card class (today's or the old module's) -> two faces, each with five ranked gallery matches whose
    numbers have 3 decimals, as `collage_for` hands them to `draw_collages`."""
    jpegs = thumbnails()
    extra = {"shared": True} if shared else {}
    result = []
    for b in range(2):
        cards = [
            card(
                jpegs[(first + b + i + 1) % len(jpegs)],
                NAMES[(b + i) % len(NAMES)],
                0.312 + 0.047 * i + 0.001 * b,
                87.6 - 9.3 * i - 0.1 * b,
                i + 1,
                **extra,
            )
            for i in range(5)
        ]
        result.append((jpegs[(first + b) % len(jpegs)], cards))
    return result


def credited(text: CollageText) -> CollageText:
    """Labels -> the same with a long credits line (shortened to fit when drawn)."""
    return dataclasses.replace(
        text, credits="사진: " + ", ".join(f"김사진 {i} (CC BY-SA 4.0)" for i in range(9))
    )


@pytest.fixture(autouse=True)
def cold() -> None:
    reuse.clear()


def test_collages_are_byte_identical_to_main_before_the_caches_cold_and_warm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(canvas, "PHOTO_UPSCALE", Image.Resampling.BICUBIC)  # the filter then: caches only
    old = render_at()
    for text in (credited(KO), EN):
        # Each face's collage alone: a photo with several faces stacks them, drawn on one canvas since.
        old_text = old.CollageText(**text.__dict__)
        before = [old.draw_collages([board], old_text) for board in boards(old.Card, shared=False)]
        reuse.clear()
        alone_cold = [draw_collages([board], text) for board in boards(Card, shared=True)]
        alone_warm = [draw_collages([board], text) for board in boards(Card, shared=True)]
        assert alone_cold == before and alone_warm == before
        reuse.clear()
        cold_bytes = draw_collages(boards(Card, shared=True), text)
        after_cold = reuse.stats()
        warm_bytes = draw_collages(boards(Card, shared=True), text)
        warm = reuse.stats()
        assert warm_bytes == cold_bytes
        # Cold: one fitting per distinct photo and size (the two faces' matches share some photos).
        distinct = {(c.jpeg, 140 if c.rank == 1 else 88) for _, cards in boards(Card, True) for c in cards}
        assert after_cold["photos"].misses == len(distinct) and after_cold["photos"].hits == 10 - len(
            distinct
        )
        # Warm: every match photo, every mask and every width comes from the caches.
        assert warm["photos"].hits - after_cold["photos"].hits == 10
        assert warm["photos"].misses == after_cold["photos"].misses
        assert warm["masks"].misses == after_cold["masks"].misses
        lookups = after_cold["masks"].hits + after_cold["masks"].misses
        assert warm["masks"].hits - after_cold["masks"].hits == lookups
        assert warm["lengths"].misses == after_cold["lengths"].misses


def test_a_cached_photo_is_used_without_reading_the_tiles_image() -> None:
    """On a hit the tile's image is not touched: a lazily opened JPEG is never decoded."""
    jpeg = thumbnails()[1]
    real = Card(jpeg, "a", 0.4, 60.0, 1, shared=True).tile()
    first = render_collage(Image.new("RGB", (256, 256), (90, 90, 90)), [real], EN)
    impostor = Tile(Image.new("RGB", (256, 256), (255, 0, 0)), "a", 0.4, 60.0, 1, cache_key=real.cache_key)
    assert render_collage(Image.new("RGB", (256, 256), (90, 90, 90)), [impostor], EN) == first


def test_the_users_face_is_never_cached() -> None:
    jpegs = thumbnails()
    user = jpegs[0]
    matches = [Card(j, f"m{i}", 0.4, 60.0, i + 1, shared=True) for i, j in enumerate(jpegs[1:])]
    draw_collages([(user, matches)], KO)
    draw_collages([(user, matches)], KO)
    keys = reuse.photo_keys()
    digests = {hashlib.blake2b(j, digest_size=16).digest() for j in jpegs[1:]}
    assert {key[0] for key in keys} == digests  # each match photo, at its size; nothing else
    assert len(keys) == 5 and reuse.stats()["photos"].hits == 5
    assert hashlib.blake2b(user, digest_size=16).digest() not in {key[0] for key in keys}
    # Anything of a user's handed over as a card (a group game's player, a twin) is not keyed either.
    assert Card(user, "player").tile().cache_key is None
    assert Card(user, "player", 0.4, 60.0, 1).tile().cache_key is None


@pytest.mark.parametrize("anchor", ["ls", "rs", "la", "mm", "ms"])
def test_cached_text_gives_the_pixels_of_imagedraw_text(anchor: str) -> None:
    noise = np.random.default_rng(3).integers(0, 256, (120, 900, 3), dtype=np.uint8)
    texts = ["0.417", "73.2%", "닮은 정도", "Rose Leslie", LONG_MIXED[:40], "…"]
    faces = [font(20, "Bold"), font(18, "Regular"), font(38, "Bold")]
    positions = [(450, 60), (450.25, 60), (451.671875, 59.5), (12.0, 70.1)]
    for face_ in faces:
        for fill in (canvas.TEXT, canvas.TEXT_SOFT, (250, 10, 10)):
            slow, fast = Image.fromarray(noise), Image.fromarray(noise)
            for i, text in enumerate(texts):
                xy = positions[i % len(positions)]
                for _ in range(2):  # cold, then from the cache (the second coat darkens the first)
                    ImageDraw.Draw(slow).text(xy, text, font=face_, fill=fill, anchor=anchor)
                    reuse.draw_text(ImageDraw.Draw(fast), xy, text, face_, fill, anchor)
            assert fast.tobytes() == slow.tobytes()
    assert reuse.stats()["masks"].hits > 0


def test_cached_widths_and_shortened_text_are_pillows() -> None:
    face_ = font(26, "Bold")
    draw = ImageDraw.Draw(Image.new("RGB", (10, 10)))
    for text in ["0.417", "73.2%", "닮은 정도", LONG_MIXED, ""]:
        for _ in range(2):
            assert (
                reuse.text_length(face_, text) == draw.textlength(text, font=face_) == face_.getlength(text)
            )
            for width in (30, 200.5, 2000):
                assert reuse.fitted_text(text, face_, width) == fit_text(text, face_, width)
    assert reuse.stats()["lengths"].hits == 5 and reuse.stats()["fitted"].hits == 15


def test_a_memo_is_bounded_by_bytes_and_drops_the_least_recently_used() -> None:
    memo: reuse.Memo[str] = reuse.Memo(3 * (100 + reuse.ENTRY_OVERHEAD), len)
    made: list[str] = []

    def make(key: str) -> str:
        made.append(key)
        return key * 100

    for key in ("a", "b", "c", "a", "d"):  # "a" is used again before "d" arrives: "b" goes
        assert memo.get(key, lambda k=key: make(k)) == key * 100
    assert made == ["a", "b", "c", "d"]
    assert sorted(memo.keys()) == ["a", "c", "d"]
    stats = memo.stats()
    assert (stats.hits, stats.misses, stats.entries) == (1, 4, 3)
    assert stats.bytes == 3 * (100 + reuse.ENTRY_OVERHEAD) and stats.hit_rate == 0.2
    assert memo.get("huge", lambda: "x" * 10_000) == "x" * 10_000  # larger than the bound: not kept
    assert memo.keys().count("huge") == 0 and memo.stats().entries == 3


def test_the_photo_cache_keeps_within_its_bound() -> None:
    """Many gallery photos: the cache holds at most its bound, and the newest photos."""
    base = Image.open(io.BytesIO(thumbnails()[0])).convert("RGB")
    for i in range(150):  # ~150 x 78 KB at 140 px: more than the 8 MB bound
        tile = Tile(base, "x", cache_key=i.to_bytes(2, "big"))
        reuse.fitted_photo(tile, 140)
    stats = reuse.stats()["photos"]
    assert stats.bytes <= reuse.PHOTO_CACHE_BYTES and stats.entries < 150
    assert (149).to_bytes(2, "big") in {key[0] for key in reuse.photo_keys()}
    assert (0).to_bytes(2, "big") not in {key[0] for key in reuse.photo_keys()}


def test_a_grey_jpeg_face_is_handed_over_as_rgb_with_its_pixels() -> None:
    grey = Image.open(io.BytesIO(thumbnails()[0])).convert("L")
    buffer = io.BytesIO()
    grey.save(buffer, "JPEG", quality=90)
    image = face_image(buffer.getvalue())
    expected = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    assert image.mode == "RGB" and image.tobytes() == expected.tobytes()
    assert (
        face_image(thumbnails()[0]).tobytes()
        == Image.open(io.BytesIO(thumbnails()[0])).convert("RGB").tobytes()
    )


async def test_the_bots_draw_process_keeps_gallery_photos_between_answers_and_never_the_users_face() -> None:
    """Through the bot's real draw pool (a forkserver process): a second answer with the same matches
    takes every match photo from the worker's cache; the user's face is in none of its keys."""
    jpegs = thumbnails()
    user = jpegs[0]
    matches = [Card(j, f"m{i}", 0.4, 60.0, i + 1, shared=True) for i, j in enumerate(jpegs[1:])]
    draw = DrawPool("process", workers=1, preload=["service.render"])
    try:
        first = await draw.run(draw_collages, [(user, matches)], KO)
        after_first = (await draw.run(reuse.stats))["photos"]
        second = await draw.run(draw_collages, [(user, matches)], KO)
        after_second = (await draw.run(reuse.stats))["photos"]
        keys = await draw.run(reuse.photo_keys)
    finally:
        draw.close()
    assert first == second
    assert (after_first.hits, after_first.misses) == (0, 5)
    assert (after_second.hits, after_second.misses) == (5, 5)
    assert hashlib.blake2b(user, digest_size=16).digest() not in {key[0] for key in keys}


def test_two_threads_missing_the_same_key_both_get_the_value_and_one_entry_is_kept() -> None:
    """The draw pool may be threads: a value is made outside the lock. Held deterministically: the first
    thread's make waits until the second has missed and made its own."""
    memo: reuse.Memo[str] = reuse.Memo(1 << 20, len)
    first_making, second_done = threading.Event(), threading.Event()
    results: dict[str, str] = {}

    def slow_make() -> str:
        first_making.set()
        assert second_done.wait(10)
        return "value"

    def first() -> None:
        results["first"] = memo.get("key", slow_make)

    thread = threading.Thread(target=first)
    thread.start()
    assert first_making.wait(10)
    results["second"] = memo.get("key", lambda: "value")  # misses too: the first has not stored yet
    second_done.set()
    thread.join(10)
    assert results == {"first": "value", "second": "value"}
    stats = memo.stats()
    assert (stats.hits, stats.misses, stats.entries) == (0, 2, 1)
    assert memo.get("key", lambda: "other") == "value" and memo.stats().hits == 1


def test_a_photo_s_faces_are_stacked_top_down_in_one_jpeg_as_each_is_drawn_alone() -> None:
    two = boards(Card, shared=True)
    stacked = np.asarray(Image.open(io.BytesIO(draw_collages(two, KO))), dtype=np.int16)
    alone = [np.asarray(Image.open(io.BytesIO(draw_collages([b], KO))), dtype=np.int16) for b in two]
    assert stacked.shape == (alone[0].shape[0] + alone[1].shape[0], *alone[0].shape[1:])
    # The same pictures, one JPEG encoding each: they differ by the encoder's noise only, and the
    # faces are in the order given (swapped, they would differ everywhere the faces and names are).
    diff = np.abs(stacked - np.concatenate(alone))
    assert diff.mean() < 0.5 and np.percentile(diff, 99.9) <= 24, (diff.mean(), np.percentile(diff, 99.9))
    swapped = np.abs(stacked - np.concatenate(alone[::-1]))
    assert swapped.mean() > 4 * diff.mean() + 1
