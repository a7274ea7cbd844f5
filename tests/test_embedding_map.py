"""PCA of embeddings against numpy's SVD, and the rendered scatter map decoded back as PNG."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageChops

from engine import embedding_map
from engine.embedding_map import PCA, pca_2d, render_map
from engine.fonts import clean_text, has_glyphs


def random_embeddings(n: int, seed: int = 0) -> np.ndarray:
    """Count and seed -> (n, 128) float32 vectors shaped like dlib embeddings (|v| around 1)."""
    rng = np.random.default_rng(seed)
    return (rng.normal(0, 0.09, (n, 128)) + rng.normal(0, 0.05, 128)).astype(np.float32)


def decode(data: bytes) -> Image.Image:
    """PNG bytes -> decoded RGB image, after checking the format."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    im = Image.open(io.BytesIO(data))
    assert im.format == "PNG"
    im.load()
    return im.convert("RGB")


# --- PCA -------------------------------------------------------------------------------------------------


def test_pca_matches_numpy_svd_up_to_sign() -> None:
    x = random_embeddings(60)
    coords, pca = pca_2d(x)
    centred = x.astype(np.float64) - x.astype(np.float64).mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    expected = centred @ vt[:2].T
    assert coords.shape == (60, 2)
    for j in range(2):
        assert np.allclose(coords[:, j], expected[:, j], atol=1e-6) or np.allclose(
            coords[:, j], -expected[:, j], atol=1e-6
        )
    assert np.allclose(pca.explained_variance_ratio_, s[:2] ** 2 / np.sum(s**2))
    assert pca.explained_variance_ratio_[0] >= pca.explained_variance_ratio_[1] > 0


def test_pca_transform_projects_new_points_like_the_fit() -> None:
    x = random_embeddings(30, seed=1)
    coords, pca = pca_2d(x)
    assert np.allclose(pca.transform(x), coords)
    one = pca.transform(x[3])
    assert one.shape == (2,) and np.allclose(one, coords[3])
    with pytest.raises(ValueError):
        pca.transform(np.zeros(64))


def test_pca_sign_is_deterministic() -> None:
    x = random_embeddings(25, seed=2)
    a, _ = pca_2d(x)
    b, _ = pca_2d(x[::-1].copy())
    assert np.allclose(a[::-1], b, atol=1e-6)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_pca_degenerate_inputs_are_finite(n: int) -> None:
    x = random_embeddings(n, seed=3)
    coords, pca = pca_2d(x)
    assert coords.shape == (n, 2) and np.isfinite(coords).all()
    assert np.isfinite(pca.explained_variance_ratio_).all()
    assert np.isfinite(pca.transform(random_embeddings(1, seed=9)[0])).all()
    if n == 1:
        assert np.allclose(coords, 0)
    if n == 2:  # two points: they lie on PC1, symmetric about the mean
        assert np.allclose(coords[:, 1], 0, atol=1e-6)
        assert np.isclose(coords[0, 0], -coords[1, 0])
        assert np.isclose(abs(coords[0, 0] - coords[1, 0]), np.linalg.norm(x[0] - x[1]), rtol=1e-5)


def test_pca_identical_vectors_give_zero_variance() -> None:
    x = np.repeat(random_embeddings(1), 4, axis=0)
    coords, pca = pca_2d(x)
    assert np.allclose(coords, 0) and np.allclose(pca.explained_variance_ratio_, 0)


@pytest.mark.parametrize("bad", [np.zeros((0, 128)), np.zeros(128), np.full((3, 128), np.nan)])
def test_pca_rejects_bad_input(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        pca_2d(bad)


# --- render_map ------------------------------------------------------------------------------------------

NAMES = [
    "아이유",
    "아이유",
    "박서준",
    "Barack Obama",
    "Barack Obama",
    "Barack Obama",
    "김수현",
    "Rose Leslie",
]


def test_render_map_is_a_png_with_hangul_labels() -> None:
    x = random_embeddings(len(NAMES), seed=4)
    coords, pca = pca_2d(x)
    im = decode(render_map(coords, NAMES, pca.transform(x[0]), "나", "임베딩 지도", pca=pca))
    assert im.size == (embedding_map.WIDTH, embedding_map.HEIGHT)
    assert all(has_glyphs(clean_text(n)) for n in [*NAMES, "나", "임베딩 지도"])


def test_render_map_draws_the_query_marker_where_the_query_is() -> None:
    # Points at the corners, query in the empty middle: the ranges (and so the axes) do not change.
    points = np.array([[-1.0, -1.0], [1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]])
    names = ["a", "b", "c", "d"]
    query = np.array([0.3, 0.2])
    without = decode(render_map(points, names, None, "You", "map"))
    with_query = decode(render_map(points, names, query, "You", "map"))
    assert ImageChops.difference(without, with_query).getbbox() is not None

    frame = embedding_map._frame(points, query, legend=True)
    px, py = (round(v / embedding_map.SS) for v in frame.to_px(*query))
    star = with_query.getpixel((px, py))
    plain = without.getpixel((px, py))
    assert max(star) < 60, star  # the black star's centre
    assert min(plain) > 200, plain  # empty white plot area there without a query


def test_render_map_accepts_a_raw_embedding_as_query() -> None:
    x = random_embeddings(10, seed=5)
    coords, pca = pca_2d(x)
    names = [f"연예인 {i}" for i in range(10)]
    a = decode(render_map(coords, names, x[2], "me", "t", pca=pca))
    b = decode(render_map(coords, names, pca.transform(x[2]), "me", "t", pca=pca))
    assert ImageChops.difference(a, b).getbbox() is None
    with pytest.raises(ValueError):
        render_map(coords, names, x[2], "me", "t")  # a 128-D query needs the PCA to project it


@pytest.mark.parametrize("n", [1, 2, 500])
def test_render_map_sizes(n: int) -> None:
    x = random_embeddings(n, seed=6)
    coords, pca = pca_2d(x)
    names = [f"Celebrity {i % 150}" if i % 3 else f"연예인 {i % 150}" for i in range(n)]
    decode(render_map(coords, names, pca.transform(x[0]), "You", f"{n} photos", pca=pca))


def test_render_map_tolerates_odd_input() -> None:
    points = np.array([[0.0, 0.0], [np.nan, 1.0], [1.0, 1.0]])
    decode(render_map(points, ["\u202e😀", "nan", "x" * 300], np.array([np.inf, 0.0]), "", ""))
    decode(render_map(np.zeros((0, 2)), [], None, "", "empty"))
    with pytest.raises(ValueError, match="names"):
        render_map(points, ["a"], None, "", "")
    assert isinstance(pca_2d(random_embeddings(3))[1], PCA)
