from __future__ import annotations

import sqlite3
from dataclasses import replace

import numpy as np
import pytest

from engine.faces import Face, FaceModels
from store.gallery import Gallery, GalleryError, content_hash
from store.names import InvalidName, clean_name, name_key
from store.schema import MIGRATIONS
from tests.paths import face

PHOTOS = {
    "obama1": "barack_obama/obama.jpg",
    "obama2": "barack_obama/obama2.jpg",
    "biden": "joe_biden/biden.jpg",
    "kit": "kit_harington/kit_harington_john1.jpeg",
    "rose": "rose_leslie/rose_leslie_img1.jpg",
    "query_obama": "barack_obama/test_obama1.jpg",
}


@pytest.fixture(scope="module")
def faces() -> dict[str, tuple[Face, str]]:
    models = FaceModels()
    result = {}
    for key, relative in PHOTOS.items():
        data = face(relative).read_bytes()
        result[key] = (models.analyze(data).faces[0], content_hash(data))
    return result


async def test_gallery_ranks_distinct_celebrities_and_survives_a_reopen(tmp_path, faces) -> None:
    db = tmp_path / "gallery.sqlite"
    async with await Gallery.open(db) as gallery:
        for key, name in [("obama1", "Barack Obama"), ("obama2", "barack obama"), ("biden", "Joe Biden")]:
            await gallery.add_face(name, *faces[key])
        await gallery.add_face("킷 해링턴", *faces["kit"])
        await gallery.add_face("Rose Leslie", *faces["rose"])
        ranking = gallery.rank(faces["query_obama"][0].embedding, k=5)
        assert gallery.photo_count == 5 and gallery.celebrity_count == 4
    assert ranking[0].name == "Barack Obama"
    assert len(ranking) == 4 and len({m.name for m in ranking}) == 4
    assert ranking[0].distance < 0.6 < ranking[1].distance
    async with await Gallery.open(db) as reopened:
        again = reopened.rank(faces["query_obama"][0].embedding, k=5)
        celebrities = await reopened.celebrities()
    assert again == ranking
    assert {c.name: c.photos for c in celebrities} == {
        "Barack Obama": 2,
        "Joe Biden": 1,
        "킷 해링턴": 1,
        "Rose Leslie": 1,
    }


async def test_the_same_photo_is_never_stored_twice(tmp_path, faces) -> None:
    async with await Gallery.open(tmp_path / "g.sqlite") as gallery:
        first = await gallery.add_face("Joe Biden", *faces["biden"])
        second = await gallery.add_face("Someone Else", *faces["biden"])
        assert (first.status, second.status) == ("added", "duplicate")
        assert second.name == "Joe Biden"
        assert gallery.photo_count == 1 and await gallery.find("Someone Else") is None


async def test_remove_and_rename(tmp_path, faces) -> None:
    async with await Gallery.open(tmp_path / "g.sqlite") as gallery:
        await gallery.add_face("아이유", *faces["rose"])
        await gallery.add_face("Joe Biden", *faces["biden"])
        assert await gallery.rename("아이유", "IU") == "IU"
        assert await gallery.rename("iu", "IU (아이유)") == "IU (아이유)"
        with pytest.raises(GalleryError) as taken:
            await gallery.rename("IU (아이유)", "joe biden")
        assert taken.value.code == "name_taken"
        assert await gallery.remove("JOE BIDEN") == 1
        with pytest.raises(GalleryError) as unknown:
            await gallery.remove("Joe Biden")
        assert unknown.value.code == "unknown_name"
        ranking = gallery.rank(faces["biden"][0].embedding, k=5)
        assert [m.name for m in ranking] == ["IU (아이유)"]


async def test_a_failed_write_changes_neither_the_file_nor_the_index(tmp_path, faces) -> None:
    db = tmp_path / "g.sqlite"
    broken = replace(faces["kit"][0], embedding=np.zeros(64, dtype=np.float32))  # violates the schema
    async with await Gallery.open(db) as gallery:
        await gallery.add_face("Rose Leslie", *faces["rose"])
        with pytest.raises(sqlite3.IntegrityError):
            await gallery.add_face("Kit Harington", broken, faces["kit"][1])
        assert gallery.photo_count == 1
        assert await gallery.find("Kit Harington") is None
        await gallery.add_face("Kit Harington", *faces["kit"])  # the connection is still usable
        assert gallery.photo_count == 2


async def test_the_file_is_versioned_and_in_wal_mode(tmp_path) -> None:
    db = tmp_path / "g.sqlite"
    async with await Gallery.open(db) as gallery:
        assert await gallery.integrity_ok()
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Barack   Obama ", "Barack Obama"),
        ("아이유", "아이유"),
        ("\u1109\u1175\u11ab", "신"),  # decomposed jamo become one syllable (NFC)
        ("IU\u200f\u202e", "IU"),  # bidi marks removed
        ("Bad\x00Name\n", "BadName"),
        ("Robert'); DROP TABLE celebrity;--", "Robert'); DROP TABLE celebrity;--"),
    ],
)
def test_names_are_cleaned(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


def test_names_compare_case_insensitively_in_any_script() -> None:
    assert name_key("BARACK obama") == name_key("Barack Obama")
    assert name_key("\u1109\u1175\u11ab") == name_key("신")
    assert name_key("Ärzte") == name_key("ärzte")


@pytest.mark.parametrize("raw", ["", "   ", "\u200f\u202e", "x" * 65])
def test_unusable_names_are_refused(raw: str) -> None:
    with pytest.raises(InvalidName):
        clean_name(raw)
