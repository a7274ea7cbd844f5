"""The licence rule for changed copies (store/derivatives.py) and the photo a morph uses, on a real SQLite
gallery of real faces."""

from __future__ import annotations

import pytest

from engine.faces import FaceModels
from store.derivatives import MorphRefused, derivative_permission, morph_source
from store.gallery import Credit, Gallery, content_hash
from tests.paths import face

ALLOWED = ["CC BY 4.0", "cc-by-2.0", "CC BY 3.0 us", "CC0", "Public domain", "PD-US", "MIT"]
SHARE_ALIKE = ["CC BY-SA 4.0", "CC-BY-SA-3.0", "cc by-sa 2.0 de", "GFDL"]
REFUSED = [
    "",
    "   ",
    "CC BY-ND 4.0",
    "CC BY-NC-ND 3.0",
    "cc-by-nd-2.0",
    "All rights reserved",
    "© 2024 Some Agency. All Rights Reserved.",
    "CC BY-NC 4.0",
    "CC BY-NC-SA 4.0",
    "Fair use",
    "Non-free",
    "some licence nobody has read",
]


@pytest.mark.parametrize("name", ALLOWED)
def test_free_licences_allow_a_morph_without_terms(name) -> None:
    permission = derivative_permission(name)
    assert permission.allowed and not permission.share_alike and not permission.reason


@pytest.mark.parametrize("name", SHARE_ALIKE)
def test_share_alike_licences_allow_a_morph_shared_alike(name) -> None:
    permission = derivative_permission(name)
    assert permission.allowed and permission.share_alike


@pytest.mark.parametrize("name", REFUSED)
def test_no_derivatives_reserved_unknown_and_missing_licences_refuse_a_morph(name) -> None:
    permission = derivative_permission(name)
    assert not permission.allowed and permission.reason and "\n" not in permission.reason


async def add(gallery: Gallery, models: FaceModels, name: str, photo: str, license_name: str) -> int:
    data = face(photo).read_bytes()
    found = models.analyze(data).faces[0]
    credit = Credit(
        author=f"author of {photo}", license=license_name, source_page=f"https://example.org/{photo}"
    )
    return (await gallery.add_face(name, found, content_hash(data), photo, credit)).photo_id


async def test_the_nearest_photo_the_licence_allows_is_chosen_and_share_alike_is_said(
    tmp_path, models
) -> None:
    async with await Gallery.open(tmp_path / "gallery.sqlite") as gallery:
        nearest = await add(gallery, models, "Joe Biden", "joe_biden/biden.jpg", "CC BY-ND 4.0")
        other = await add(gallery, models, "Joe Biden", "joe_biden/biden_biden2.jpg", "CC BY-SA 4.0")
        await gallery.add_aliases("Joe Biden", ["조 바이든"])
        query = models.analyze(face("joe_biden/biden.jpg")).faces[0].embedding
        # The same photo is nearest of all, but its licence forbids changes: the other one is used.
        assert (await gallery.photos_of("Joe Biden"))[0][0] == nearest
        source = await morph_source(gallery, "조 바이든", query)
    assert source.photo_id == other and source.name == "Joe Biden"
    assert source.morph_license == "CC BY-SA 4.0"
    assert source.credit.author == "author of joe_biden/biden_biden2.jpg"
    assert source.thumbnail.startswith(b"\xff\xd8")


async def test_among_usable_photos_the_nearest_one_is_chosen(tmp_path, models) -> None:
    async with await Gallery.open(tmp_path / "gallery.sqlite") as gallery:
        first = await add(
            gallery, models, "Kit Harington", "kit_harington/kit_harington_john1.jpeg", "CC BY 2.0"
        )
        second = await add(gallery, models, "Kit Harington", "kit_harington/kit_harington_john2.jpeg", "CC0")
        for photo, expected in (("kit_harington_john1.jpeg", first), ("kit_harington_john2.jpeg", second)):
            query = models.analyze(face(f"kit_harington/{photo}")).faces[0].embedding
            source = await morph_source(gallery, "kit harington", query)
            assert source.photo_id == expected and source.morph_license == ""


async def test_a_celebrity_whose_photos_all_forbid_changes_is_refused_with_the_reasons(
    tmp_path, models
) -> None:
    async with await Gallery.open(tmp_path / "gallery.sqlite") as gallery:
        await add(gallery, models, "Rose Leslie", "rose_leslie/rose_leslie_img1.jpg", "CC BY-ND 2.0")
        await add(gallery, models, "Rose Leslie", "rose_leslie/rose_leslie_img2.jpg", "")
        query = models.analyze(face("rose_leslie/rose_leslie_img1.jpg")).faces[0].embedding
        with pytest.raises(MorphRefused) as refused:
            await morph_source(gallery, "Rose Leslie", query)
        assert "CC BY-ND 2.0" in str(refused.value) and "no licence recorded" in str(refused.value)
        with pytest.raises(MorphRefused, match="no celebrity called"):
            await morph_source(gallery, "Nobody", query)
