"""TensorFlow Projector files (projector.tensorflow.org): the gallery's embeddings and their labels."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def write_projector_files(folder: Path, vectors: np.ndarray, names: Sequence[str]) -> tuple[Path, Path]:
    """Write `vectors.tsv` (one embedding per line) and `metadata.tsv` (one label per line, no header,
    as the Projector expects for a single column). Returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    vectors_path, metadata_path = folder / "vectors.tsv", folder / "metadata.tsv"
    with vectors_path.open("w", encoding="utf-8", newline="\n") as out:
        for row in np.asarray(vectors, dtype=np.float32):
            out.write("\t".join(f"{x:.6f}" for x in row) + "\n")
    with metadata_path.open("w", encoding="utf-8", newline="\n") as out:
        for name in names:
            out.write(_tsv_safe(name) + "\n")
    return vectors_path, metadata_path


def _tsv_safe(text: str) -> str:
    """Tabs and newlines would break the TSV: replace them with spaces."""
    return " ".join(text.replace("\t", " ").splitlines())
