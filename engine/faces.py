"""Find faces in a photo and embed each one as dlib's 128-D descriptor (the model face_recognition uses).

Each `FaceModels` owns its own dlib detector, landmark predictor and encoder: dlib's HOG detector keeps
per-call state and is unsafe to share between threads once the GIL is released, so every worker (thread
or process) builds one `FaceModels` and keeps it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import cv2
import dlib
import numpy as np
from PIL import Image

from engine.encoder import CHIP_PADDING, CHIP_SIDE
from engine.encoder_onnx import OnnxFaceEncoder
from engine.images import Photo, decode_photo, encode_jpeg

DETECT_MAX_SIDE = 1024  # detect on a copy no larger than this; encode from the full-resolution photo
# The cheap pass: HOG on a copy this small first (its cost falls with the pixel count; a selfie's face is
# large). Its faces are kept when the smallest is at least `CHEAP_MIN_FACE` px wide on that copy: HOG's
# smallest boxes are ~73 px there, so a face found near that limit may stand beside others just below
# it, and then (or when it finds nothing) today's pass on the `DETECT_MAX_SIDE` copy decides.
CHEAP_DETECT_SIDE = 512
CHEAP_MIN_FACE = 80
# After an untrusted cheap pass, HOG on the `DETECT_MAX_SIDE` copy needs only the first levels of its image
# pyramid (each 5/6 of the one before): the copy is at most twice the cheap one, so its level 4 sees what
# the cheap pass's level 0 saw (2 = (6/5)^3.8), and the cheap pass has searched every larger face.
SMALL_FACE_LEVELS = 4
MAX_FACES = 8  # rankings per photo: the largest faces first
THUMB_SIDE = 256  # face thumbnails kept for collages
MIN_GALLERY_FACE = 80  # px: smaller faces embed poorly, so the gallery refuses them
# A gallery photo with several faces is still clear when its largest face has at least this many times the
# area of every other one (press photos: the subject in front, people in the background). Measured on the
# shared group photos, where every face belongs to a subject of the photo: the largest face had 2.08x
# (two_people.jpg), 2.03x (test_kit_with_rose.jpg) and 1.01x (test_obama_and_biden.jpg) the area of the
# next. 4x the area (twice the width) keeps those refused with a margin of about 2x, while a face in the
# background at half the subject's width or less no longer costs the photo.
DOMINANT_FACE_AREA_RATIO = 4.0


Box = tuple[int, int, int, int]  # (top, right, bottom, left) in full-resolution pixels, as face_recognition


@dataclass(frozen=True)
class Face:
    """One face found in a photo: where it is, its 128-D embedding, and a square JPEG thumbnail of it."""

    box: Box
    embedding: np.ndarray
    thumbnail: bytes

    @property
    def side(self) -> int:
        """The shorter side of the face box in pixels."""
        top, right, bottom, left = self.box
        return min(right - left, bottom - top)


@dataclass(frozen=True)
class Analysis:
    """What a photo yielded: its size, and its faces largest first (at most `MAX_FACES`)."""

    width: int
    height: int
    faces: list[Face]
    faces_found: int


def _model_dir() -> Path:
    """Where face_recognition_models keeps its .dat files, found without importing it.

    Importing face_recognition_models runs `pkg_resources`, which newer setuptools no longer has.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the package face_recognition_models is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class FaceModels:
    """dlib's HOG detector and 5-point landmark predictor, and dlib's ResNet run by ONNX Runtime
    (`OnnxFaceEncoder`: the same descriptors, several times faster than dlib-bin's own encoder or the
    numpy run of `FaceEncoder`), loaded once per worker."""

    def __init__(self) -> None:
        models = _model_dir()
        self.detector = dlib.get_frontal_face_detector()
        self.small_face_detector = pyramid_limited(self.detector, SMALL_FACE_LEVELS)
        self.predictor = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
        self.encoder = OnnxFaceEncoder.from_file(models / "dlib_face_recognition_resnet_model_v1.dat")

    def locate(self, pixels: np.ndarray) -> list[Box]:
        """Face boxes in full-resolution pixels: the cheap pass's when it trusts them; else those and the
        small faces HOG finds on the `DETECT_MAX_SIDE` copy (`locate_small`); else, when neither finds a
        face or the photo is no larger than the cheap copy, `locate_thorough`."""
        gray = _grayscale(pixels)
        if max(gray.size) <= CHEAP_DETECT_SIDE:
            return self.locate_thorough(pixels, gray)
        cheap = self._detect_cheap(gray)
        if cheap and min(d.side for d in cheap) >= CHEAP_MIN_FACE:
            return [d.box for d in cheap]
        found = _merge(self._detect_small(gray) + cheap)
        return [d.box for d in found] if found else self.locate_thorough(pixels, gray, upsample_only=True)

    def locate_cheap(self, pixels: np.ndarray) -> list[Box] | None:
        """Face boxes from HOG on a `CHEAP_DETECT_SIDE` copy, or None when they cannot be trusted: none
        found, one near HOG's smallest size there (others may be just below it), or a photo already small."""
        gray = _grayscale(pixels)
        if max(gray.size) <= CHEAP_DETECT_SIDE:
            return None
        cheap = self._detect_cheap(gray)
        if not cheap or min(d.side for d in cheap) < CHEAP_MIN_FACE:
            return None
        return [d.box for d in cheap]

    def locate_small(self, pixels: np.ndarray) -> list[Box]:
        """Face boxes of the faces HOG sees at the first `SMALL_FACE_LEVELS` levels of its pyramid on the
        `DETECT_MAX_SIDE` copy: about 80 to 150 px wide there."""
        return [d.box for d in self._detect_small(_grayscale(pixels))]

    def locate_thorough(
        self, pixels: np.ndarray, gray: Image.Image | None = None, upsample_only: bool = False
    ) -> list[Box]:
        """Face boxes in full-resolution pixels, found on a copy of at most `DETECT_MAX_SIDE`; upsampled only
        if none found (the detection before the cheap pass; grayscale, as the cheap pass). `gray`: the
        photo's grayscale image when the caller has it; `upsample_only`: the copy is known to hold no face
        at its own size (the cheap and small-face passes found none), so only the upsampled search runs."""
        height, width = pixels.shape[:2]
        small, scale = _detection_copy(gray if gray is not None else _grayscale(pixels), DETECT_MAX_SIDE)
        rects = [] if upsample_only else self.detector(small, 0)
        if len(rects) == 0:
            rects = self.detector(small, 1)
        return [_scale_box(rect, scale, width, height) for rect in rects]

    def _detect_cheap(self, gray: Image.Image) -> list[Detection]:
        """HOG's detections on the `CHEAP_DETECT_SIDE` copy of a grayscale photo (`side`: on that copy)."""
        small, scale = _detection_copy(gray, CHEAP_DETECT_SIDE, fast=True)
        return _detections(self.detector, small, scale, gray.size)

    def _detect_small(self, gray: Image.Image) -> list[Detection]:
        """The small-face detector's detections on the `DETECT_MAX_SIDE` copy of a grayscale photo."""
        small, scale = _detection_copy(gray, DETECT_MAX_SIDE)
        return _detections(self.small_face_detector, small, scale, gray.size)

    def embed(self, pixels: np.ndarray, boxes: list[Box]) -> list[np.ndarray]:
        """One float32 (128,) embedding per box, computed from the full-resolution pixels."""
        if not boxes:
            return []
        shapes = dlib.full_object_detections()
        for top, right, bottom, left in boxes:
            shapes.append(self.predictor(pixels, dlib.rectangle(left, top, right, bottom)))
        chips = dlib.get_face_chips(pixels, shapes, size=CHIP_SIDE, padding=CHIP_PADDING)
        return [self.encoder.encode(np.asarray(chip)) for chip in chips]

    def analyze(
        self, source: bytes | str | Path, max_faces: int = MAX_FACES, thorough: bool = False
    ) -> Analysis:
        """Photo bytes or path in; its faces (largest first, at most `max_faces`) with embeddings out.

        `thorough`: skip the cheap pass (`locate_thorough` only), for a photo whose small faces beside a
        large one matter (a gallery photo's background). Raises `ImageError` when it cannot be decoded.
        """
        return self.analyze_photo(decode_photo(source), max_faces, thorough)

    def analyze_photo(self, photo: Photo, max_faces: int = MAX_FACES, thorough: bool = False) -> Analysis:
        """A decoded photo in; its faces (largest first, at most `max_faces`) with embeddings out."""
        locate = self.locate_thorough if thorough else self.locate
        boxes = sorted(locate(photo.pixels), key=_area, reverse=True)
        kept = boxes[:max_faces]
        embeddings = self.embed(photo.pixels, kept)
        faces = [
            Face(box=box, embedding=emb, thumbnail=face_thumbnail(photo.pixels, box))
            for box, emb in zip(kept, embeddings, strict=True)
        ]
        width, height = photo.size
        return Analysis(width=width, height=height, faces=faces, faces_found=len(boxes))


