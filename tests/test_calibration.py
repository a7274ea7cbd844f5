"""The similarity % fitted on the gallery: on the development embeddings, tiny galleries, stored and refitted."""

from __future__ import annotations

import asyncio
import itertools
import json

import numpy as np
import pytest

from bot.handlers.admin import calibration_reason, calibration_text
from engine.calibration import Calibration, fit
from engine.faces import Face
from engine.ranking import similarity as fixed_similarity
from service.texts import EN, KO
from store.calibrate import Refitter, refit, stale
from store.gallery import Gallery
from tests.paths import REPO

DEV = REPO.parent / "shared" / "data" / "embeddings-dev.npz"


@pytest.fixture(scope="module")
def dev() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    if not DEV.is_file():
        pytest.skip(f"the development embeddings are missing: {DEV}")
    data = np.load(DEV)
    return {kind: (data[kind], data[f"{kind}_labels"]) for kind in ("east_asian", "western")}


def test_fitted_on_the_dev_embeddings_the_east_asian_50_point_moves_below_the_western_one(dev) -> None:
    east, west = fit(*dev["east_asian"]), fit(*dev["western"])
    assert east.fitted and west.fitted
    assert east.half_point < west.half_point
    assert east.boundary < west.boundary
    # dlib's fixed 50 % point lies between the two: it was right for neither population
    assert east.half_point < 0.6 < west.half_point


def test_the_fitted_percent_is_monotonic_and_a_persons_own_photos_score_high(dev) -> None:
    x, y = dev["east_asian"]
    people = sorted(set(y.tolist()))
    held = np.array([np.flatnonzero(y == p)[0] for p in people])  # one photo of each held out
    rest = np.setdiff1d(np.arange(len(y)), held)
    calibration = fit(x[rest], y[rest])
    grid = [calibration.similarity(d) for d in np.linspace(0.0, 1.4, 281)]
    assert all(a > b for a, b in itertools.pairwise(grid))
    own = []
    for row in held:
        mine = rest[y[rest] == y[row]]
        own.append(calibration.similarity(float(np.linalg.norm(x[mine] - x[row], axis=1).min())))
    assert np.mean(np.array(own) >= 50) >= 0.9


def test_a_tiny_gallery_keeps_the_fixed_curve_and_says_why(dev) -> None:
    x, y = dev["western"]
    few = np.isin(y, sorted(set(y.tolist()))[:4])
    calibration = fit(x[few], y[few])
    assert not calibration.fitted
    assert calibration.reason == "too small to fit: 4 celebrities, 4 with several photos (needs 10 and 5)"
    assert calibration.reason_code == "too_small"
    assert calibration.reason_params == {
        "celebrities": 4,
        "paired": 4,
        "min_celebrities": 10,
        "min_paired": 5,
    }
    # what a Korean admin reads in /stats, an English one the same line as the CLI
    assert calibration_text(KO, calibration) == (
        "닮은 정도 %: dlib 기본 곡선 (거리 0.60에서 50 %): 갤러리가 아직 작아서 맞출 수 없어요: 연예인 4명, "
        "그중 사진이 여러 장인 연예인 4명 (연예인 10명, 사진이 여러 장인 연예인 5명 이상 필요)."
    )
    assert calibration_reason(EN, calibration) == calibration.reason
    for distance in (0.2, 0.45, 0.6, 0.9):
        assert calibration.similarity(distance) == fixed_similarity(distance)


def test_a_calibration_survives_json_and_a_bad_one_falls_back(dev) -> None:
    calibration = fit(*dev["east_asian"])
    again = Calibration.from_json(calibration.to_json())
    assert again == calibration and again.similarity(0.5) == calibration.similarity(0.5)
    assert (again.reason_code, again.reason_params) == (
        "fitted",
        {"celebrities": 18, "photos": 133},
    )
    assert calibration_reason(KO, again) == "연예인 18명, 사진 133장으로 맞춤"
    unreadable = Calibration.from_json("{not json")
    assert not unreadable.fitted and unreadable.reason_code == "unreadable"
    other = Calibration.from_json('{"version": 99, "fitted": true}')
    assert not other.fitted and (other.reason, other.reason_code) == (
        "stored calibration is of another version",
        "other_version",
    )
    incomplete = Calibration.from_json('{"version": 1, "fitted": true, "nearest_other": [0.5]}')
    assert (
        incomplete.reason_code == "incomplete"
        and calibration_reason(KO, incomplete) == "저장된 보정이 온전하지 않아요"
    )
    assert (
        Calibration().reason_code == "not_fitted"
        and calibration_reason(KO, Calibration()) == "아직 갤러리에 맞추지 않았어요"
    )


