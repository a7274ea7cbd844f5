from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine.ranking import SAME_PERSON, FaceIndex, Hit, keep_previous, similarity
from tests.paths import REPO

DEV = REPO.parent / "shared" / "data" / "embeddings-dev.npz"


def _gallery(rng: np.random.Generator, celebrities: int, per: int) -> tuple[np.ndarray, np.ndarray]:
    centres = rng.normal(0, 0.1, (celebrities, 128)).astype(np.float32)
    labels = np.repeat(np.arange(celebrities), per)
    vectors = centres[labels] + rng.normal(0, 0.03, (labels.size, 128)).astype(np.float32)
    return vectors, labels


def _brute_force(
    vectors: np.ndarray, labels: np.ndarray, query: np.ndarray, k: int
) -> list[tuple[int, float]]:
    """The notebook's way: every distance, the minimum per celebrity, sorted."""
    distances = np.linalg.norm(vectors.astype(np.float64) - query, axis=1)
    best: dict[int, float] = {}
    for label, distance in zip(labels.tolist(), distances.tolist(), strict=True):
        best[label] = min(best.get(label, np.inf), distance)
    return sorted(best.items(), key=lambda item: item[1])[:k]


def test_ranking_matches_brute_force_with_distinct_celebrities() -> None:
    rng = np.random.default_rng(7)
    vectors, labels = _gallery(rng, celebrities=300, per=7)
    index = FaceIndex(capacity=16)  # forces several doublings
    index.extend(np.arange(labels.size) + 1000, labels, vectors)
    for _ in range(20):
        query = vectors[rng.integers(labels.size)] + rng.normal(0, 0.05, 128).astype(np.float32)
        hits = index.rank(query, k=5)
        expected = _brute_force(vectors, labels, query, 5)
        assert [h.celebrity_id for h in hits] == [label for label, _ in expected]
        assert [h.distance for h in hits] == pytest.approx([d for _, d in expected], abs=1e-4)
        assert len({h.celebrity_id for h in hits}) == 5


def test_a_celebrity_with_many_close_photos_appears_once() -> None:
    rng = np.random.default_rng(1)
    query = rng.normal(0, 0.1, 128).astype(np.float32)
    crowd = query + rng.normal(0, 0.001, (500, 128)).astype(np.float32)  # 500 photos of one person
    others = rng.normal(0, 0.1, (10, 128)).astype(np.float32)
    index = FaceIndex()
    index.extend(np.arange(500), np.zeros(500, dtype=np.int64), crowd)
    index.extend(np.arange(500, 510), np.arange(1, 11), others)
    hits = index.rank(query, k=5)
    assert hits[0].celebrity_id == 0
    assert len({h.celebrity_id for h in hits}) == 5


def test_ranking_lists_at_most_the_celebrities_there_are() -> None:
    index = FaceIndex()
    index.extend(np.arange(4), np.array([1, 1, 2, 3]), np.random.default_rng(0).normal(0, 0.1, (4, 128)))
    assert len(index.rank(np.zeros(128), k=5)) == 3
    assert FaceIndex().rank(np.zeros(128), k=5) == []


def test_removing_keeps_the_index_consistent() -> None:
    rng = np.random.default_rng(3)
    vectors, labels = _gallery(rng, celebrities=20, per=3)
    index = FaceIndex()
    index.extend(np.arange(labels.size), labels, vectors)
    index.remove_celebrity(4)
    index.remove_photos(np.array([0]))
    assert 4 not in index.celebrity_ids.tolist() and 0 not in index.photo_ids.tolist()
    keep = (labels != 4) & (np.arange(labels.size) != 0)
    query = vectors[5]
    hits = index.rank(query, k=5)
    expected = _brute_force(vectors[keep], labels[keep], query, 5)
    assert [h.celebrity_id for h in hits] == [label for label, _ in expected]


def test_similarity_is_monotonic_and_centred_on_dlibs_threshold() -> None:
    distances = np.linspace(0, 1.5, 200)
    values = [similarity(d) for d in distances]
    assert all(a > b for a, b in itertools.pairwise(values))
    assert similarity(SAME_PERSON) == pytest.approx(50.0)
    assert similarity(0.0) > 99 and similarity(1.2) < 1
    assert all(0.0 <= v <= 100.0 for v in values)


# The approximate path (HNSW graph) for huge galleries, with the threshold lowered to test sizes


