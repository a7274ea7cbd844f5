"""A face kept for a morph: its crop and dlib's 68 landmarks, found where the models are (a face worker).

`Landmarker.keep(pixels, box)` makes a `KeptFace` from a photo being analysed (the photo itself is not
kept); `Landmarker.keep_thumbnail(jpeg)` from a gallery photo's stored face thumbnail;
`analyze_keeping` does an analysis and the keeping on one decode. Nothing here imports scipy, so the bot's
own process can unpickle a `KeptFace` without loading what only the drawing of a morph needs
(`engine.morph`).
"""

from __future__ import annotations

from dataclasses import dataclass

import dlib
import numpy as np
from PIL import Image

from engine.faces import MAX_FACES, Analysis, Box, FaceModels, _model_dir
from engine.images import decode_photo, encode_jpeg

CROP_SIDE = 512  # the longest side of a kept face crop: the gallery's thumbnails are 256 px


@dataclass(frozen=True)
class KeptFace:
    """A face ready to morph: a JPEG crop around it (at most `CROP_SIDE` px) and its 68 landmarks as
    (x, y) float32 pixels of that crop. About 30-60 KB; holds no embedding."""

    crop: bytes
    landmarks: np.ndarray

    def __post_init__(self) -> None:
        if np.shape(self.landmarks) != (68, 2):
            raise ValueError(f"68 (x, y) landmarks expected, got shape {np.shape(self.landmarks)}")


class Landmarker:
    """dlib's HOG detector and 68-point shape predictor (from face_recognition_models), loaded once per
    worker; not shared between threads (see engine/faces.py)."""

    def __init__(self) -> None:
        self.detector = dlib.get_frontal_face_detector()
        self.predictor = dlib.shape_predictor(str(_model_dir() / "shape_predictor_68_face_landmarks.dat"))

    def landmarks(self, pixels: np.ndarray, box: Box) -> np.ndarray:
        """RGB pixels and a face box (top, right, bottom, left) in; (68, 2) float32 (x, y) out."""
        top, right, bottom, left = box
        shape = self.predictor(pixels, dlib.rectangle(left, top, right, bottom))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)

    def keep(self, pixels: np.ndarray, box: Box) -> KeptFace:
        """A photo's pixels and one face box in; that face's crop (with hair and chin) and landmarks out."""
        height, width = pixels.shape[:2]
        top, right, bottom, left = box
        cx, cy = (left + right) / 2, (top + bottom) / 2
        half = max(right - left, bottom - top) * 1.1
        x0, y0 = max(0, round(cx - half)), max(0, round(cy - half * 1.15))
        x1, y1 = min(width, round(cx + half)), min(height, round(cy + half * 0.95))
        points = self.landmarks(pixels, box) - np.array((x0, y0), dtype=np.float32)
        # Only the crop becomes an image: the same pixels as cropping an image of the whole photo, in a
        # third of the time.
        image = Image.fromarray(np.ascontiguousarray(pixels[y0:y1, x0:x1]))
        scale = min(1.0, CROP_SIDE / max(image.size))
        if scale < 1.0:
            size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
            image = image.resize(size, Image.Resampling.LANCZOS)
            points = points * np.float32(scale)
        return KeptFace(crop=encode_jpeg(image, quality=92), landmarks=points.astype(np.float32))

    def keep_thumbnail(self, thumbnail: bytes) -> KeptFace:
        """A gallery face thumbnail (JPEG, `engine.faces.face_thumbnail`) in; it and its landmarks out.

        The detector finds the face (upsampled once if need be); where it does not, the box is where
        `face_thumbnail` put it (`thumbnail_box`), so every gallery photo can be morphed."""
        pixels = decode_photo(thumbnail).pixels
        rects = self.detector(pixels, 0) or self.detector(pixels, 1)
        if rects:
            rect = max(rects, key=lambda r: r.area())
            box = (rect.top(), rect.right(), rect.bottom(), rect.left())
        else:
            box = thumbnail_box(pixels.shape[1], pixels.shape[0])
        return KeptFace(crop=thumbnail, landmarks=self.landmarks(pixels, box))


def analyze_keeping(
    models: FaceModels, landmarker: Landmarker, data: bytes, max_faces: int = MAX_FACES
) -> tuple[Analysis, KeptFace | None]:
    """Photo bytes in (decoded once); their analysis and the largest face kept for a morph (None when
    there is no face) out. Raises `ImageError` when the photo cannot be decoded."""
    photo = decode_photo(data)
    analysis = models.analyze_photo(photo, max_faces)
    if not analysis.faces:
        return analysis, None
    return analysis, landmarker.keep(photo.pixels, analysis.faces[0].box)


def thumbnail_box(width: int, height: int) -> Box:
    """Where the face box lies in a `face_thumbnail` of this size: it cuts 0.8 box sides either side of
    the box's centre across, 0.88 above it and 0.72 below (exact unless the photo's border cut it)."""
    side = width / 1.6
    cx, cy = width / 2, height * 0.88 / 1.6
    return (round(cy - side / 2), round(cx + side / 2), round(cy + side / 2), round(cx - side / 2))
