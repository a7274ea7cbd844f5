from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from dataclasses import replace

import numpy as np
import pytest

from engine.faces import Face, FaceModels
from store.gallery import Credit, Gallery, GalleryError, content_hash
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


async def test_aliases_name_a_celebrity_everywhere_a_name_does(tmp_path, faces) -> None:
    async with await Gallery.open(tmp_path / "g.sqlite") as gallery:
        await gallery.add_face("IU", *faces["rose"])
        await gallery.add_face("Joe Biden", *faces["biden"])
        added, refused = await gallery.add_aliases("iu", ["아이유", "이지은", "IU", "joe biden", "  "])
        assert added == ["아이유", "이지은"]
        assert [alias for alias, _why in refused] == ["joe biden", "  "]
        assert await gallery.find("이지은") == "IU"
        await gallery.add_face("아이유", *faces["kit"])  # a photo added under an alias joins the celebrity
        assert gallery.celebrity_count == 2
        with pytest.raises(GalleryError):
            await gallery.rename("Joe Biden", "아이유")  # taken, as an alias
        assert await gallery.rename("이지은", "이지은") == "이지은"  # its own alias becomes its name
        assert await gallery.aliases_of("이지은") == ["아이유"]  # and stops being an alias
        (listed,) = [c for c in await gallery.celebrities() if c.name == "이지은"]
        assert listed.photos == 2 and listed.aliases == ("아이유",)
        assert await gallery.remove("아이유") == 2
        assert await gallery.aliases_of("아이유") == [] and gallery.celebrity_count == 1
        async with gallery.db.execute("SELECT COUNT(*) FROM alias") as cursor:
            assert (await cursor.fetchone())[0] == 0


async def test_photos_keep_their_source_and_credit_and_go_one_by_one(tmp_path, faces) -> None:
    credit = Credit(
        "Pete Souza", "CC BY 3.0", "https://creativecommons.org/licenses/by/3.0", "https://x/File:O.jpg"
    )
    db = tmp_path / "g.sqlite"
    async with await Gallery.open(db) as gallery:
        first = await gallery.add_face(
            "Barack Obama", *faces["obama1"], source="/photos/o1.jpg", credit=credit
        )
        second = await gallery.add_face("Barack Obama", *faces["obama2"], source="/photos/o2.jpg")
        await gallery.set_wikidata("barack obama", "q76")
        assert await gallery.find_wikidata("Q76") == "Barack Obama"
        await gallery.add_face("Joe Biden", *faces["biden"])
        with pytest.raises(GalleryError):
            await gallery.set_wikidata("Joe Biden", "Q76")
        assert await gallery.keep_photo(second.photo_id)
    async with await Gallery.open(db) as gallery:
        records = await gallery.photo_records("Barack Obama")
        assert [(r.source, r.credit, r.kept) for r in records] == [
            ("/photos/o1.jpg", credit, False),
            ("/photos/o2.jpg", Credit(), True),
        ]
        assert await gallery.remove_photo(first.photo_id) == "Barack Obama"
        assert gallery.photo_count == 2 and await gallery.photo(first.photo_id) is None
        query = faces["query_obama"][0].embedding
        assert gallery.rank(query, 1)[0].photo_id == second.photo_id
        assert await gallery.remove_photo(second.photo_id) == "Barack Obama"  # the last one: the name goes
        assert gallery.celebrity_count == 1 and await gallery.find("Barack Obama") is None
        assert await gallery.remove_photo(second.photo_id) is None


async def test_values_and_audit_decisions_are_kept_with_the_gallery(tmp_path, faces) -> None:
    db = tmp_path / "g.sqlite"
    async with await Gallery.open(db) as gallery:
        assert await gallery.value("calibration") is None
        await gallery.set_value("calibration", '{"v": 1}')
        await gallery.set_value("calibration", '{"v": 2}')
        await gallery.add_face("Barack Obama", *faces["obama1"])
        await gallery.add_face("Joe Biden", *faces["biden"])
        await gallery.mark_distinct("joe biden", "Barack Obama")
        await gallery.mark_distinct("Barack Obama", "Joe Biden")
    async with await Gallery.open(db) as gallery:
        assert await gallery.value("calibration") == '{"v": 2}'
        assert await gallery.distinct_pairs() == {frozenset({"Barack Obama", "Joe Biden"})}


async def test_several_photos_thumbnails_and_records_come_in_one_read_without_the_ones_gone(
    tmp_path, faces
) -> None:
    credit = Credit("Pete Souza", "CC BY 3.0")
    async with await Gallery.open(tmp_path / "g.sqlite") as gallery:
        obama = await gallery.add_face("Barack Obama", *faces["obama1"], credit=credit)
        biden = await gallery.add_face("Joe Biden", *faces["biden"])
        rose = await gallery.add_face("Rose Leslie", *faces["rose"])
        await gallery.remove_photo(rose.photo_id)
        ids = [biden.photo_id, obama.photo_id, rose.photo_id, biden.photo_id]
        thumbnails = await gallery.thumbnails(ids)
        records = await gallery.photos(ids)
        assert await gallery.thumbnails([]) == {} and await gallery.photos([]) == {}
    assert set(thumbnails) == set(records) == {obama.photo_id, biden.photo_id}
    assert thumbnails[obama.photo_id] == faces["obama1"][0].thumbnail
    assert thumbnails[biden.photo_id] == faces["biden"][0].thumbnail
    assert records[obama.photo_id].credit == credit and records[obama.photo_id].name == "Barack Obama"
    assert records[biden.photo_id].name == "Joe Biden" and records[biden.photo_id].credit == Credit()


async def test_a_single_write_waits_for_an_open_transaction_and_is_not_rolled_back_with_it(tmp_path) -> None:
    async with await Gallery.open(tmp_path / "g.sqlite") as gallery:
        opened, finish = asyncio.Event(), asyncio.Event()

        async def failing_change() -> None:
            with contextlib.suppress(RuntimeError):
                async with gallery.transaction() as db:
                    await db.execute(
                        "INSERT INTO gallery_value (key, value, updated_at) VALUES ('a', '1', 0)"
                    )
                    opened.set()
                    await finish.wait()
                    raise RuntimeError("the change fails after the single write was asked for")

        change = asyncio.create_task(failing_change())
        await opened.wait()
        write = asyncio.create_task(
            gallery.write(
                "INSERT INTO gallery_value (key, value, updated_at) VALUES ('b', '2', 0) RETURNING key"
            )
        )
        await asyncio.sleep(0.05)
        assert not write.done()  # it waits for the transaction: it would have joined it
        finish.set()
        await change
        assert await write == [("b",)]
        assert await gallery.value("a") is None and await gallery.value("b") == "2"
