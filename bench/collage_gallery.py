"""The collage as a real bot draws it, with the drawing process's caches (`engine/pictures/reuse.py`), side
by side in one run with main's drawing before them (`engine/pictures` and `service/render.py` at
`tests.engine_at.BEFORE_COLLAGE_CACHE`, loaded from git).

    uv run python bench/collage_gallery.py                  # 300 celebrities x 3 photos, 60 rounds
    uv run python bench/collage_gallery.py --celebrities 1000 --rounds 100 --json

A bot's gallery is finite: the same match photos, names and numbers come back. Modelled here: N celebrities
with 3 photos each (the shared test faces, each photo recoloured and shifted so its JPEG differs), Korean
names and English ones; each answer is one user's face (recoloured anew every answer: never the same
bytes twice) beside 5 celebrities drawn uniformly at random, each shown by one of its photos at random,
distances and similarities at random with 3 decimals, a credits line naming those photos' authors; 80 %
of answers in Korean. What is timed is `service.render.draw_collages` (the 6 JPEG decodes included): the
bot's draw process per answer.

- old: main before the caches;
- new, cold: the caches emptied before every answer (each lookup a miss: what the caches cost);
- new, warm: after `--warmup` answers of the same model (the caches full, as in a bot that has run a
  while), every timed answer a fresh random one.

Phase 1 times old and cold in interleaved rounds, phase 2 warms up, phase 3 times old and warm; random
order each round. CPU time of this process (`time.process_time`), medians in ms, the ratio new ÷ old in
each phase, and the caches' hit rates over phase 3. Progress and a table go to stderr; with --json the
last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from types import ModuleType

import numpy as np
from PIL import Image

from bench.common import REPO, log, machine

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from engine.faces import face_thumbnail
from engine.pictures import CollageText, reuse
from service import render
from tests.engine_at import BEFORE_COLLAGE_CACHE as BASE
from tests.engine_at import render_at
from tests.paths import face
from tests.test_collage import BOXES, EN, KO

PHOTOS_EACH = 3
SHOWN = 5
FAMILY = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임"]
GIVEN = ["서준", "지우", "민서", "하은", "도윤", "예린", "유나", "태민", "수아", "지호"]
WESTERN = ["Rose Leslie", "Kit Harington", "Emma Stone", "Ryan Gosling", "Alexandria Ocasio-Cortez"]


def base_faces() -> list[np.ndarray]:
    """The shared test photos' faces as 256 px RGB arrays (decoded from the bot's JPEG thumbnails)."""
    faces = []
    for relative, box in BOXES.items():
        with Image.open(face(relative)) as photo:
            pixels = np.asarray(photo.convert("RGB"))
        faces.append(np.asarray(Image.open(io.BytesIO(face_thumbnail(pixels, box))).convert("RGB")))
    return faces


def variant(base: np.ndarray, rng: np.random.Generator) -> bytes:
    """A face -> a JPEG of it shifted by a few pixels and tinted: another photo's bytes, the same size."""
    shifted = np.roll(base, tuple(rng.integers(-6, 7, 2)), axis=(0, 1)).astype(np.float32)
    tinted = np.clip(shifted * rng.uniform(0.85, 1.15, 3), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(tinted).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@dataclasses.dataclass(frozen=True)
class Gallery:
    """N celebrities: each one's name and photos' JPEG bytes."""

    names: list[str]
    photos: list[list[bytes]]


def gallery(celebrities: int, faces: list[np.ndarray], rng: np.random.Generator) -> Gallery:
    """Count -> a gallery of that many celebrities with `PHOTOS_EACH` distinct photos each."""
    names = [
        WESTERN[i % len(WESTERN)] + f" {i}"
        if i % 4 == 3
        else FAMILY[i % 10] + GIVEN[(i // 10) % 10] + f" {i}"
        for i in range(celebrities)
    ]
    photos = [
        [variant(faces[(i + j) % len(faces)], rng) for j in range(PHOTOS_EACH)] for i in range(celebrities)
    ]
    return Gallery(names, photos)


@dataclasses.dataclass(frozen=True)
class Answer:
    """One answer to draw: the user's face, the matches (celebrity, photo, distance, similarity), labels."""

    user: bytes
    matches: list[tuple[int, int, float, float]]
    text: CollageText


def answer(g: Gallery, faces: list[np.ndarray], rng: np.random.Generator) -> Answer:
    """A random answer of the model (see the module's doc)."""
    who = rng.choice(len(g.names), SHOWN, replace=False)
    distances = np.sort(np.round(rng.uniform(0.30, 0.75, SHOWN), 3))
    similarities = np.round(rng.uniform(20.0, 95.0, SHOWN), 3)[np.argsort(distances)]
    matches = [
        (int(c), int(rng.integers(PHOTOS_EACH)), float(d), float(s))
        for c, d, s in zip(who, distances, np.sort(similarities)[::-1], strict=True)
    ]
    authors = ", ".join(f"Author {c * PHOTOS_EACH + p} (CC BY-SA 4.0)" for c, p, _, _ in matches)
    base = KO if rng.random() < 0.8 else EN
    text = dataclasses.replace(base, credits=f"사진: {authors}" if base is KO else f"Photos: {authors}")
    return Answer(variant(faces[int(rng.integers(len(faces)))], rng), matches, text)


def draw(module: ModuleType, g: Gallery, a: Answer, shared: bool) -> bytes:
    """A `service.render` module (today's or the old one), the gallery and an answer -> its collage, drawn
    as the bot's draw process does (`draw_collages`)."""
    extra = {"shared": True} if shared else {}
    cards = [
        module.Card(g.photos[c][p], g.names[c], d, s, rank, **extra)
        for rank, (c, p, d, s) in enumerate(a.matches, start=1)
    ]
    text = module.CollageText(**dataclasses.asdict(a.text))
    return module.draw_collages([(a.user, cards)], text)


def timed(
    contenders: Mapping[str, Callable[[], object]],
    before: Mapping[str, Callable[[], object]],
    rng: np.random.Generator,
) -> dict[str, float]:
    """Contenders in a random order, each after its `before` (untimed) -> each one's CPU seconds."""
    spent = {}
    for name in rng.permutation(list(contenders)).tolist():
        if name in before:
            before[name]()
        start = time.process_time()
        contenders[name]()
        spent[name] = time.process_time() - start
    return spent


def phase(
    rounds: int, new_name: str, old: ModuleType, g: Gallery, faces: list[np.ndarray], rng: np.random.Generator
) -> dict[str, list[float]]:
    """Old against today's in interleaved rounds, a fresh random answer each round -> CPU seconds of each."""
    samples: dict[str, list[float]] = {"old": [], new_name: []}
    before = {new_name: reuse.clear} if new_name == "cold" else {}
    for _ in range(rounds):
        a = answer(g, faces, rng)

        def old_side(a: Answer = a) -> bytes:
            return draw(old, g, a, False)

        def new_side(a: Answer = a) -> bytes:
            return draw(render, g, a, True)

        spent = timed({"old": old_side, new_name: new_side}, before, rng)
        for name, seconds in spent.items():
            samples[name].append(seconds)
    return samples


def ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1e3, 2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--celebrities", type=int, default=300, help="gallery size (default 300)")
    parser.add_argument("--rounds", type=int, default=60, help="timed answers per phase (default 60)")
    parser.add_argument("--warmup", type=int, default=600, help="answers drawn before the warm phase")
    parser.add_argument(
        "--photo-mb", type=float, default=None, help="the fitted photos' cache bound (default: reuse's)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object as stdout's last line")
    args = parser.parse_args(argv)

    if args.photo_mb is not None:
        reuse.bound_photos(int(args.photo_mb * 2**20))
    load_start = os.getloadavg()[0]
    rng = np.random.default_rng(20)
    faces = base_faces()
    g = gallery(args.celebrities, faces, rng)
    old = render_at(BASE)
    draw(old, g, answer(g, faces, rng), False)  # fonts and both modules' imports: not in the timings
    log(
        f"collage gallery bench: {args.celebrities} celebrities x {PHOTOS_EACH} photos, {args.rounds} rounds a "
        f"phase, old = main at {BASE[:10]}, load {load_start:.2f}"
    )
    cold = phase(args.rounds, "cold", old, g, faces, rng)
    reuse.clear()
    for _ in range(args.warmup):
        draw(render, g, answer(g, faces, rng), True)
    start = reuse.stats()
    warm = phase(args.rounds, "warm", old, g, faces, rng)
    end = reuse.stats()
    hit_rates = {
        name: round(
            (end[name].hits - start[name].hits)
            / max(1, end[name].hits + end[name].misses - start[name].hits - start[name].misses),
            3,
        )
        for name in end
    }
    held = {name: stats.bytes for name, stats in end.items()}
    report: dict[str, object] = {
        "base": BASE,
        "celebrities": args.celebrities,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "photo_cache_bytes": reuse.stats()["photos"].bound,
        "cold": {"old_ms": ms(cold["old"]), "new_ms": ms(cold["cold"]), "new_vs_old": 0.0},
        "warm": {"old_ms": ms(warm["old"]), "new_ms": ms(warm["warm"]), "new_vs_old": 0.0},
        "hit_rate": hit_rates,
        "cache_bytes": held,
    }
    log(f"{'phase':<7}{'old ms':>9}{'new ms':>9}{'new/old':>9}")
    for name in ("cold", "warm"):
        row = report[name]
        assert isinstance(row, dict)
        row["new_vs_old"] = round(row["new_ms"] / row["old_ms"], 3)
        log(f"{name:<7}{row['old_ms']:>9.2f}{row['new_ms']:>9.2f}{row['new_vs_old']:>9.3f}")
    log("hit rates in the warm phase: " + ", ".join(f"{k} {v:.1%}" for k, v in hit_rates.items()))
    log("held: " + ", ".join(f"{k} {v / 2**20:.1f} MB" for k, v in held.items()))
    report["machine"] = machine(load_start)
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
