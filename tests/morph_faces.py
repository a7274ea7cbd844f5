"""Morphs of the shared photos measured with the project's own encoder: the property tests/test_morph.py pins
on a few pairs and bench/morph.py measures on every pair.

A morph is "between" a user and a celebrity when its embedding's distances to both photos are well under
the distance between them, about equal at mix 0.5, and nearer the user as the mix falls.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from engine.faces import FaceModels, face_thumbnail
from engine.images import decode_photo, encode_jpeg
from engine.landmarks import KeptFace, Landmarker
from engine.morph import crossfade_pixels, morph_image
from engine.ranking import distance_between
from tests.paths import face

# One photo per person as the user's selfie, another (where there is one) as the gallery's photo.
PEOPLE = {
    "alex_lacamoire": ("alex_lacamoire/alex_lacamoire_img1.jpg", "alex_lacamoire/test_alex_lacamoire1.jpg"),
    "barack_obama": ("barack_obama/obama.jpg", "barack_obama/obama2.jpg"),
    "joe_biden": ("joe_biden/biden.jpg", "joe_biden/biden_biden2.jpg"),
    "kit_harington": ("kit_harington/kit_harington_john1.jpeg", "kit_harington/kit_harington_john2.jpeg"),
    "lin_manuel_miranda": ("lin_manuel_miranda/lin-manuel-miranda.png",) * 2,
    "rose_leslie": ("rose_leslie/rose_leslie_img1.jpg", "rose_leslie/rose_leslie_img2.jpg"),
}
# "Well under" and "about equal", as fractions of the distance between the user and the celebrity.
WELL_UNDER = 0.8
ABOUT_EQUAL = 0.25


@dataclass(frozen=True)
class Person:
    """A person's selfie (kept face and embedding) and gallery photo (thumbnail's kept face, embedding)."""

    name: str
    user: KeptFace
    user_embedding: np.ndarray
    celebrity: KeptFace
    celebrity_embedding: np.ndarray


def load_person(name: str, models: FaceModels, landmarker: Landmarker) -> Person:
    """Both photos of a person as the bot and the gallery hold them (largest face)."""
    selfie, gallery_photo = PEOPLE[name]
    user_pixels = decode_photo(face(selfie)).pixels
    user_face = models.analyze(face(selfie)).faces[0]
    celeb_pixels = decode_photo(face(gallery_photo)).pixels
    celeb_face = models.analyze(face(gallery_photo), thorough=True).faces[0]  # as gallery additions are
    thumbnail = face_thumbnail(celeb_pixels, celeb_face.box)
    return Person(
        name,
        landmarker.keep(user_pixels, user_face.box),
        user_face.embedding,
        landmarker.keep_thumbnail(thumbnail),
        celeb_face.embedding,
    )


Method = Callable[[KeptFace, KeptFace, float], np.ndarray]


def morph(user: KeptFace, celebrity: KeptFace, mix: float) -> np.ndarray:
    """The morph's pixels (engine/morph.py, without the footer)."""
    return np.asarray(morph_image(user, celebrity, mix))


def crossfade(user: KeptFace, celebrity: KeptFace, mix: float) -> np.ndarray:
    """Both crops crossfaded, no alignment: what the criterion must reject."""
    return crossfade_pixels(user, celebrity, mix)


def own_photo(user: KeptFace, celebrity: KeptFace, mix: float) -> np.ndarray:
    """The user's own crop returned whatever the mix: what the criterion must reject too."""
    return np.asarray(Image.open(io.BytesIO(user.crop)).convert("RGB"))


@dataclass(frozen=True)
class Distances:
    """One morph's distances: to the user's photo, to the celebrity's, and between the two photos; None
    when no face is found in the morph at all."""

    to_user: float | None
    to_celebrity: float | None
    between: float

    @property
    def found(self) -> bool:
        return self.to_user is not None and self.to_celebrity is not None

    def between_both(self) -> bool:
        """Both distances well under the user-celebrity distance."""
        return self.found and max(self.to_user, self.to_celebrity) < WELL_UNDER * self.between  # type: ignore[type-var]

    def balanced(self) -> bool:
        """The two distances about equal."""
        return self.found and abs(self.to_user - self.to_celebrity) < ABOUT_EQUAL * self.between  # type: ignore[operator]


def measure(models: FaceModels, method: Method, user: Person, celebrity: Person, mix: float) -> Distances:
    """Draw with `method`, embed the largest face of the picture (as a JPEG, as it is sent), measure."""
    pixels = method(user.user, celebrity.celebrity, mix)
    between = distance_between(user.user_embedding, celebrity.celebrity_embedding)
    faces = models.analyze(encode_jpeg(pixels)).faces
    if not faces:
        return Distances(None, None, between)
    embedding = faces[0].embedding
    return Distances(
        distance_between(embedding, user.user_embedding),
        distance_between(embedding, celebrity.celebrity_embedding),
        between,
    )


def passes(models: FaceModels, method: Method, user: Person, celebrity: Person) -> bool:
    """The whole criterion for one pair: between both and balanced at 0.5, nearer the user at 0.25 than
    at 0.5 and at 0.5 than at 0.75."""
    half = measure(models, method, user, celebrity, 0.5)
    if not (half.between_both() and half.balanced()):
        return False
    quarter = measure(models, method, user, celebrity, 0.25)
    three = measure(models, method, user, celebrity, 0.75)
    if not (quarter.found and three.found):
        return False
    return quarter.to_user < half.to_user < three.to_user  # type: ignore[operator]
