"""The answer pictures' drawing time: `engine.pictures` now against `engine/collage.py` as it was before
the speed-up (commit `BEFORE_SPEEDUP`, loaded from git into a module of its own by
`tests/test_collage.py: collage_at`, as the test that pins the pictures does), side by side in one run.

    uv run python bench/collage.py            # 40 rounds
    uv run python bench/collage.py --rounds 100 --json

Inputs are what the bot draws: 256 px JPEG face thumbnails (`engine.faces.face_thumbnail` of the shared
test photos, decoded as `service.render.face_image` does), five matches, Korean and English labels, a footer
and a credits line. Names, numbers and credits change every round (a real answer's do), so no cache
gets a hit the bot would not get; the labels, title and footer stay (they come from the language).

- collage: `render_collage`, Korean and English rounds alternating;
- board: `render_board`, a target and 12 players;
- pairs: `render_pairs`, 6 pairs.

Each is timed old and new in interleaved rounds (random order each round, `bench.common.interleaved`),
so a burst of other work on this shared machine hits both sides; medians in ms, the ratio new ÷ old, and
the JPEG sizes. Progress and a table go to stderr; with --json the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import interleaved, log, machine, median_ms  # noqa: E402
from engine import pictures  # noqa: E402
from engine.faces import face_thumbnail  # noqa: E402
from engine.pictures import CollageText, Tile  # noqa: E402
from tests.paths import face  # noqa: E402
from tests.test_collage import BEFORE_SPEEDUP as BASE  # noqa: E402
from tests.test_collage import BOXES, EN, KO, collage_at  # noqa: E402

NAMES = [
    "아이유",
    "Rose Leslie",
    "박서준",
    "Kit Harington",
    "Alexandria Ocasio-Cortez 알렉산드리아",
    "김연아",
]


def thumbnails() -> list[Image.Image]:
    """The shared faces as the bot holds them: 256 px JPEG thumbnails, decoded to RGB."""
    images = []
    for relative, box in BOXES.items():
        with Image.open(face(relative)) as photo:
            pixels = np.asarray(photo.convert("RGB"))
        images.append(Image.open(io.BytesIO(face_thumbnail(pixels, box))).convert("RGB"))
    return images


def labels(r: int) -> CollageText:
    """Round -> the language's labels with the gallery footer and a credits line of that round."""
    base = KO if r % 2 == 0 else EN
    authors = ", ".join(f"Author {r}-{i} (CC BY-SA 4.0)" for i in range(5))
    return dataclasses.replace(base, credits=f"Photos: {authors}")


def tiles(faces: list[Image.Image], r: int, count: int) -> list[Tile]:
    """Round and count -> ranked tiles whose names, faces and numbers move with the round."""
    return [
        Tile(
            faces[(r + i) % len(faces)],
            f"{NAMES[(r + i) % len(NAMES)]} {r}",
            distance=0.31 + 0.05 * i + 0.001 * r,
            similarity=88.4 - 9.3 * i - 0.07 * r,
            rank=i + 1,
        )
        for i in range(count)
    ]


def scenes(module: ModuleType, faces: list[Image.Image]) -> dict[str, Callable[[int], bytes]]:
    """A module with the three renderers (`engine.pictures`, or the old `engine/collage.py`) -> its three
    pictures, each a function of the round."""

    def one_collage(r: int) -> bytes:
        return module.render_collage(faces[r % len(faces)], tiles(faces, r, 5), labels(r))

    def board(r: int) -> bytes:
        return module.render_board(Tile(faces[r % len(faces)], "버락 오바마"), tiles(faces, r, 12), labels(r))

    def pairs(r: int) -> bytes:
        row = tiles(faces, r, 12)
        return module.render_pairs(list(zip(row[::2], row[1::2], strict=True)), labels(r))

    return {"collage": one_collage, "board": board, "pairs": pairs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="timed rounds of each picture (default 40)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as stdout's last line")
    args = parser.parse_args(argv)

    load_start = os.getloadavg()[0]
    faces = thumbnails()
    old, new = scenes(collage_at(BASE), faces), scenes(pictures, faces)
    report: dict[str, object] = {"base": BASE, "rounds": args.rounds}
    log(f"collage bench: {args.rounds} rounds, old = engine/collage.py at {BASE[:10]}, load {load_start:.2f}")
    log(f"{'picture':<9}{'old ms':>9}{'new ms':>9}{'new/old':>9}{'old KB':>9}{'new KB':>9}")
    for name in ("collage", "board", "pairs"):
        sizes = {"old": len(old[name](0)), "new": len(new[name](0))}  # also warms fonts and caches up
        times = interleaved({"old": old[name], "new": new[name]}, args.rounds)
        ms = {side: median_ms(samples) for side, samples in times.items()}
        ratio = round(ms["new"] / ms["old"], 3)
        report[name] = {
            "old_ms": ms["old"],
            "new_ms": ms["new"],
            "new_vs_old": ratio,
            "old_bytes": sizes["old"],
            "new_bytes": sizes["new"],
        }
        log(
            f"{name:<9}{ms['old']:>9.1f}{ms['new']:>9.1f}{ratio:>9.3f}"
            f"{sizes['old'] / 1024:>9.0f}{sizes['new'] / 1024:>9.0f}"
        )
    report["machine"] = machine(load_start)
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