def _grayscale(pixels: np.ndarray) -> Image.Image:
    """RGB pixels in; their grayscale image out, from which every detection copy of the photo is made.

    Grayscale, as dlib's own face detection examples load their photos: HOG then takes one gradient per
    pixel instead of the strongest of three, about 0.75x its time, and the resize handles one channel
    instead of three; the faces found are the same on every shared photo (tests/test_faces.py). OpenCV
    converts in a quarter of Pillow's time, with the same weights (a pixel in 10^4 differs by one level)."""
    return Image.fromarray(cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY))


def _detection_copy(gray: Image.Image, max_side: int, fast: bool = False) -> tuple[np.ndarray, float]:
    """A grayscale image in; a bilinear copy at most `max_side` px on its long side, and its scale (1.0:
    full size).

    `fast`: average whole blocks of pixels first (Pillow's reduce), then resize the rest of the way; half
    the time of a direct bilinear resize for the cheap pass. The thorough pass resizes directly."""
    width, height = gray.size
    scale = min(1.0, max_side / max(height, width))
    if scale == 1.0:
        return np.asarray(gray), scale
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    image = gray.reduce(int(1 / scale)) if fast and int(1 / scale) >= 2 else gray
    return np.asarray(image.resize(size, Image.Resampling.BILINEAR)), scale


