"""engine/morph.py on real photos: the morph is a face of its own between the two (the project's encoder
says so), a plain function another process can run, and its footer draws Hangul."""

from __future__ import annotations

import io
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from PIL import Image, ImageFilter

from engine.faces import FaceModels, face_thumbnail
from engine.fonts import has_glyphs
from engine.images import decode_photo, encode_jpeg
from engine.landmarks import KeptFace, Landmarker, thumbnail_box
from engine.morph import SIDE, morph_image, render_morph
from tests import morph_faces
from tests.morph_faces import measure, morph, own_photo, passes
from tests.paths import face

# A few pairs of the bench's 30 (bench/morph.py): men and a woman, both ways round.
PAIRS = [
    ("barack_obama", "joe_biden"),
    ("kit_harington", "rose_leslie"),
    ("lin_manuel_miranda", "alex_lacamoire"),
]


@pytest.fixture(scope="module")
def landmarker() -> Landmarker:
    return Landmarker()


@pytest.fixture(scope="module")
def people(models: FaceModels, landmarker: Landmarker) -> dict[str, morph_faces.Person]:
    names = {name for pair in PAIRS for name in pair}
    return {name: morph_faces.load_person(name, models, landmarker) for name in names}


@pytest.mark.parametrize(("user", "celebrity"), PAIRS)
def test_the_morph_is_a_face_between_the_user_and_the_celebrity(models, people, user, celebrity) -> None:
    assert passes(models, morph, people[user], people[celebrity])


@pytest.mark.parametrize(("user", "celebrity"), PAIRS)
def test_the_users_own_photo_returned_fails_the_same_criterion(models, people, user, celebrity) -> None:
    assert not passes(models, own_photo, people[user], people[celebrity])


def test_mix_0_is_the_users_face_and_1_the_celebritys(models, people) -> None:
    user, celebrity = people["barack_obama"], people["joe_biden"]
    start = measure(models, morph, user, celebrity, 0.0)
    end = measure(models, morph, user, celebrity, 1.0)
    assert start.to_user < 0.25 * start.between < start.to_celebrity  # type: ignore[operator]
    assert end.to_celebrity < 0.5 * end.between < end.to_user  # type: ignore[operator]


def test_a_mix_outside_0_to_1_is_refused(people) -> None:
    user, celebrity = people["barack_obama"].user, people["joe_biden"].celebrity
    for mix in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="mix"):
            morph_image(user, celebrity, mix)


def test_a_kept_face_needs_68_landmarks() -> None:
    with pytest.raises(ValueError, match="68"):
        KeptFace(crop=b"", landmarks=np.zeros((5, 2), np.float32))


def test_render_morph_runs_in_another_process_on_pickled_kept_faces(people) -> None:
    user, celebrity = people["rose_leslie"].user, people["kit_harington"].celebrity
    assert len(pickle.dumps(user)) < 100_000  # what the bot keeps per face, in memory, for minutes
    footer = ["You 50% · 아이유 50%"]
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        drawn = pool.submit(render_morph, user, celebrity, 0.5, footer).result(timeout=120)
    picture = Image.open(io.BytesIO(drawn))
    assert picture.format == "JPEG" and picture.size == (SIDE, SIDE)
    assert drawn == render_morph(user, celebrity, 0.5, footer)  # pure: the same inputs, the same bytes


def test_the_footer_draws_hangul_text(people) -> None:
    user, celebrity = people["rose_leslie"].user, people["kit_harington"].celebrity
    assert has_glyphs("아이유 사진")
    band = (0, SIDE - 40, SIDE, SIDE)

    def footer_of(line: str) -> np.ndarray:
        picture = Image.open(io.BytesIO(render_morph(user, celebrity, 0.5, ["x", line])))
        return np.asarray(picture.crop(band).convert("L"), dtype=np.int16)

    hangul, blank = footer_of("아이유 사진"), footer_of("x")
    # The second line's glyphs are light on the dark band: many more light pixels than without them.
    assert (hangul > 150).sum() > (blank > 150).sum() + 100


def _thumbnail(models: FaceModels, photo: str) -> bytes:
    pixels = decode_photo(face(photo)).pixels
    return face_thumbnail(
        pixels, models.analyze(face(photo), thorough=True).faces[0].box
    )  # as the gallery does


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two (top, right, bottom, left) boxes."""
    width = min(a[1], b[1]) - max(a[3], b[3])
    height = min(a[2], b[2]) - max(a[0], b[0])
    inter = max(0, width) * max(0, height)
    area = lambda box: (box[1] - box[3]) * (box[2] - box[0])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


@pytest.mark.parametrize(
    "photo",
    ["barack_obama/obama.jpg", "rose_leslie/rose_leslie_img1.jpg", "kit_harington/kit_harington_john1.jpeg"],
)
def test_a_thumbnails_face_box_is_where_face_thumbnail_put_it(models, landmarker, photo) -> None:
    pixels = decode_photo(_thumbnail(models, photo)).pixels
    (rect,) = landmarker.detector(pixels, 0)
    found = (rect.top(), rect.right(), rect.bottom(), rect.left())
    assert _overlap(thumbnail_box(pixels.shape[1], pixels.shape[0]), found) > 0.7


def test_a_thumbnail_the_detector_misses_still_gets_its_landmarks(models, landmarker) -> None:
    sharp = _thumbnail(models, "joe_biden/biden.jpg")
    blurred = encode_jpeg(Image.open(io.BytesIO(sharp)).filter(ImageFilter.GaussianBlur(10)))
    assert not landmarker.detector(decode_photo(blurred).pixels, 1)  # the case this test is about
    expected, got = landmarker.keep_thumbnail(sharp).landmarks, landmarker.keep_thumbnail(blurred).landmarks
    for eye in (slice(36, 42), slice(42, 48)):
        assert np.linalg.norm(expected[eye].mean(axis=0) - got[eye].mean(axis=0)) < 10  # px of 256
