"""The measurement behind the ranking rule: how to turn a celebrity's several photos into one distance.

    uv run python bench/aggregation.py

Every single-identity photo of the shared faces is embedded with `FaceModels`. Each photo in turn is the
query; its group (the photo and its near-duplicate frames) is left out of the gallery, and the remaining
photos rank the celebrities under three rules:

- "min": the distance to the celebrity's nearest photo (what `FaceIndex.rank` does);
- "mean": the mean distance to the celebrity's photos;
- "centroid": the distance to the mean of the celebrity's embeddings.

A hit is the query's own celebrity ranked first; the margin is the distance to the nearest other
celebrity minus the distance to the own one (positive when right, and by how much). A table goes to
stderr and one JSON line to stdout.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from engine.faces import FaceModels  # noqa: E402
from tests.paths import FACES_DIR, manifest  # noqa: E402

# Frames of one photo at several sizes, or crops and re-encodings of one photo: left out together,
# or the query would find itself. The video frames, obama.jpg, obama_small.jpg and the partial faces are
# all the same official portrait (letterboxed, cropped, scaled: 0.05-0.15 apart, where two photos of
# one person are 0.3-0.5 apart), so they form one group.
NEAR_DUPLICATES = [
    {
        "obama-240p.jpg",
        "obama-480p.jpg",
        "obama-720p.jpg",
        "obama-1080p.jpg",
        "obama.jpg",
        "obama_small.jpg",
        "obama_partial_face.jpg",
        "obama_partial_face2.jpg",
    },
    {"32bit.png", "obama2.jpg"},
]
SAME_PHOTO = 0.2  # closer than this, two embeddings are taken for one photo: warn if groups split them

Rule = Callable[[np.ndarray, np.ndarray], float]  # (query, one celebrity's embeddings) -> distance


def _min(query: np.ndarray, photos: np.ndarray) -> float:
    return float(np.linalg.norm(photos - query, axis=1).min())


def _mean(query: np.ndarray, photos: np.ndarray) -> float:
    return float(np.linalg.norm(photos - query, axis=1).mean())


def _centroid(query: np.ndarray, photos: np.ndarray) -> float:
    return float(np.linalg.norm(photos.mean(axis=0) - query))


RULES: dict[str, Rule] = {"min": _min, "mean": _mean, "centroid": _centroid}


@dataclass(frozen=True)
class Photo:
    name: str  # path inside the shared faces folder
    identity: str
    group: str
    embedding: np.ndarray


def group_of(path: Path) -> str:
    """The leave-out group of a photo: its near-duplicate set, or the photo alone."""
    for number, names in enumerate(NEAR_DUPLICATES):
        if path.name in names:
            return f"near-duplicates {number + 1}"
    return path.name


def embed_photos(models: FaceModels) -> tuple[list[Photo], list[str]]:
    """The largest face of every single-identity photo; and the photos where no face was found."""
    photos: list[Photo] = []
    faceless: list[str] = []
    for path, identity in manifest():
        if identity == "multiple":
            continue
        name = str(path.relative_to(FACES_DIR))
        analysis = models.analyze(path)
        if not analysis.faces:
            faceless.append(name)
            continue
        photos.append(Photo(name, identity, group_of(path), analysis.faces[0].embedding.astype(np.float64)))
    return photos, faceless


def unlisted_near_duplicates(photos: list[Photo]) -> list[tuple[str, str, float]]:
    """Pairs in different groups that look like one photo (a new file in the shared folder, say)."""
    pairs = []
    for i, a in enumerate(photos):
        for b in photos[i + 1 :]:
            distance = float(np.linalg.norm(a.embedding - b.embedding))
            if a.group != b.group and distance < SAME_PHOTO:
                pairs.append((a.name, b.name, round(distance, 3)))
    return pairs


def evaluate(photos: list[Photo], rule: Rule) -> dict:
    """Leave-one-group-out top-1 hits and margins of one rule (queries whose celebrity has no photo
    outside the group are skipped: there is nothing to find)."""
    hits = 0
    margins: list[float] = []
    for query in photos:
        gallery: dict[str, list[np.ndarray]] = {}
        for photo in photos:
            if photo.group != query.group:
                gallery.setdefault(photo.identity, []).append(photo.embedding)
        if query.identity not in gallery or len(gallery) < 2:
            continue
        distances = {who: rule(query.embedding, np.array(embs)) for who, embs in gallery.items()}
        own = distances.pop(query.identity)
        nearest_other = min(distances.values())
        hits += own < nearest_other
        margins.append(nearest_other - own)
    return {
        "queries": len(margins),
        "top1": hits,
        "top1_rate": round(hits / len(margins), 4) if margins else None,
        "mean_margin": round(float(np.mean(margins)), 4) if margins else None,
        "min_margin": round(float(np.min(margins)), 4) if margins else None,
    }


def main() -> int:
    photos, faceless = embed_photos(FaceModels())
    identities = sorted({p.identity for p in photos})
    print(
        f"{len(photos)} single-identity photos of {len(identities)} celebrities embedded, "
        f"{len({p.group for p in photos})} leave-out groups"
        + (f"; no face found in {', '.join(faceless)}" if faceless else ""),
        file=sys.stderr,
    )
    suspects = unlisted_near_duplicates(photos)
    for a, b, distance in suspects:
        print(f"warning: {a} and {b} are {distance} apart but in different groups", file=sys.stderr)
    results = {name: evaluate(photos, rule) for name, rule in RULES.items()}
    print(f"{'rule':<10}{'queries':>8}{'top-1':>8}{'mean margin':>13}{'min margin':>12}", file=sys.stderr)
    for name, r in results.items():
        print(
            f"{name:<10}{r['queries']:>8}{r['top1']:>8}{r['mean_margin']:>13.4f}{r['min_margin']:>12.4f}",
            file=sys.stderr,
        )
    groups = len({p.group for p in photos})
    print(
        json.dumps(
            {
                "photos": len(photos),
                "groups": groups,
                "faceless": faceless,
                "unlisted_near_duplicates": suspects,
                "rules": results,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