def _dlib_like(rng: np.random.Generator, celebrities: int, per: int) -> tuple[np.ndarray, np.ndarray]:
    """Spreads like bench/run.py's synthetic dlib embeddings: identities sd 0.054, photos sd 0.018."""
    centres = rng.normal(0, 0.054, (celebrities, 128)).astype(np.float32)
    labels = np.repeat(np.arange(celebrities), per)
    return centres[labels] + rng.normal(0, 0.018, (labels.size, 128)).astype(np.float32), labels


def _strangers(rng: np.random.Generator, count: int) -> np.ndarray:
    """Users' faces: nobody in the gallery (the hard case for a graph: nothing is much nearer)."""
    return rng.normal(0, 0.057, (count, 128)).astype(np.float32)


def _pairs(hits: list) -> list[tuple[int, int]]:
    return [(h.celebrity_id, h.photo_id) for h in hits]


def _agreement(approximate: FaceIndex, exact: FaceIndex, queries: np.ndarray) -> float:
    same = sum(_pairs(approximate.rank(q, 5)) == _pairs(exact.rank(q, 5)) for q in queries)
    return same / len(queries)


def test_the_approximate_path_ranks_like_the_exact_one() -> None:
    rng = np.random.default_rng(11)
    vectors, labels = _dlib_like(rng, celebrities=500, per=8)
    photos = np.arange(labels.size) + 100
    exact = FaceIndex(approximate_above=None)
    exact.extend(photos, labels, vectors)
    approximate = FaceIndex(capacity=16, approximate_above=3000, background=False)
    approximate.extend(photos[:2000], labels[:2000], vectors[:2000])
    assert not approximate.approximate  # below the threshold: exact
    approximate.extend(photos[2000:], labels[2000:], vectors[2000:])  # crosses it: the graph is built
    assert approximate.approximate
    queries = _strangers(rng, 200)
    assert _agreement(approximate, exact, queries) >= 0.99
    for query in queries[:20]:  # distances are exact, re-scored from the matrix
        for hit in approximate.rank(query, 5):
            row = hit.photo_id - 100
            assert hit.celebrity_id == labels[row]
            assert hit.distance == pytest.approx(float(np.linalg.norm(vectors[row] - query)), abs=1e-4)
            assert len({h.celebrity_id for h in approximate.rank(query, 5)}) == 5


def test_the_approximate_path_follows_adds_and_removals() -> None:
    rng = np.random.default_rng(12)
    vectors, labels = _dlib_like(rng, celebrities=400, per=8)
    photos = np.arange(labels.size)
    exact = FaceIndex(approximate_above=None)
    approximate = FaceIndex(approximate_above=2000, background=False)
    for index in (exact, approximate):
        index.extend(photos, labels, vectors)
    assert approximate.approximate
    # One photo at a time (straight into the graph) and a bulk import (caught up by the builder).
    extra, extra_labels = _dlib_like(rng, celebrities=200, per=8)
    extra_labels += 1000
    extra_photos = np.arange(extra_labels.size) + 10_000
    for index in (exact, approximate):
        for i in range(5):
            index.add(int(extra_photos[i]), int(extra_labels[i]), extra[i])
        index.extend(extra_photos[5:], extra_labels[5:], extra[5:])
    assert approximate.approximate
    assert _pairs(approximate.rank(extra[3], 1)) == [(int(extra_labels[3]), int(extra_photos[3]))]
    # Removals: a celebrity, and single photos.
    gone_photos = photos[labels == 7]
    target = vectors[labels == 7][0]
    for index in (exact, approximate):
        index.remove_celebrity(7)
        index.remove_photos(np.array([extra_photos[3], 0, 1]))
    hits = approximate.rank(target, 5)
    assert 7 not in {h.celebrity_id for h in hits}
    assert not set(gone_photos.tolist()) & {h.photo_id for h in hits}
    assert int(extra_photos[3]) not in {h.photo_id for h in approximate.rank(extra[3], 5)}
    assert _agreement(approximate, exact, _strangers(rng, 200)) >= 0.99


def test_the_graph_builds_in_the_background_and_exact_ranks_meanwhile() -> None:
    rng = np.random.default_rng(13)
    vectors, labels = _dlib_like(rng, celebrities=400, per=8)
    exact = FaceIndex(approximate_above=None)
    exact.extend(np.arange(labels.size), labels, vectors)
    index = FaceIndex(approximate_above=1000)
    index.extend(np.arange(labels.size), labels, vectors)
    queries = _strangers(rng, 100)
    for query in queries[:5]:  # while the graph is being built (or once it is): the same answers
        assert _pairs(index.rank(query, 5)) == _pairs(exact.rank(query, 5))
    assert index.wait_approximate(timeout=60)
    assert _agreement(index, exact, queries) >= 0.99