@dataclass(frozen=True)
class Detection:
    """One face HOG found: its box in full-resolution pixels, its width on the copy it was found on (HOG's
    smallest is ~73 px on any copy), and its score."""

    box: Box
    side: int
    score: float


def _detections(
    detector: dlib.fhog_object_detector, copy: np.ndarray, scale: float, size: tuple[int, int]
) -> list[Detection]:
    """A detector, a detection copy, its scale and the photo's (width, height) -> its detections."""
    rects, scores, _kinds = detector.run(copy, 0, 0.0)
    width, height = size
    return [
        Detection(_scale_box(rect, scale, width, height), min(rect.width(), rect.height()), score)
        for rect, score in zip(rects, scores, strict=True)
    ]


def _merge(detections: list[Detection]) -> list[Detection]:
    """Detections from several copies -> one per face: of two boxes that share more than half of the
    smaller one, the higher score is kept (dlib's own non-maximum suppression, across copies)."""
    kept: list[Detection] = []
    for candidate in sorted(detections, key=lambda d: d.score, reverse=True):
        if all(_shared(candidate.box, other.box) <= 0.5 for other in kept):
            kept.append(candidate)
    return kept


def _shared(a: Box, b: Box) -> float:
    """Two boxes -> their intersection's area over the smaller one's."""
    top, right, bottom, left = max(a[0], b[0]), min(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])
    inter = max(0, right - left) * max(0, bottom - top)
    return inter / max(1, min(_area(a), _area(b)))


