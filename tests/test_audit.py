"""The audit: wrong photos and double names found from the gallery's own distances, decisions remembered."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from engine.audit import find_outliers, find_same_person, outlier_line, same_person_line
from engine.calibration import fit
from engine.faces import FaceModels
from store.audit import audit_gallery
from store.curate import add_file, import_folder
from store.gallery import Gallery
from tests.paths import REPO, face
from tests.test_cli import json_lines, lookalike

DEV = REPO.parent / "shared" / "data" / "embeddings-dev.npz"


@pytest.fixture(scope="module")
def east() -> tuple[np.ndarray, np.ndarray]:
    if not DEV.is_file():
        pytest.skip(f"the development embeddings are missing: {DEV}")
    data = np.load(DEV)
    return data["east_asian"], data["east_asian_labels"]


def _codes(labels: np.ndarray) -> np.ndarray:
    names = sorted(set(labels.tolist()))
    return np.array([names.index(v) for v in labels.tolist()])


def test_a_planted_photo_of_someone_else_is_the_one_reported(east) -> None:
    x, y = east
    people = sorted(set(y.tolist()))
    stranger, target = people[0], people[1]
    keep = y != stranger
    calibration = fit(x[keep], y[keep])
    wrong = x[y == stranger][0]
    vectors = np.concatenate([x[keep], wrong[None]])
    labels = np.concatenate([y[keep], [target]])
    ids = np.arange(len(vectors))
    found = find_outliers(vectors, _codes(labels), ids, outlier_line(calibration))
    assert ids[-1] in [o.photo_id for o in found]
    assert len(found) <= 3  # few false alarms among the 120-odd right photos
    # an admin who kept it never sees it again
    again = find_outliers(vectors, _codes(labels), ids, outlier_line(calibration), kept={int(ids[-1])})
    assert ids[-1] not in [o.photo_id for o in again]


def test_one_person_under_two_names_is_reported_and_a_distinct_pair_is_not(east) -> None:
    x, y = east
    calibration = fit(x, y)
    labels = y.astype(object).copy()
    person = max(set(y.tolist()), key=lambda p: (y == p).sum())
    rows = np.flatnonzero(y == person)
    labels[rows[: len(rows) // 2]] = person + " (한글)"
    codes = _codes(labels)
    pairs = find_same_person(x, codes, same_person_line(calibration))
    split = frozenset((int(codes[rows[0]]), int(codes[rows[-1]])))
    assert [frozenset((p.first, p.second)) for p in pairs] == [split]
    assert find_same_person(x, codes, same_person_line(calibration), distinct={split}) == []


@pytest.fixture(scope="module")
def obama_filed_as_biden(tmp_path_factory):
    """A folder of the shared faces with one Obama photo filed under Joe Biden (who has 2 photos)."""
    folder = tmp_path_factory.mktemp("faces") / "in"
    for person in ("joe_biden", "kit_harington", "alex_lacamoire", "rose_leslie", "lin_manuel_miranda"):
        shutil.copytree(face(person), folder / person)
    (folder / "barack_obama").mkdir()
    for name in ("obama.jpg", "obama2.jpg"):
        shutil.copy(face(f"barack_obama/{name}"), folder / "barack_obama")
    shutil.copy(face("barack_obama/test_obama1.jpg"), folder / "joe_biden" / "obama_not_biden.jpg")
    return folder


def test_the_audit_reports_an_obama_photo_filed_as_biden_with_its_source(
    tmp_path, obama_filed_as_biden
) -> None:
    db = tmp_path / "g.sqlite"
    assert lookalike("import", str(obama_filed_as_biden), db=db).returncode == 0
    result = lookalike("audit", "--json", db=db)
    assert result.returncode == 0, result.stderr
    findings = json_lines(result.stdout)
    assert len(findings) == 1
    (finding,) = findings
    assert finding["kind"] == "outlier" and finding["name"] == "joe_biden"
    assert finding["source"].endswith("joe_biden/obama_not_biden.jpg")
    assert set(finding) == {"kind", "name", "photo_id", "source", "distance"} and finding["distance"] > 0.6
    kept = lookalike("audit", "--keep", str(finding["photo_id"]), db=db)
    assert kept.returncode == 0, kept.stderr
    assert json_lines(lookalike("audit", "--json", db=db).stdout) == []


async def test_adding_a_photo_far_from_the_celebritys_others_warns_and_keeps_it(tmp_path) -> None:
    models = FaceModels()

    async def analyze(data: bytes, thorough: bool = False):
        return models.analyze(data, thorough=thorough)

    async with await Gallery.open(tmp_path / "g.sqlite") as gallery:
        biden = [face("joe_biden/biden.jpg"), face("joe_biden/biden_biden2.jpg")]
        first = [await add_file(gallery, analyze, "Joe Biden", p) for p in biden]
        assert [o.outlier for o in first] == [None, None]  # nothing to judge against yet
        right = await add_file(gallery, analyze, "Barack Obama", face("barack_obama/obama.jpg"))
        wrong = await add_file(gallery, analyze, "Joe Biden", face("barack_obama/obama2.jpg"))
        assert right.outlier is None
        assert wrong.status == "added" and wrong.outlier is not None and wrong.outlier > 0.6
        report = await audit_gallery(gallery)
        assert [s.photo_id for s in report.outliers] == [wrong.photo_id]
        assert report.outliers[0].source.endswith("obama2.jpg")

        # a zip unpacked into a temporary folder records where the photo was inside the zip
        folder = tmp_path / "unpacked"
        (folder / "Rose Leslie").mkdir(parents=True)
        shutil.copy(face("rose_leslie/rose_leslie_img1.jpg"), folder / "Rose Leslie" / "1.jpg")
        await import_folder(gallery, analyze, folder, origin="telegram-zip:celebs.zip")
        (record,) = await gallery.photo_records("Rose Leslie")
        assert record.source == "telegram-zip:celebs.zip/Rose Leslie/1.jpg"
