"""bench/run.py's pipeline figures: photos per second through `FacePool` (processes, one per core) against
the notebook's `face_recognition` loop on one core, over the shared test photos."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import warnings
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import log  # noqa: E402
from engine.pool import FacePool, default_workers  # noqa: E402
from tests.paths import FACES_DIR, manifest  # noqa: E402


def pipeline_photos(quick: bool) -> list[Path]:
    """Every photo of the shared manifest; in quick mode the three smallest (by pixels)."""
    paths = [path for path, _ in manifest()]
    if quick:
        from PIL import Image

        def pixels(path: Path) -> int:
            with Image.open(path) as image:
                return image.width * image.height

        paths = sorted(paths, key=pixels)[:3]
    return paths


async def _project_pass(pool: FacePool, photos: list[bytes]) -> tuple[float, list[int]]:
    """All photos submitted at once; seconds until the last is done, and faces found in each."""
    start = time.perf_counter()
    analyses = await asyncio.gather(*(pool.analyze(data) for data in photos))
    return time.perf_counter() - start, [a.faces_found for a in analyses]


def _import_face_recognition() -> ModuleType:
    """The notebook's library (imported late: it loads its models and changes a Pillow default)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # face_recognition_models: "pkg_resources is deprecated"
        import face_recognition
    return face_recognition


def _seed_pass(face_recognition: ModuleType, paths: list[Path]) -> tuple[float, list[int]]:
    """The notebook's loop on one core: load_image_file → face_locations → face_encodings, defaults.

    The locations found are passed on to face_encodings (without them it would detect a second time),
    which is the faster way to write the notebook's loop: the anchor is not made slow on purpose.
    """
    faces: list[int] = []
    start = time.perf_counter()
    for path in paths:
        image = face_recognition.load_image_file(str(path))
        locations = face_recognition.face_locations(image)
        face_recognition.face_encodings(image, locations)
        faces.append(len(locations))
    return time.perf_counter() - start, faces


def _alternate_passes(
    pool: FacePool, face_recognition: ModuleType, paths: list[Path], photos: list[bytes], passes: int
) -> dict[str, list[tuple[float, list[int]]]]:
    """Project and notebook passes taking turns (who goes first alternates), so both meet the same load."""

    async def run() -> dict[str, list[tuple[float, list[int]]]]:
        results: dict[str, list[tuple[float, list[int]]]] = {"project": [], "seed": []}
        for number in range(passes):
            for side in ("project", "seed") if number % 2 == 0 else ("seed", "project"):
                if side == "project":
                    results[side].append(await _project_pass(pool, photos))
                else:  # blocks the loop, which has nothing else to do meanwhile
                    results[side].append(_seed_pass(face_recognition, paths))
        return results

    return asyncio.run(run())


def measure_pipeline(quick: bool) -> dict:
    """Photos per second: the project's process pool (warm-up excluded) against the notebook's loop on
    one core, on the same photos, with the faces each finds."""
    paths = pipeline_photos(quick)
    photos = [path.read_bytes() for path in paths]
    workers = default_workers()
    passes = 1 if quick else 3
    face_recognition = _import_face_recognition()
    pool = FacePool(kind="process", workers=workers, queue_limit=len(photos) + workers)
    try:
        start = time.perf_counter()
        pool.warm_up()
        warm_up = time.perf_counter() - start
        results = _alternate_passes(pool, face_recognition, paths, photos, passes)
    finally:
        pool.close()
    for side, label in (("project", f"project, {workers} worker processes"), ("seed", "notebook, one core")):
        log(f"pipeline, {label}: passes of {', '.join(f'{s:.2f}' for s, _ in results[side])} s")
    project_s = statistics.median(s for s, _ in results["project"])
    seed_s = statistics.median(s for s, _ in results["seed"])
    faces_project, faces_seed = results["project"][0][1], results["seed"][0][1]
    mismatches = [
        {"photo": str(path.relative_to(FACES_DIR)), "project": a, "seed": b}
        for path, a, b in zip(paths, faces_project, faces_seed, strict=True)
        if a != b
    ]
    result = {
        "photos": len(photos),
        "workers": workers,
        "project_per_s": round(len(photos) / project_s, 3),
        "seed_1core_per_s": round(len(photos) / seed_s, 3),
        "project_s": round(project_s, 3),
        "seed_s": round(seed_s, 3),
        "warm_up_s": round(warm_up, 3),
        "passes": passes,
        "faces_project": sum(faces_project),
        "faces_seed": sum(faces_seed),
        "same_faces_per_photo": not mismatches,
        "faces_differ": mismatches,
    }
    log(
        f"pipeline: {len(photos)} photos, warm-up {warm_up:.2f} s (excluded); project "
        f"{result['project_per_s']} photos/s, notebook {result['seed_1core_per_s']} photos/s; faces "
        f"{result['faces_project']} vs {result['faces_seed']}, same per photo: "
        f"{result['same_faces_per_photo']} {mismatches or ''}"
    )
    return result


# Startup
