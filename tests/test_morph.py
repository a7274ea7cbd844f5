"""engine/morph.py on real photos: the morph is a face of its own between the two (the project's encoder
says so), a plain function another process can run, and its footer draws Hangul."""

from __future__ import annotations

import io
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from PIL import Image

from engine.faces import FaceModels
from engine.fonts import has_glyphs
from engine.morph import SIDE, KeptFace, Landmarker, morph_image, render_morph
from tests import morph_faces
from tests.morph_faces import measure, morph, own_photo, passes

# A few pairs of the bench's 30 (bench/morph.py): men and a woman, both ways round.
PAIRS = [
    ("barack_obama", "joe_biden"),
    ("rose_leslie", "kit_harington"),
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
