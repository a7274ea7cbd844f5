from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine.ranking import SAME_PERSON, FaceIndex, similarity


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
