"""`lookalike morph` end to end: real subprocesses, real photos, a real SQLite gallery with licences."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PIL import Image

from engine.faces import FaceModels
from store.gallery import Credit, Gallery, content_hash
from tests.paths import face
from tests.test_cli import json_lines, lookalike

KEYS = {"photo", "celebrity", "celebrity_photo_id", "mix", "out", "credit", "morph_license"}
SELFIE = "barack_obama/obama.jpg"
# (name, photo, licence): Biden shared alike, Kit free, Rose's photos all forbid changes.
PHOTOS = [
    ("Joe Biden", "joe_biden/biden_biden2.jpg", "CC BY-SA 4.0"),
    ("Kit Harington", "kit_harington/kit_harington_john1.jpeg", "CC BY 2.0"),
    ("Rose Leslie", "rose_leslie/rose_leslie_img1.jpg", "CC BY-ND 2.0"),
    ("Rose Leslie", "rose_leslie/rose_leslie_img2.jpg", "All rights reserved"),
]


async def _build(path: Path, models: FaceModels) -> str:
    """The gallery file; returns the selfie's #1 lookalike in it (as the gallery ranks)."""
    async with await Gallery.open(path) as gallery:
        for name, photo, license_name in PHOTOS:
            data = face(photo).read_bytes()
            credit = Credit(f"Photographer of {name}", license_name, "", f"https://example.org/{photo}")
            await gallery.add_face(name, models.analyze(data).faces[0], content_hash(data), photo, credit)
        await gallery.add_aliases("Joe Biden", ["조 바이든"])
        return gallery.rank(models.analyze(face(SELFIE)).faces[0].embedding, 1)[0].name


@pytest.fixture(scope="module")
def gallery(tmp_path_factory, models) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("morph") / "gallery.sqlite"
    return path, asyncio.run(_build(path, models))


def test_morph_writes_photo_stem_morph_jpg_with_the_number_one_lookalike_and_json(tmp_path, gallery) -> None:
    db, first = gallery
    result = lookalike("morph", str(face(SELFIE)), "--json", db=db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (report,) = json_lines(result.stdout)
    assert set(report) == KEYS and set(report["credit"]) == {"author", "license", "source"}
    assert report["celebrity"] == first and report["mix"] == 0.5
    assert report["out"] == "obama.morph.jpg"
    picture = Image.open(tmp_path / "obama.morph.jpg")
    assert picture.format == "JPEG" and picture.width == picture.height


def test_with_an_alias_and_a_share_alike_photo_the_morph_is_shared_alike(tmp_path, gallery) -> None:
    db, _ = gallery
    out = tmp_path / "mine.jpg"
    result = lookalike(
        "morph", str(face(SELFIE)), "--with", "조 바이든", "--mix", "0.3", "--out", str(out), "--json", db=db
    )
    assert result.returncode == 0, result.stderr
    (report,) = json_lines(result.stdout)
    assert report["celebrity"] == "Joe Biden" and report["mix"] == 0.3 and report["out"] == str(out)
    assert report["credit"] == {
        "author": "Photographer of Joe Biden",
        "license": "CC BY-SA 4.0",
        "source": "https://example.org/joe_biden/biden_biden2.jpg",
    }
    assert report["morph_license"] == "CC BY-SA 4.0"
    assert out.is_file()
    text = lookalike("morph", str(face(SELFIE)), "--with", "kit harington", "--out", str(tmp_path), db=db)
    assert text.returncode == 0, text.stderr
    assert "Kit Harington" in text.stdout and "CC BY 2.0" in text.stdout and "shared under" not in text.stdout
    assert (tmp_path / "obama.morph.jpg").is_file()  # --out a folder: PHOTO_STEM.morph.jpg inside


def test_a_celebrity_whose_photos_all_forbid_changes_is_refused_with_the_reason(tmp_path, gallery) -> None:
    db, _ = gallery
    result = lookalike("morph", str(face(SELFIE)), "--with", "Rose Leslie", db=db, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "no photo of Rose Leslie may be morphed" in result.stderr
    assert "CC BY-ND 2.0" in result.stderr and "All rights reserved" in result.stderr
    assert not list(tmp_path.iterdir())


def test_bad_inputs_get_matchs_exit_codes_and_one_line(tmp_path, gallery) -> None:
    db, _ = gallery
    blank = tmp_path / "blank.png"
    Image.new("RGB", (300, 200), (120, 160, 200)).save(blank)
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    cases = [
        (["morph", str(blank)], 3, "no face found"),
        (["morph", str(text)], 4, "not a readable image"),
        (["morph", str(tmp_path / "missing.jpg")], 4, "no such file"),
        (["morph", str(face(SELFIE)), "--with", "Nobody"], 2, "--with Nobody: no such celebrity"),
        (["morph", str(face(SELFIE)), "--mix", "1.5"], 2, "must be from 0 to 1"),
        (["morph", str(face(SELFIE)), "--mix", "half"], 2, "not a number"),
    ]
    for args, status, message in cases:
        result = lookalike(*args, db=db, cwd=tmp_path)
        assert result.returncode == status, (args, result.stderr)
        assert message in result.stderr.splitlines()[-1], (args, result.stderr)
        assert not list(tmp_path.glob("*.morph.jpg"))
    (error,) = json_lines(lookalike("morph", str(blank), "--json", db=db, cwd=tmp_path).stdout)
    assert error == {"photo": str(blank), "error": {"code": "no_face", "message": "no face found"}}
