"""bench/steadiness_space.py measures what it says: its baseline is the bot's ranking, its fitted spaces
fall back to dlib's own for galleries with nothing to fit on."""

from __future__ import annotations

import numpy as np
import pytest

from bench.steadiness_space import Ranked, fit_space
from engine.ranking import FaceIndex
from tests.paths import REPO

DEV = REPO.parent / "shared" / "data" / "embeddings-dev.npz"


@pytest.fixture(scope="module")
def east_asian() -> tuple[np.ndarray, np.ndarray]:
    if not DEV.is_file():
        pytest.skip(f"the development embeddings are missing: {DEV}")
    data = np.load(DEV)
    return data["east_asian"].astype(np.float64), data["east_asian_labels"]


def split(x: np.ndarray, y: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """A gallery of the first 12 people, and the photos of the other 6 as strangers' queries."""
    people = sorted(set(y.tolist()))
    gallery = {name: x[y == name] for name in people[:12]}
    strangers = x[np.isin(y, people[12:])]
    return gallery, strangers


def test_the_bench_baseline_picks_the_same_first_celebrity_as_the_bots_index(east_asian) -> None:
    gallery, strangers = split(*east_asian)
    names = list(gallery)
    index = FaceIndex(approximate_above=None)
    for code, name in enumerate(names):
        photos = gallery[name].astype(np.float32)
        index.extend(np.arange(len(index), len(index) + len(photos)), np.full(len(photos), code), photos)
    ranked = Ranked(gallery)
    for query in strangers:
        assert ranked.first(query, "nearest", 1.0) == names[index.rank(query, 1)[0].celebrity_id]


def test_a_fitted_space_ranks_as_dlibs_when_no_celebrity_has_two_photos(east_asian) -> None:
    x, y = east_asian
    gallery, strangers = split(x, y)
    singles = {name: photos[:1] for name, photos in gallery.items()}
    rows = np.concatenate(list(singles.values()))
    labels = np.array(list(singles))
    dlib_space = Ranked(singles)
    for space_name in ("WCCN a=rule", "WCCN^1/2 a=rule"):
        space = fit_space(space_name, rows, labels)
        fitted = Ranked({name: space(photos) for name, photos in singles.items()})
        firsts = [fitted.first(space(q), "nearest", 1.0) for q in strangers]
        assert firsts == [dlib_space.first(q, "nearest", 1.0) for q in strangers]


def test_with_photos_to_fit_on_the_whitened_space_is_not_dlibs(east_asian) -> None:
    gallery, _ = split(*east_asian)
    rows = np.concatenate(list(gallery.values()))
    labels = np.concatenate([[name] * len(photos) for name, photos in gallery.items()])
    space = fit_space("WCCN a=rule", rows, labels)
    mapped = space(np.eye(128))
    # not a multiple of the identity: some directions are damped more than others
    scales = np.linalg.svd(mapped, compute_uv=False)
    assert scales.max() / scales.min() > 1.5