def pyramid_limited(detector: dlib.fhog_object_detector, levels: int) -> dlib.fhog_object_detector:
    """dlib's HOG detector in; the same detector (the same filters and thresholds) whose image pyramid
    stops after `levels` levels out, so it searches only faces up to about (6/5)^(levels-1) x its 80-px
    window.

    dlib's Python API has no setter for the limit, so it is rewritten in the detector's own serialized
    state (its pickle state): object_detector's version, scan_fhog_pyramid's version, the feature cache
    (empty: its capacity and size), cell size, padding, window width and height, then
    `max_pyramid_levels`, each in dlib's integer encoding (a byte giving the length, then little-endian
    bytes). Each field before the limit is checked to be the one expected, so another layout raises
    instead of loading something else."""
    (state,) = detector.__getstate__()
    position = 0
    for expected in (2, 1, 0, 0, 8, 0, 80, 80):  # versions 2 and 1, no cached features, 8-px cells, 80x80
        value, position = _dlib_int(state, position)
        if value != expected:
            raise RuntimeError(f"unexpected dlib detector layout at byte {position}: {value}")
    _old_limit, end = _dlib_int(state, position)
    limited = dlib.fhog_object_detector.__new__(dlib.fhog_object_detector)
    limited.__setstate__((state[:position] + bytes([1, levels]) + state[end:],))
    return limited


def _dlib_int(data: bytes, position: int) -> tuple[int, int]:
    """dlib's serialized integer at `position` -> (its value, the position after it)."""
    control = data[position]
    length = control & 0x0F
    value = int.from_bytes(data[position + 1 : position + 1 + length], "little")
    return (-value if control & 0x80 else value), position + 1 + length


def _scale_box(rect: dlib.rectangle, scale: float, width: int, height: int) -> Box:
    """A detector rectangle on the downscaled copy → a clipped (top, right, bottom, left) at full size."""
    top = max(0, round(rect.top() / scale))
    left = max(0, round(rect.left() / scale))
    bottom = min(height, round((rect.bottom() + 1) / scale))
    right = min(width, round((rect.right() + 1) / scale))
    return top, right, bottom, left


def _area(box: Box) -> int:
    top, right, bottom, left = box
    return (bottom - top) * (right - left)


def face_thumbnail(pixels: np.ndarray, box: Box, side: int = THUMB_SIDE) -> bytes:
    """A square JPEG of the face with some margin (hair and chin), `side` pixels wide."""
    top, right, bottom, left = box
    height, width = pixels.shape[:2]
    cx, cy = (left + right) / 2, (top + bottom) / 2
    half = max(right - left, bottom - top) * 0.8
    crop = (
        max(0, round(cx - half)),
        max(0, round(cy - half * 1.1)),
        min(width, round(cx + half)),
        min(height, round(cy + half * 0.9)),
    )
    face = pixels[crop[1] : crop[3], crop[0] : crop[2]]
    height, width = face.shape[:2]
    scale = side / max(height, width)
    if scale < 1:
        # Area averaging, the filter made for shrinking, by OpenCV: two thirds of Pillow's bicubic time
        # (which also reduced by whole factors first) for the same look at 256 px (the collage enlarges
        # it to 612 or shrinks it to 140 and 88).
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        face = cv2.resize(face, size, interpolation=cv2.INTER_AREA)
    return encode_jpeg(face, quality=88)


class FaceRejected(ValueError):
    """A photo that cannot join the gallery. `code`: no_face, several_faces, face_too_small."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return type(self), (self.code, str(self))


def _dominant(faces: list[Face]) -> bool:
    """Whether the first (largest) face has `DOMINANT_FACE_AREA_RATIO` times the area of the next one."""
    if len(faces) < 2:
        return False  # faces found but not kept: nothing to compare with, so not clearly dominant
    return _area(faces[0].box) >= DOMINANT_FACE_AREA_RATIO * _area(faces[1].box)


def gallery_face(analysis: Analysis, min_side: int = MIN_GALLERY_FACE) -> Face:
    """The one clear face of a gallery photo, or `FaceRejected` saying why there is none.

    Several faces are fine when the largest one dominates (see `DOMINANT_FACE_AREA_RATIO`)."""
    if analysis.faces_found == 0:
        raise FaceRejected("no_face", "no face found")
    face = analysis.faces[0]
    if analysis.faces_found > 1 and not _dominant(analysis.faces):
        raise FaceRejected(
            "several_faces",
            f"{analysis.faces_found} faces found and none clearly the largest; a gallery photo needs one",
        )
    if face.side < min_side:
        raise FaceRejected(
            "face_too_small", f"the face is {face.side} px wide; at least {min_side} px needed"
        )
    return face