def test_a_calibration_stored_before_the_codes_gets_them_from_its_line(dev) -> None:
    x, y = dev["western"]
    few = np.isin(y, sorted(set(y.tolist()))[:4])
    for calibration in (fit(*dev["east_asian"]), fit(x[few], y[few])):
        stored = json.loads(calibration.to_json())
        del stored["reason_code"], stored["reason_params"]
        again = Calibration.from_json(json.dumps(stored))
        assert (again.reason, again.reason_code, again.reason_params) == (
            calibration.reason,
            calibration.reason_code,
            calibration.reason_params,
        )
    odd = Calibration.from_json(json.dumps({**stored, "reason": "something else"}))
    assert odd.reason_code == "" and calibration_reason(KO, odd) == "something else"  # no code: the English


def _face(vector: np.ndarray) -> Face:
    return Face(box=(0, 100, 100, 0), embedding=np.asarray(vector, np.float32), thumbnail=b"jpeg")


async def _fill(gallery: Gallery, x: np.ndarray, y: np.ndarray) -> None:
    for i, (vector, label) in enumerate(zip(x, y, strict=True)):
        await gallery.add_face(str(label), _face(vector), f"hash-{label}-{i}")


async def test_the_gallery_stores_its_fit_and_ranks_with_it_after_a_reopen(tmp_path, dev) -> None:
    x, y = dev["east_asian"]
    db = tmp_path / "g.sqlite"
    async with await Gallery.open(db) as gallery:
        await _fill(gallery, x[1:], y[1:])
        assert stale(gallery) and not gallery.calibration.fitted
        before = gallery.rank(x[0], 3)
        calibration = await refit(gallery)
        assert calibration.fitted and not stale(gallery)
    async with await Gallery.open(db) as reopened:
        assert reopened.calibration == calibration
        ranking = reopened.rank(x[0], 3)
    assert [m.name for m in ranking] == [m.name for m in before]  # the order is the distances'
    for match in ranking:
        assert match.similarity == pytest.approx(calibration.similarity(match.distance))
    # the fixed curve told this East-Asian query it was over 50 % like someone else; the fit does not
    assert before[1].similarity > ranking[1].similarity


async def test_the_refitter_refits_once_after_a_burst_of_adds_and_a_removal(tmp_path, dev) -> None:
    x, y = dev["western"]
    async with await Gallery.open(tmp_path / "g.sqlite") as gallery:
        refitter = Refitter(gallery, delay=0.2)
        fits = []
        original = gallery.set_value

        async def counting(key: str, value: str) -> None:
            fits.append(key)
            await original(key, value)

        gallery.set_value = counting  # type: ignore[method-assign]
        await _fill(gallery, x, y)
        assert fits == [] and not gallery.calibration.fitted  # answers never waited for a fit
        await asyncio.sleep(0.5)
        await refitter.wait()
        assert fits == ["calibration"] and gallery.calibration.fitted
        assert gallery.calibration.photos == len(x)
        await gallery.remove(str(y[0]))
        await asyncio.sleep(0.5)
        await refitter.close()
        assert len(fits) == 2 and gallery.calibration.photos == gallery.photo_count


def test_the_leave_people_out_bench_brings_the_two_galleries_together(dev) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "calibration.py"), "--splits", "3", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    east, west = report["east_asian"], report["western"]

    def gap(kind: str) -> float:
        return abs(east[kind]["best_other_median"] - west[kind]["best_other_median"])

    assert gap("fitted") < 15 < gap("fixed")
    for side in (east, west):
        assert side["fitted"]["own_at_least_50"] >= 0.9
        assert side["audit"]["wrong_found"] >= 0.5
