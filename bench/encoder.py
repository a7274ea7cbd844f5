"""Where one face's encoding time goes: dlib-bin's encoder, the project's numpy run of the same network
(`engine/encoder.py`, what `FaceModels` uses), and the same model in another build of dlib.

    uv run python bench/encoder.py --json
    uv run python bench/encoder.py --python /tmp/dlibblas-venv/bin/python --json   # also another dlib

The faces are the ones the project finds in the shared photos (tests/paths.py), found once here with
`FaceModels.locate`. Then, in a fresh process of each interpreter (this one: the project's dlib-bin; each
`--python`: any interpreter with dlib and numpy, e.g. a dlib compiled against OpenBLAS), per face, the
median of `--rounds` runs of each step that `FaceModels.embed` goes through:
- `landmarks`: the 5-point shape predictor on the face box;
- `chip`: `dlib.get_face_chip` (rotate, scale and crop to the 150x150 chip the network takes);
- `network`: `compute_face_descriptor` on that chip (the ResNet alone);
- `descriptor`: `compute_face_descriptor(image, landmarks)`, dlib's own encoder: chip + network;
- `numpy network`: `engine.encoder.FaceEncoder.encode` on the same chip (where the interpreter has the
  project's dependencies), what `FaceModels.embed` ran after dlib-bin's encoder and before issue #20;
  its descriptors are compared to dlib's (`numpy_max_abs_diff`);
- `onnx network`: `engine.encoder_onnx.OnnxFaceEncoder.encode`, the same weights run by ONNX Runtime on
  one thread, what `FaceModels.embed` runs now (`onnx_max_abs_diff` against dlib's descriptors).
Each other build is run with OpenBLAS on 1 thread (what one worker of the project's process pool, one
per core, would use) and with its default threads; its descriptors are compared to this interpreter's
(largest absolute difference per component, largest Euclidean distance between the two descriptors of
one face; dlib's same-person threshold is 0.6).

The other build measured so far (not the project's: it needs a compiler and system BLAS, which the
project avoids), made in a throwaway venv with Debian's OpenBLAS:

    apt-get install libopenblas-dev liblapack-dev      # cmake, g++ and python3-dev were there
    python3 -m venv /tmp/dlibblas-venv && /tmp/dlibblas-venv/bin/pip install cmake numpy packaging
    pip download --no-deps dlib==20.0.1 && tar xzf dlib-20.0.1.tar.gz && cd dlib-20.0.1
    CMAKE_BUILD_PARALLEL_LEVEL=2 /tmp/dlibblas-venv/bin/pip install --no-build-isolation .  # ~19 min

CMake found OpenBLAS (with its LAPACK) and enabled AVX: DLIB_USE_BLAS, DLIB_USE_LAPACK and
USE_AVX_INSTRUCTIONS are all True. On 30 faces (2 cores, Python 3.11), two runs (quiet / other work
running): the network is 97.6% of a face's time (landmarks 1.9%, chip 0.5%); descriptor 109 / 140 ms
with dlib-bin, 25.6 / 32.7 ms with the OpenBLAS build on one thread (4.3x), 19.6 / 31.1 ms on two; the
descriptors agree to 3.3e-7 per component, 1.0e-6 in Euclidean distance (float32 rounding: the same model,
sums in another order). But that build's HOG detection is ~2x slower than dlib-bin's (143 vs 69 ms per
photo downscaled to 1024 px), so a one-face photo gains only ~1.2x overall.

Progress goes to stderr; with --json the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

STEPS = ("landmarks", "chip", "network", "descriptor", "numpy network", "onnx network")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# The worker: runs in any interpreter with dlib and numpy (no project imports)


def worker(faces_file: str, predictor_path: str, encoder_path: str, rounds: int) -> dict:
    """Time each step on each face; the medians, and every face's descriptor."""
    import dlib

    predictor = dlib.shape_predictor(predictor_path)
    encoder = dlib.face_recognition_model_v1(encoder_path)
    try:  # the project's numpy and ONNX Runtime encoders, where this interpreter can import them
        from engine.encoder import FaceEncoder
        from engine.encoder_onnx import OnnxFaceEncoder

        loaded = FaceEncoder.from_file(encoder_path)
        ours: FaceEncoder | None = loaded
        onnx_run: OnnxFaceEncoder | None = OnnxFaceEncoder(loaded)
    except ImportError:
        ours = onnx_run = None
    steps = STEPS if ours is not None else STEPS[:-2]
    numpy_diff = onnx_diff = 0.0
    data = np.load(faces_file)
    count = int(data["count"])
    per_face: dict[str, list[float]] = {step: [] for step in steps}
    descriptors, from_chips = [], []
    detector = dlib.get_frontal_face_detector()
    detect: list[float] = []
    for j in range(int(data["photos"])):  # HOG on the downscaled copy, as FaceModels.locate does
        small = np.ascontiguousarray(data[f"detect_{j}"])
        runs_detect = []
        for _ in range(rounds + 1):
            start = time.perf_counter()
            detector(small, 0)
            runs_detect.append(time.perf_counter() - start)
        detect.append(statistics.median(runs_detect[1:]))
    for i in range(count):
        pixels = np.ascontiguousarray(data[f"pixels_{i}"])
        top, right, bottom, left = (int(v) for v in data[f"box_{i}"])
        rect = dlib.rectangle(left, top, right, bottom)
        runs: dict[str, list[float]] = {step: [] for step in steps}
        for _ in range(rounds + 1):  # the first round warms up and is dropped
            start = time.perf_counter()
            shape = predictor(pixels, rect)
            runs["landmarks"].append(time.perf_counter() - start)
            start = time.perf_counter()
            chip = dlib.get_face_chip(pixels, shape, size=150, padding=0.25)
            runs["chip"].append(time.perf_counter() - start)
            start = time.perf_counter()
            from_chip = encoder.compute_face_descriptor(chip, 0)
            runs["network"].append(time.perf_counter() - start)
            start = time.perf_counter()
            descriptor = encoder.compute_face_descriptor(pixels, shape, 0)
            runs["descriptor"].append(time.perf_counter() - start)
            if ours is not None and onnx_run is not None:
                start = time.perf_counter()
                from_numpy = ours.encode(np.asarray(chip))
                runs["numpy network"].append(time.perf_counter() - start)
                numpy_diff = max(numpy_diff, float(np.abs(from_numpy - np.asarray(descriptor)).max()))
                start = time.perf_counter()
                from_onnx = onnx_run.encode(np.asarray(chip))
                runs["onnx network"].append(time.perf_counter() - start)
                onnx_diff = max(onnx_diff, float(np.abs(from_onnx - np.asarray(descriptor)).max()))
        for step in steps:
            per_face[step].append(statistics.median(runs[step][1:]))
        descriptors.append([float(v) for v in descriptor])
        from_chips.append([float(v) for v in from_chip])
    ms = {step: round(statistics.mean(per_face[step]) * 1e3, 2) for step in steps}
    chip_vs_full = float(np.abs(np.array(descriptors) - np.array(from_chips)).max())
    return {
        "python": sys.executable,
        "dlib": dlib.__version__,
        "dlib_file": dlib.__file__,
        "DLIB_USE_BLAS": bool(dlib.DLIB_USE_BLAS),
        "DLIB_USE_LAPACK": bool(dlib.DLIB_USE_LAPACK),
        "USE_AVX_INSTRUCTIONS": bool(dlib.USE_AVX_INSTRUCTIONS),
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "faces": count,
        "rounds": rounds,
        "ms_per_face": ms,
        "detect_ms_per_photo": round(statistics.mean(detect) * 1e3, 2),
        "ms_per_face_max": {step: round(max(per_face[step]) * 1e3, 2) for step in steps},
        "numpy_max_abs_diff": numpy_diff if ours is not None else None,
        "onnx_max_abs_diff": onnx_diff if ours is not None else None,
        "chip_plus_network_ms": round(ms["chip"] + ms["network"], 2),
        "descriptor_from_chip_max_abs_diff": chip_vs_full,
        "descriptors": descriptors,
    }


