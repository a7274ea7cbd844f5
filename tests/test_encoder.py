"""The numpy and ONNX Runtime runs of dlib's ResNet give dlib's own descriptors, so galleries built any
way stay one; the ONNX one (what `FaceModels` uses) lets other threads run and starts no threads."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import dlib
import numpy as np
import pytest

from engine.encoder import CHIP_PADDING, CHIP_SIDE, EncoderFormatError, FaceEncoder
from engine.encoder_onnx import OnnxFaceEncoder
from engine.faces import FaceModels, _model_dir
from engine.images import decode_photo
from tests.paths import REPO, manifest

RESNET = "dlib_face_recognition_resnet_model_v1.dat"


def _landmarks(models: FaceModels) -> list[tuple[np.ndarray, dlib.full_object_detection]]:
    """(pixels, 5-point landmarks) of every face in the shared photos."""
    found = []
    for path, _identity in manifest():
        pixels = decode_photo(path).pixels
        for top, right, bottom, left in models.locate(pixels):
            found.append((pixels, models.predictor(pixels, dlib.rectangle(left, top, right, bottom))))
    return found


def test_descriptors_equal_dlibs_own_encoder_on_every_shared_face(models: FaceModels) -> None:
    dlibs = dlib.face_recognition_model_v1(str(_model_dir() / RESNET))
    faces = _landmarks(models)
    assert len(faces) >= 26
    for pixels, shape in faces:
        theirs = np.asarray(dlibs.compute_face_descriptor(pixels, shape, 0), dtype=np.float32)
        chip = np.asarray(dlib.get_face_chip(pixels, shape, size=CHIP_SIDE, padding=CHIP_PADDING))
        ours = models.encoder.encode(chip)
        assert ours.dtype == np.float32 and ours.shape == (128,)
        assert np.abs(ours - theirs).max() < 1e-5


def test_analyze_embeds_with_the_same_numbers_as_dlib(models: FaceModels) -> None:
    dlibs = dlib.face_recognition_model_v1(str(_model_dir() / RESNET))
    path = next(p for p, identity in manifest() if identity != "multiple")
    analysis = models.analyze(path)
    pixels = decode_photo(path).pixels
    top, right, bottom, left = analysis.faces[0].box
    shape = models.predictor(pixels, dlib.rectangle(left, top, right, bottom))
    theirs = np.asarray(dlibs.compute_face_descriptor(pixels, shape, 0), dtype=np.float32)
    assert np.abs(analysis.faces[0].embedding - theirs).max() < 1e-5


def test_another_dlib_model_file_is_refused_clearly() -> None:
    with pytest.raises(EncoderFormatError):
        FaceEncoder.from_file(_model_dir() / "shape_predictor_5_face_landmarks.dat")


def test_a_cut_model_file_is_refused_clearly(tmp_path: Path) -> None:
    whole = (_model_dir() / RESNET).read_bytes()
    cut = tmp_path / "cut.dat"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(EncoderFormatError):
        FaceEncoder.from_file(cut)


def test_a_chip_of_the_wrong_size_is_refused(models: FaceModels) -> None:
    with pytest.raises(ValueError, match="150x150"):
        models.encoder.encode(np.zeros((100, 100, 3), np.uint8))


def _chips(models: FaceModels) -> list[np.ndarray]:
    return [
        np.asarray(dlib.get_face_chip(pixels, shape, size=CHIP_SIDE, padding=CHIP_PADDING))
        for pixels, shape in _landmarks(models)
    ]


def test_the_models_encode_with_onnx_runtime_as_the_numpy_run_does(models: FaceModels) -> None:
    assert isinstance(models.encoder, OnnxFaceEncoder)
    numpy_run = FaceEncoder.from_file(_model_dir() / RESNET)
    for chip in _chips(models):
        assert np.abs(models.encoder.encode(chip) - numpy_run.encode(chip)).max() < 1e-5


def _threads() -> int:
    """This process's threads, as the kernel counts them (native threads included)."""
    return len(list(Path("/proc/self/task").iterdir()))


def test_encoding_starts_no_threads_of_its_own() -> None:
    before = _threads()
    encoder = OnnxFaceEncoder.from_file(_model_dir() / RESNET)
    encoder.encode(np.full((CHIP_SIDE, CHIP_SIDE, 3), 128, np.uint8))
    assert _threads() == before  # one thread per worker process: the pool has one worker per core


def test_other_python_threads_run_while_a_face_is_encoded(models: FaceModels) -> None:
    # With a switch interval of 1 s the interpreter does not take the GIL from a thread within an encoding: the counter can
    # move while the encoder runs only if the encoder itself lets go of the GIL.
    chip = np.full((CHIP_SIDE, CHIP_SIDE, 3), 128, np.uint8)
    models.encoder.encode(chip)  # warm
    counter = [0]
    stop = threading.Event()
    during: list[int] = []

    def count() -> None:
        while not stop.is_set():
            counter[0] += 1

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    counting = threading.Thread(target=count)
    try:
        counting.start()
        while counter[0] == 0:  # the counter thread has the GIL now and then; wait until it has run
            stop.wait(0.001)
        before = counter[0]
        models.encoder.encode(chip)
        during.append(counter[0] - before)
    finally:
        stop.set()
        counting.join()
        sys.setswitchinterval(interval)
    assert during[0] > 0


def test_onnx_runtime_writes_no_device_id_and_sends_nothing(tmp_path: Path) -> None:
    """ONNX Runtime's telemetry (on by default in its Linux wheels, off under CI) stays off wherever the
    engine runs: a fresh process with no CI variables keeps nothing under its home or its temp folder."""
    home, temp = tmp_path / "home", tmp_path / "temp"
    home.mkdir()
    temp.mkdir()
    script = (
        "import numpy; from engine.faces import FaceModels;"
        " FaceModels().encoder.encode(numpy.zeros((150, 150, 3), 'uint8'))"
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "TMPDIR": str(temp), "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=300)
    assert [p.relative_to(tmp_path) for p in tmp_path.rglob("*")] == [Path("home"), Path("temp")]
