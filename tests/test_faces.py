from __future__ import annotations

import io
from functools import cache

import numpy as np
import pytest
from PIL import Image

from engine.faces import Analysis, FaceModels, FaceRejected, gallery_face
from engine.ranking import distance_between
from tests.paths import face, manifest


@cache
def _reference() -> dict[str, tuple[list[tuple[int, int, int, int]], list[np.ndarray]]]:
    """face_recognition's own defaults on every shared photo: upsample 1 at full size, then encode."""
    import face_recognition

    result = {}
    for path, _identity in manifest():
        image = face_recognition.load_image_file(path)
        boxes = face_recognition.face_locations(image)
        result[str(path)] = (boxes, face_recognition.face_encodings(image, boxes))
    return result


@cache
def _ours(models: FaceModels) -> dict[str, Analysis]:
    return {str(path): models.analyze(path) for path, _identity in manifest()}


def _leave_one_out_hits(embeddings: dict[str, np.ndarray], identities: dict[str, str]) -> int:
    """Top-1 hits when each photo is matched against all others (nearest photo decides)."""
    hits = 0
    for path, query in embeddings.items():
        others = [(distance_between(query, e), identities[p]) for p, e in embeddings.items() if p != path]
        hits += min(others)[1] == identities[path]
    return hits


def test_pipeline_finds_every_face_face_recognition_finds(models: FaceModels) -> None:
    reference, ours = _reference(), _ours(models)
    for path, (boxes, _encodings) in reference.items():
        assert ours[path].faces_found == len(boxes), path


def test_pipeline_embeds_each_face_like_face_recognition(models: FaceModels) -> None:
    reference, ours = _reference(), _ours(models)
    for path, (_boxes, encodings) in reference.items():
        for mine in ours[path].faces:
            nearest = min(distance_between(mine.embedding, e) for e in encodings)
            assert nearest < 0.25, path  # the same face from a slightly different box: far below 0.6


def test_pipeline_ranks_as_well_as_face_recognition_defaults(models: FaceModels) -> None:
    single = {str(p): ident for p, ident in manifest() if ident != "multiple"}
    reference, ours = _reference(), _ours(models)
    theirs = {p: reference[p][1][0] for p in single}
    mine = {p: ours[p].faces[0].embedding for p in single}
    their_hits = _leave_one_out_hits(theirs, single)
    assert their_hits >= len(single) - 2  # sanity: the reference itself is good on these photos
    assert _leave_one_out_hits(mine, single) >= their_hits


def test_faces_come_largest_first_and_are_capped(models: FaceModels) -> None:
    analysis = models.analyze(face("multiple/test_obama_and_biden.jpg"), max_faces=2)
    assert analysis.faces_found == 3
    assert len(analysis.faces) == 2
    areas = [(bottom - top) * (right - left) for top, right, bottom, left in (f.box for f in analysis.faces)]
    assert areas == sorted(areas, reverse=True)


def test_a_sideways_phone_photo_is_turned_upright_before_detection(models: FaceModels) -> None:
    upright = Image.open(face("barack_obama/obama-480p.jpg")).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 8  # "rotate 90° CCW to view": the pixels are stored turned clockwise
    buffer = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_270).save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    plain = models.analyze(face("barack_obama/obama-480p.jpg"))
    rotated = models.analyze(buffer.getvalue())
    assert rotated.faces_found == 1
    assert distance_between(rotated.faces[0].embedding, plain.faces[0].embedding) < 0.1


def test_face_thumbnails_are_square_jpegs(models: FaceModels) -> None:
    thumb = models.analyze(face("joe_biden/biden.jpg")).faces[0].thumbnail
    image = Image.open(io.BytesIO(thumb))
    assert image.format == "JPEG"
    assert abs(image.width - image.height) <= 2


@pytest.mark.parametrize(
    ("photo", "code"),
    [
        ("multiple/two_people.jpg", "several_faces"),
        ("multiple/test_kit_with_rose.jpg", "several_faces"),
        ("multiple/test_obama_and_biden.jpg", "several_faces"),
        ("barack_obama/obama-240p.jpg", "face_too_small"),
    ],
)
def test_gallery_photos_need_one_clear_face(models: FaceModels, photo: str, code: str) -> None:
    with pytest.raises(FaceRejected) as caught:
        gallery_face(models.analyze(face(photo)))
    assert caught.value.code == code


def test_a_photo_without_a_face_is_rejected_for_the_gallery(models: FaceModels) -> None:
    buffer = io.BytesIO()
    gradient = np.tile(np.linspace(0, 255, 400, dtype=np.uint8), (300, 1))
    Image.fromarray(gradient).save(buffer, "PNG")
    analysis = models.analyze(buffer.getvalue())
    assert analysis.faces == [] and analysis.faces_found == 0
    with pytest.raises(FaceRejected) as caught:
        gallery_face(analysis)
    assert caught.value.code == "no_face"


def test_a_clear_portrait_is_accepted_for_the_gallery(models: FaceModels) -> None:
    chosen = gallery_face(models.analyze(face("rose_leslie/rose_leslie_img2.jpg")))
    assert chosen.embedding.shape == (128,) and chosen.embedding.dtype == np.float32


def press_photo(background_scale: float) -> bytes:
    """Obama's portrait in front with Biden's, scaled by `background_scale`, pasted in a top corner."""
    subject = Image.open(face("barack_obama/obama2.jpg")).convert("RGB")
    other = Image.open(face("joe_biden/biden.jpg")).convert("RGB")
    other = other.resize((round(other.width * background_scale), round(other.height * background_scale)))
    canvas = Image.new("RGB", (subject.width + other.width, max(subject.height, other.height)), (90, 90, 90))
    canvas.paste(subject, (0, 0))
    canvas.paste(other, (subject.width, 0))
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def test_a_photo_with_one_dominant_face_and_a_small_one_behind_is_accepted(models: FaceModels) -> None:
    analysis = models.analyze(press_photo(0.3))
    assert analysis.faces_found == 2  # the background face is found, and does not cost the photo
    chosen = gallery_face(analysis)
    assert chosen is analysis.faces[0]
    alone = models.analyze(face("barack_obama/obama2.jpg")).faces[0]
    assert np.linalg.norm(chosen.embedding - alone.embedding) < 0.2  # the subject's face, not the other


def test_a_photo_with_two_faces_of_similar_size_is_refused(models: FaceModels) -> None:
    analysis = models.analyze(press_photo(1.0))
    assert analysis.faces_found == 2
    with pytest.raises(FaceRejected) as caught:
        gallery_face(analysis)
    assert caught.value.code == "several_faces"