def test_below_the_threshold_the_exact_path_is_used_and_the_graph_let_go() -> None:
    rng = np.random.default_rng(14)
    vectors, labels = _dlib_like(rng, celebrities=300, per=8)
    index = FaceIndex(approximate_above=5000, background=False)
    index.extend(np.arange(labels.size), labels, vectors)
    assert not index.approximate and index._graph is None
    index.approximate_above = 2000
    index.add(99_999, 999, vectors[0])  # crosses the new threshold: built
    assert index.approximate
    index.remove_celebrity(999)
    index.remove_photos(np.arange(1500))  # 900 left, under half of the threshold: the graph goes
    assert not index.approximate and index._graph is None
    exact = FaceIndex(approximate_above=None)
    exact.extend(np.arange(1500, labels.size), labels[1500:], vectors[1500:])
    query = _strangers(rng, 1)[0]
    assert _pairs(index.rank(query, 5)) == _pairs(exact.rank(query, 5))


def test_many_removals_rebuild_the_graph_without_their_tombstones() -> None:
    rng = np.random.default_rng(15)
    vectors, labels = _dlib_like(rng, celebrities=400, per=8)
    index = FaceIndex(approximate_above=1000, background=False)
    index.extend(np.arange(labels.size), labels, vectors)
    first = index.graph
    assert first is not None and len(first) == labels.size
    index.remove_photos(np.arange(100))  # a few tombstones: the same graph
    assert index.graph is first and len(first) == labels.size - 100
    index.remove_photos(np.arange(100, 1000))  # over a fifth of it removed: built afresh
    assert index.graph is not first and index.approximate
    assert index.graph is not None and len(index.graph) == labels.size - 1000
    exact = FaceIndex(approximate_above=None)
    exact.extend(np.arange(1000, labels.size), labels[1000:], vectors[1000:])
    assert _agreement(index, exact, _strangers(rng, 50)) >= 0.98


def _hits(*distances: float) -> list[Hit]:
    return [Hit(celebrity_id=i, photo_id=100 + i, distance=d) for i, d in enumerate(distances)]


def _ids(hits: list[Hit]) -> list[int]:
    return [h.celebrity_id for h in hits]


def test_a_previous_answer_in_a_near_tie_moves_to_the_top_and_the_rest_keep_their_order() -> None:
    hits = _hits(0.50, 0.51, 0.515, 0.60, 0.70)
    kept = keep_previous(hits, 2, key=lambda h: h.celebrity_id, margin=0.02)
    assert _ids(kept) == [2, 0, 1, 3, 4]
    assert kept[0].distance == 0.515  # shown as it is: only the order changes


def test_a_previous_answer_past_the_margin_or_absent_changes_nothing() -> None:
    hits = _hits(0.50, 0.51, 0.55, 0.60)
    key = lambda h: h.celebrity_id  # noqa: E731
    assert _ids(keep_previous(hits, 2, key=key, margin=0.02)) == [0, 1, 2, 3]  # 0.05 behind
    assert _ids(keep_previous(hits, 9, key=key, margin=0.02)) == [0, 1, 2, 3]  # not in the top
    assert _ids(keep_previous(hits, None, key=key)) == [0, 1, 2, 3]
    assert _ids(keep_previous(hits, 0, key=key)) == [0, 1, 2, 3]  # already first
    assert keep_previous([], 1, key=key) == []


def test_a_kept_previous_answer_never_displaces_a_persons_own_celebrity() -> None:
    """Top-1 identification is unchanged by the memory (development embeddings, both kinds of faces): a
    held-out photo of a gallery person ranks its own celebrity first whatever the previous answer was."""
    if not DEV.is_file():
        pytest.skip(f"the development embeddings are missing: {DEV}")
    data = np.load(DEV)
    for kind in ("east_asian", "western"):
        x, y = data[kind], data[f"{kind}_labels"]
        people = sorted(set(y.tolist()))
        index, held = FaceIndex(approximate_above=None), []
        for code, name in enumerate(people):
            rows = np.flatnonzero(y == name)
            held.append((code, rows[0]))
            index.extend(rows[1:], np.full(len(rows) - 1, code), x[rows[1:]])
        for own, row in held:
            ranking = index.rank(x[row], 5)
            assert ranking[0].celebrity_id == own
            for previous in (h.celebrity_id for h in ranking[1:]):
                kept = keep_previous(ranking, previous, key=lambda h: h.celebrity_id)
                assert kept[0].celebrity_id == own
