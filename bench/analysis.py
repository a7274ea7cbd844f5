"""CPU per photo, stage by stage: `engine/faces.py` now against the same analysis before issue #20 (commit
`BEFORE_ISSUE_20`, loaded from git with its own encoder and decoder by `tests/engine_at.py`), side by side
in one run, on real photos at Telegram's sizes.

    uv run python bench/analysis.py                  # 320, 800 and 1280 px, 3 rounds
    uv run python bench/analysis.py --rounds 5 --json
    uv run python bench/analysis.py --quick          # a smoke run (the test suite runs it)

Photos: every shared photo (../shared/faces), scaled so that its long side is the size (Telegram's photo
sizes), re-encoded as a JPEG of quality 87 as Telegram does. Each round runs old and new on every photo in
a random order, stage by stage, as `FaceModels.analyze` runs them:
- decode: `decode_photo`;
- locate: `FaceModels.locate` (old: HOG on a copy of <= 1024 px; new: the cheap pass on a 512-px copy,
  today's pass as its fallback);
- landmarks/chip: the 5-point landmarks and the 150-px chips of the faces kept;
- encode: the ResNet on each chip (old: numpy; new: ONNX Runtime);
- thumbnail: the faces' JPEG thumbnails (the same code on both sides).
Times are this thread's CPU time (`time.thread_time`: both sides run on this one thread, so other
people's work on the machine slows neither side's figure much) and wall time; per photo, the median over
rounds; per size, the mean over photos (CPU per photo) and the ratio new ÷ old. Photos are also split by
the path the new code took (`cheap`: the cheap pass was kept; `fallback`). Progress and tables go to
stderr; with --json the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import dlib
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import log, machine  # noqa: E402
from engine import faces, images  # noqa: E402
from engine.encoder import CHIP_PADDING, CHIP_SIDE  # noqa: E402
from tests.engine_at import BEFORE_ISSUE_20, faces_at  # noqa: E402
from tests.paths import FACES_DIR, manifest  # noqa: E402

SIZES = (320, 800, 1280)
STAGES = ("decode", "locate", "landmarks_chip", "encode", "thumbnail")


def telegram_copy(path: Path, side: int) -> bytes:
    """A photo as Telegram delivers it at one of its sizes: long side `side` px, JPEG quality 87."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
    scale = side / max(rgb.size)
    rgb = rgb.resize((round(rgb.width * scale), round(rgb.height * scale)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    rgb.save(buffer, "JPEG", quality=87)
    return buffer.getvalue()


def staged(module: ModuleType, decode: Callable, models: Any) -> Callable[[bytes], dict[str, float]]:
    """One side's analysis of photo bytes, stage by stage as `FaceModels.analyze`; each stage's CPU and wall s."""

    def run(data: bytes) -> dict[str, float]:
        spent: dict[str, float] = {}
        clock = [time.thread_time(), time.perf_counter()]

        def mark(stage: str) -> None:
            cpu, wall = time.thread_time(), time.perf_counter()
            spent[stage] = cpu - clock[0]
            spent[f"{stage}_wall"] = wall - clock[1]
            clock[:] = [cpu, wall]

        pixels = decode(data).pixels
        mark("decode")
        boxes = sorted(models.locate(pixels), key=module._area, reverse=True)[: module.MAX_FACES]
        mark("locate")
        shapes = dlib.full_object_detections()
        for top, right, bottom, left in boxes:
            shapes.append(models.predictor(pixels, dlib.rectangle(left, top, right, bottom)))
        chips = dlib.get_face_chips(pixels, shapes, size=CHIP_SIDE, padding=CHIP_PADDING) if boxes else []
        mark("landmarks_chip")
        for chip in chips:
            models.encoder.encode(np.asarray(chip))
        mark("encode")
        for box in boxes:
            module.face_thumbnail(pixels, box)
        mark("thumbnail")
        spent["faces"] = len(boxes)
        return spent

    return run


def took_cheap_pass(models: faces.FaceModels, data: bytes) -> bool:
    """Whether the new `locate` kept the cheap pass's faces for this photo (no fallback)."""
    return models.locate_cheap(images.decode_photo(data).pixels) is not None


def measure_size(
    photos: dict[str, bytes], sides: dict[str, Callable[[bytes], dict[str, float]]], rounds: int, seed: int
) -> dict[str, dict[str, dict[str, float]]]:
    """Each photo through each side `rounds` times, in a random order each round; medians per photo and stage."""
    order = np.random.default_rng(seed)
    samples: dict[str, dict[str, list[dict[str, float]]]] = {s: {p: [] for p in photos} for s in sides}
    for data in photos.values():  # warm-up: first calls pay for lazy set-up on both sides
        for run in sides.values():
            run(data)
    for _ in range(rounds):
        for name in order.permutation(list(photos)).tolist():
            for side in order.permutation(list(sides)).tolist():
                samples[side][name].append(sides[side](photos[name]))
    return {
        side: {
            name: {key: statistics.median(run[key] for run in runs) for key in runs[0]}
            for name, runs in by_photo.items()
        }
        for side, by_photo in samples.items()
    }


def summarise(medians: dict[str, dict[str, dict[str, float]]], names: list[str]) -> dict[str, Any]:
    """Mean ms per photo of each stage (CPU, and wall in total) over `names`, old and new, and new ÷ old."""
    out: dict[str, Any] = {"photos": len(names)}
    if not names:
        return out
    for side in ("old", "new"):
        per_stage = {s: round(1e3 * statistics.mean(medians[side][n][s] for n in names), 2) for s in STAGES}
        per_stage["total"] = round(sum(per_stage.values()), 2)
        per_stage["total_wall"] = round(
            1e3 * statistics.mean(sum(medians[side][n][f"{s}_wall"] for s in STAGES) for n in names), 2
        )
        out[side] = per_stage
    old, new = out["old"], out["new"]
    out["new_vs_old"] = {
        key: round(new[key] / old[key], 3) if old[key] else None for key in (*STAGES, "total", "total_wall")
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per photo and side (median)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="long sides in px")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1 round, 3 photos, 1280 px")
    parser.add_argument("--json", action="store_true", help="print one JSON object as stdout's last line")
    args = parser.parse_args(argv)
    rounds, sizes = (1, [1280]) if args.quick else (args.rounds, args.sizes)

    load_start = os.getloadavg()[0]
    started = time.perf_counter()
    before = faces_at(BEFORE_ISSUE_20)
    old_models, new_models = before.FaceModels(), faces.FaceModels()
    sides = {
        "old": staged(before, sys.modules[before.decode_photo.__module__].decode_photo, old_models),
        "new": staged(faces, images.decode_photo, new_models),
    }
    paths = [path for path, _identity in manifest()]
    if args.quick:
        paths = paths[:3]
    report: dict[str, Any] = {"base": BEFORE_ISSUE_20, "rounds": rounds, "sizes": {}}
    log(
        f"analysis bench: {len(paths)} photos, {rounds} rounds, old = {BEFORE_ISSUE_20}, load {load_start:.2f}"
    )
    for side in sizes:
        photos = {str(p.relative_to(FACES_DIR)): telegram_copy(p, side) for p in paths}
        medians = measure_size(photos, sides, rounds, seed=side)
        cheap = [n for n, data in photos.items() if took_cheap_pass(new_models, data)]
        summary: dict[str, Any] = {
            "all": summarise(medians, list(photos)),
            "cheap": summarise(medians, cheap),
            "fallback": summarise(medians, [n for n in photos if n not in cheap]),
            "faces_old": sum(int(medians["old"][n]["faces"]) for n in photos),
            "faces_new": sum(int(medians["new"][n]["faces"]) for n in photos),
            "load_avg": round(os.getloadavg()[0], 2),
        }
        report["sizes"][str(side)] = summary
        log(
            f"{side} px (load {summary['load_avg']}): faces kept old {summary['faces_old']}, new {summary['faces_new']}"
        )
        log(f"  {'photos':<14}{'stage':<16}{'old ms':>9}{'new ms':>9}{'new/old':>9}")
        for group in ("all", "cheap", "fallback"):
            part = summary[group]
            if not part.get("old"):
                continue
            for stage in (*STAGES, "total", "total_wall"):
                label = f"{group} ({part['photos']})" if stage == STAGES[0] else ""
                log(
                    f"  {label:<14}{stage:<16}{part['old'][stage]:>9.2f}{part['new'][stage]:>9.2f}"
                    f"{part['new_vs_old'][stage] or 0:>9.3f}"
                )
    report["machine"] = machine(load_start)
    report["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
