"""The numpy run of dlib's ResNet gives dlib's own descriptors, so galleries built either way stay one."""

from __future__ import annotations

from pathlib import Path

import dlib
import numpy as np
import pytest

from engine.encoder import CHIP_PADDING, CHIP_SIDE, EncoderFormatError, FaceEncoder
from engine.faces import FaceModels, _model_dir
from engine.images import decode_photo
from tests.paths import manifest

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
