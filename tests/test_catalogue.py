"""The Mini App's gallery browser in the store: pages, search by any name or alias, cover photos."""

from __future__ import annotations

import numpy as np

from engine.faces import Face
from engine.ranking import nearest_to_mean
from store.catalogue import search
from store.gallery import Gallery


def face_near(centre: np.ndarray, offset: float, rng: np.random.Generator) -> Face:
    vector = centre + offset * rng.standard_normal(128).astype(np.float32)
    return Face((0, 100, 100, 0), vector.astype(np.float32), b"jpeg")


async def test_pages_cover_every_celebrity_once_in_name_order(tmp_path) -> None:
    rng = np.random.default_rng(1)
    async with await Gallery.open(tmp_path / "g.sqlite") as gallery:
        for i in range(130):
            await gallery.add_face(f"Person {i:03d}", face_near(rng.standard_normal(128), 0.1, rng), f"h{i}")
        seen: list[str] = []
        offset = 0
        while True:
            page = await search(gallery, "", offset, 60)
            assert page.total == 130
            if not page.entries:
                break
            seen += [e.name for e in page.entries]
            offset += len(page.entries)
        assert seen == [f"Person {i:03d}" for i in range(130)]


async def test_search_finds_names_and_aliases_by_any_part_in_any_case_and_script(tmp_path) -> None:
    rng = np.random.default_rng(2)
    async with await Gallery.open(tmp_path / "g.sqlite") as gallery:
        for i, name in enumerate(["Barack Obama", "Joe Biden", "아이유"]):
            await gallery.add_face(name, face_near(rng.standard_normal(128), 0.1, rng), f"h{i}")
        await gallery.add_aliases("Barack Obama", ["버락 오바마"])
        await gallery.add_aliases("아이유", ["IU", "Lee Ji-eun"])

        async def names(query: str) -> list[str]:
            return [e.name for e in (await search(gallery, query)).entries]

        assert await names("오바마") == ["Barack Obama"]
        assert await names("OBAMA") == ["Barack Obama"]
        assert await names("ji-EUN") == ["아이유"]
        assert await names("이유") == ["아이유"]
        assert await names("b") == ["Barack Obama", "Joe Biden"]
        assert await names("nobody") == []
        assert await names("  ") == ["Barack Obama", "Joe Biden", "아이유"]
        entry = (await search(gallery, "iu")).entries[0]
        assert entry.aliases == ("IU", "Lee Ji-eun") and entry.photos == 1


async def test_a_cards_cover_is_the_photo_nearest_the_celebritys_mean(tmp_path) -> None:
    rng = np.random.default_rng(3)
    centre = rng.standard_normal(128).astype(np.float32)
    faces = [face_near(centre, spread, rng) for spread in (0.3, 0.02, 0.25, 0.4)]
    async with await Gallery.open(tmp_path / "g.sqlite") as gallery:
        ids = [(await gallery.add_face("Someone", f, f"h{i}")).photo_id for i, f in enumerate(faces)]
        [entry] = (await search(gallery, "someone")).entries
    vectors = np.stack([f.embedding for f in faces])
    assert entry.cover_photo_id == ids[nearest_to_mean(vectors)] == ids[1]