# The driver


def prepare_faces(path: Path, limit: int | None) -> list[str]:
    """Decode the shared photos, find their faces as the project does, save pixels and boxes for workers."""
    from PIL import Image

    from engine.faces import DETECT_MAX_SIDE, FaceModels
    from engine.images import decode_photo
    from tests.paths import FACES_DIR, manifest

    models = FaceModels()
    arrays: dict[str, np.ndarray] = {}
    names: list[str] = []
    photos = 0
    for photo_path, _ in manifest():
        pixels = decode_photo(photo_path).pixels
        height, width = pixels.shape[:2]
        scale = min(1.0, DETECT_MAX_SIDE / max(height, width))
        small = Image.fromarray(pixels).resize(
            (max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BILINEAR
        )
        arrays[f"detect_{photos}"] = np.asarray(small)
        photos += 1
        for box in models.locate(pixels):
            if limit is not None and len(names) >= limit:
                break
            arrays[f"pixels_{len(names)}"] = pixels
            arrays[f"box_{len(names)}"] = np.array(box, dtype=np.int64)
            names.append(f"{photo_path.relative_to(FACES_DIR)}@{box}")
    np.savez(path, allow_pickle=False, count=len(names), photos=photos, **arrays)
    return names


def run_worker(python: str, faces: Path, rounds: int, threads: str | None) -> dict:
    """This file's worker in a fresh process of `python`; its JSON report."""
    from engine.faces import _model_dir

    models = _model_dir()
    env = dict(os.environ)
    env.pop("OPENBLAS_NUM_THREADS", None)
    if threads is not None:
        env["OPENBLAS_NUM_THREADS"] = threads
    command = [
        python,
        str(Path(__file__).resolve()),
        "--worker",
        str(faces),
        str(models / "shape_predictor_5_face_landmarks.dat"),
        str(models / "dlib_face_recognition_resnet_model_v1.dat"),
        str(rounds),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{python} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(reference: list[list[float]], other: list[list[float]]) -> dict:
    a, b = np.array(reference), np.array(other)
    distances = np.linalg.norm(a - b, axis=1)
    return {
        "max_abs_diff": float(np.abs(a - b).max()),
        "max_l2": float(distances.max()),
        "mean_l2": float(distances.mean()),
    }


def summary_line(label: str, report: dict) -> str:
    ms = report["ms_per_face"]
    return (
        f"{label}: landmarks {ms['landmarks']} ms, chip {ms['chip']} ms, network {ms['network']} ms, "
        f"descriptor (chip + network) {ms['descriptor']} ms per face; "
        + (f"numpy network {ms['numpy network']} ms; " if "numpy network" in ms else "")
        + (f"ONNX Runtime network {ms['onnx network']} ms; " if "onnx network" in ms else "")
        + f"HOG detection "
        f"{report['detect_ms_per_photo']} ms per photo; BLAS {report['DLIB_USE_BLAS']}, "
        f"AVX {report['USE_AVX_INSTRUCTIONS']}, OPENBLAS_NUM_THREADS {report['openblas_num_threads']}"
    )


def _machine(load_start: float) -> dict:
    from bench.common import machine  # the project's side only: workers run without project imports

    return machine(load_start)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        faces, predictor, encoder, rounds = argv[1:5]
        print(json.dumps(worker(faces, predictor, encoder, int(rounds))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", action="append", default=[], help="another interpreter with dlib")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each step per face (median)")
    parser.add_argument("--faces", type=int, help="at most this many faces (default: all)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as stdout's last line")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="lookalike-encoder-") as folder:
        faces_file = Path(folder) / "faces.npz"
        names = prepare_faces(faces_file, args.faces)
        log(f"encoder: {len(names)} faces in the shared photos, {args.rounds} rounds each")
        project = run_worker(sys.executable, faces_file, args.rounds, None)
        log(summary_line("project (dlib-bin)", project))
        others = []
        for python in args.python:
            for threads in ("1", None):
                try:
                    other = run_worker(python, faces_file, args.rounds, threads)
                except (RuntimeError, OSError) as exc:
                    log(f"{python}: {exc}")
                    others.append({"python": python, "openblas_num_threads": threads, "error": str(exc)})
                    continue
                other["match"] = compare(project["descriptors"], other["descriptors"])
                other["speedup_descriptor"] = round(
                    project["ms_per_face"]["descriptor"] / other["ms_per_face"]["descriptor"], 2
                )
                other["speedup_detect"] = round(
                    project["detect_ms_per_photo"] / other["detect_ms_per_photo"], 2
                )
                log(summary_line(python, other))
                log(
                    f"  against dlib-bin: {other['match']}, descriptor {other['speedup_descriptor']}x, "
                    f"detection {other['speedup_detect']}x"
                )
                others.append(other)
    ms = project["ms_per_face"]
    per_face = ms["landmarks"] + ms["chip"] + ms["network"]  # what one face costs, step by step
    report = {
        "faces": names,
        "project": {k: v for k, v in project.items() if k != "descriptors"},
        "split": {
            "landmarks_share": round(ms["landmarks"] / per_face, 3),
            "chip_share": round(ms["chip"] / per_face, 3),
            "network_share": round(ms["network"] / per_face, 3),
        },
        "numpy_speedup_network": round(ms["network"] / ms["numpy network"], 2),
        "onnx_speedup_network": round(ms["network"] / ms["onnx network"], 2),
        "onnx_vs_numpy_network": round(ms["onnx network"] / ms["numpy network"], 3),
        "others": [{k: v for k, v in o.items() if k != "descriptors"} for o in others],
        "machine": _machine(load_start),
        "seconds": round(time.perf_counter() - started, 1),
    }
    log(
        f"encoder: split of a face's embedding: {report['split']}; the numpy network is "
        f"{report['numpy_speedup_network']}x dlib-bin's, descriptors within "
        f"{project['numpy_max_abs_diff']:.1e}; ONNX Runtime's (what FaceModels runs) "
        f"{report['onnx_speedup_network']}x dlib-bin's, {report['onnx_vs_numpy_network']}x the numpy "
        f"run's time, descriptors within {project['onnx_max_abs_diff']:.1e}; done in {report['seconds']} s"
    )
    print(json.dumps(report) if args.json else json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
