"""The `lookalike` command end to end: real subprocesses, real photos, a real SQLite file."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from tests.paths import REPO, face


def lookalike(
    *args: str, db: Path | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    # Never the user's own gallery: an absent file, so read-only commands use the demo gallery.
    env["LOOKALIKE_DB"] = str(Path(tempfile.gettempdir()) / "lookalike-tests-absent" / "gallery.sqlite")
    command = [sys.executable, "-m", "bot", *(["--db", str(db)] if db else []), *args]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env=env, cwd=cwd or REPO, check=False
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def junk(tmp_path_factory) -> dict[str, Path]:
    """Files that are not usable photos: text, a truncated JPEG, a landscape with no face, a folder."""
    folder = tmp_path_factory.mktemp("junk")
    text = folder / "notes.jpg"
    text.write_text("not an image")
    data = face("barack_obama/obama.jpg").read_bytes()
    truncated = folder / "truncated.jpg"
    truncated.write_bytes(data[: len(data) // 3])
    blank = folder / "blank.png"
    Image.new("RGB", (300, 200), (120, 160, 200)).save(blank)
    return {"text": text, "truncated": truncated, "blank": blank, "folder": folder}


def test_match_on_the_demo_gallery_prints_a_table_and_writes_a_collage(tmp_path) -> None:
    result = lookalike(
        "match", str(face("barack_obama/test_obama1.jpg")), db=tmp_path / "none.sqlite", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "demo gallery" in result.stderr
    first_row = next(line for line in result.stdout.splitlines() if line.strip().startswith("1 "))
    assert "Barack Obama" in first_row
    collage = Image.open(tmp_path / "test_obama1.lookalike.jpg")
    assert collage.format == "JPEG" and collage.width + collage.height <= 10_000


def test_match_json_is_one_object_per_photo_and_one_bad_photo_never_stops_the_batch(tmp_path, junk) -> None:
    photos = [
        face("kit_harington/test_johnsnow_test1.jpg"),
        junk["text"],
        tmp_path / "missing.jpg",
        junk["blank"],
        face("multiple/test_kit_with_rose.jpg"),
        junk["truncated"],
        junk["folder"],
    ]
    result = lookalike("match", *map(str, photos), "--json", "--top", "3", "--out", str(tmp_path / "out"))
    assert result.returncode == 4
    objects = json_lines(result.stdout)
    assert [o["photo"] for o in objects] == [str(p) for p in photos]
    kit, text, missing, blank, pair, truncated, folder = objects
    assert kit["faces"][0]["matches"][0]["name"] == "Kit Harington"
    assert len(kit["faces"][0]["matches"]) == 3
    match = kit["faces"][0]["matches"][0]
    assert set(match) == {"name", "distance", "similarity"} and 0 <= match["similarity"] <= 100
    assert len(kit["faces"][0]["box"]) == 4
    assert {o["error"]["code"] for o in (text, truncated, folder)} == {"bad_image"}
    assert missing["error"]["code"] == "not_found"
    assert blank["error"]["code"] == "no_face"
    assert [f["matches"][0]["name"] for f in pair["faces"]] == ["Kit Harington", "Rose Leslie"]
    assert len(result.stderr.strip().splitlines()) >= 5  # one line per failure (plus the demo note)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "test_johnsnow_test1.lookalike.jpg",
        "test_kit_with_rose.lookalike.jpg",
    ]


def test_match_exit_status_is_3_when_the_only_failure_is_no_face(tmp_path, junk) -> None:
    result = lookalike(
        "match", str(face("joe_biden/biden_biden2.jpg")), str(junk["blank"]), "--json", cwd=tmp_path
    )
    assert result.returncode == 3
    assert [o.get("error", {}).get("code") for o in json_lines(result.stdout)] == [None, "no_face"]


def test_match_together_gives_one_answer_for_several_photos_of_one_person(tmp_path, junk) -> None:
    obama = [face("barack_obama/obama.jpg"), face("barack_obama/obama2.jpg")]
    singles = json_lines(lookalike("match", *map(str, obama), "--json", cwd=tmp_path).stdout)
    result = lookalike(
        "match", str(obama[0]), str(junk["blank"]), str(obama[1]), "--together", "--json", cwd=tmp_path
    )
    assert result.returncode == 3  # the blank photo had no face: said, and left out
    blank, together = json_lines(result.stdout)
    assert blank["error"]["code"] == "no_face"
    assert together["photos"] == [str(obama[0]), str(obama[1])]
    first = together["matches"][0]
    assert first["name"] == "Barack Obama" and len(together["matches"]) == 5
    # ranked on the mean of the two faces: neither photo's own distance, and nearer his photos than the
    # farther of the two
    alone = [s["faces"][0]["matches"][0]["distance"] for s in singles]
    assert first["distance"] not in alone and first["distance"] < max(alone)
    assert (tmp_path / "obama.together.lookalike.jpg").is_file()

    table = lookalike(
        "match", *map(str, obama), "--together", "--out", str(tmp_path / "us.jpg"), cwd=tmp_path
    )
    assert table.returncode == 0 and "(2 faces, one answer)" in table.stdout
    assert Image.open(tmp_path / "us.jpg").format == "JPEG"


@pytest.mark.parametrize(
    "args",
    [["match"], ["match", "x.jpg", "--top", "0"], ["frobnicate"], ["match", "x.jpg", "--top", "many"], []],
)
def test_bad_usage_exits_2(args: list[str]) -> None:
    assert lookalike(*args).returncode == 2


def test_curating_the_gallery_from_the_command_line(tmp_path) -> None:
    db = tmp_path / "gallery.sqlite"
    added = lookalike(
        "add",
        "아이유",
        str(face("rose_leslie/rose_leslie_img1.jpg")),
        str(face("rose_leslie/rose_leslie_img2.jpg")),
        db=db,
    )
    assert added.returncode == 0 and "added 2" in added.stdout
    again = lookalike("add", "아이유", str(face("rose_leslie/rose_leslie_img1.jpg")), db=db)
    assert "duplicates 1" in again.stdout
    refused = lookalike("add", "Two People", str(face("multiple/two_people.jpg")), db=db)
    assert refused.returncode == 3 and "several_faces" in refused.stdout
    assert lookalike("rename", "아이유", "IU", db=db).returncode == 0
    assert lookalike("alias", "IU", "아이유", "이지은", db=db).returncode == 0
    listed = json_lines(lookalike("list", "--json", db=db).stdout)[0]
    assert listed["celebrities"] == [
        {"name": "IU", "photos": 2, "wikidata": None, "aliases": ["아이유", "이지은"]}
    ]
    assert listed["calibration"]["fitted"] is False and "too small" in listed["calibration"]["reason"]
    assert lookalike("rename", "이지은", "Lee Ji-eun", db=db).returncode == 0  # an alias names it too
    matched = json_lines(
        lookalike("match", str(face("multiple/test_kit_with_rose.jpg")), "--json", db=db, cwd=tmp_path).stdout
    )
    assert matched[0]["faces"][1]["matches"] == [matched[0]["faces"][1]["matches"][0]]  # one celebrity only
    assert matched[0]["faces"][1]["matches"][0]["name"] == "Lee Ji-eun"
    assert lookalike("remove", "아이유", db=db).returncode == 0
    missing = lookalike("remove", "Lee Ji-eun", db=db)
    assert missing.returncode == 1 and "no celebrity" in missing.stderr


def test_import_takes_both_layouts_and_is_idempotent(tmp_path) -> None:
    source = tmp_path / "celebs"
    (source / "Joe Biden").mkdir(parents=True)
    shutil.copy(face("joe_biden/biden.jpg"), source / "Joe Biden" / "a.jpg")
    shutil.copy(face("joe_biden/biden_biden2.jpg"), source / "Joe Biden" / "b.jpg")
    shutil.copy(face("multiple/two_people.jpg"), source / "Joe Biden" / "group.jpg")
    (source / "Joe Biden" / "readme.jpg").write_text("not a photo")
    shutil.copy(face("kit_harington/kit_harington_john1.jpeg"), source / "킷_해링턴.jpeg")
    shutil.copy(face("kit_harington/kit_harington_john2.jpeg"), source / "킷_해링턴_2.jpg")
    shutil.copy(face("rose_leslie/rose_leslie_img1.jpg"), source / "Rose Leslie.jpg")
    db = tmp_path / "g.sqlite"
    first = lookalike("import", str(source), db=db)
    assert first.returncode == 0, first.stderr
    assert "added 5, duplicates 0, rejected 2" in first.stdout
    assert "several_faces" in first.stdout and "bad_image" in first.stdout
    second = lookalike("import", str(source), db=db)
    assert "added 0, duplicates 5, rejected 2" in second.stdout
    listed = json_lines(lookalike("list", "--json", db=db).stdout)[0]["celebrities"]
    assert {c["name"]: c["photos"] for c in listed} == {"Joe Biden": 2, "킷 해링턴": 2, "Rose Leslie": 1}


def test_compare_gives_a_same_person_verdict() -> None:
    same = json_lines(
        lookalike(
            "compare",
            str(face("barack_obama/obama.jpg")),
            str(face("barack_obama/test_obama1.jpg")),
            "--json",
        ).stdout
    )[0]
    different = json_lines(
        lookalike(
            "compare", str(face("barack_obama/obama.jpg")), str(face("joe_biden/biden.jpg")), "--json"
        ).stdout
    )[0]
    assert same["same_person"] is True and same["distance"] < 0.6 < different["distance"]
    assert different["same_person"] is False and same["similarity"] > different["similarity"]


def test_map_and_export_show_the_gallery(tmp_path) -> None:
    out = tmp_path / "map.png"
    assert lookalike("map", str(face("barack_obama/test_obama1.jpg")), "--out", str(out)).returncode == 0
    assert Image.open(out).format == "PNG"
    assert lookalike("export", str(tmp_path / "proj")).returncode == 0
    vectors = (tmp_path / "proj" / "vectors.tsv").read_text().splitlines()
    labels = (tmp_path / "proj" / "metadata.tsv").read_text(encoding="utf-8").splitlines()
    assert len(vectors) == len(labels) == 8  # the demo gallery's photos
    assert all(len(line.split("\t")) == 128 for line in vectors)
    assert "Barack Obama" in labels


def test_a_huge_or_bomb_photo_is_refused_with_status_4(tmp_path) -> None:
    bomb = tmp_path / "bomb.png"
    buffer = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buffer, "PNG")
    bomb.write_bytes(buffer.getvalue())
    result = lookalike("match", str(bomb), "--json", cwd=tmp_path)
    assert result.returncode == 4
    error = json_lines(result.stdout)[0]["error"]
    assert error["code"] == "bad_image" and error["message"].startswith("too large")


def test_credits_list_the_demo_photos_while_the_demo_gallery_answers() -> None:
    result = lookalike("credits", "--json")
    assert result.returncode == 0 and "demo gallery" in result.stderr
    credits = json_lines(result.stdout)
    assert len(credits) == 8 and {c["license"] for c in credits} == {"MIT"}
    assert {c["name"] for c in credits} >= {"Barack Obama", "Joe Biden"}
    assert all(c["source"].startswith("https://github.com/ageitgey/face_recognition/") for c in credits)
