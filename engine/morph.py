"""A face turned part-way into another: landmarks, alignment on the eyes, a piecewise-affine warp, a blend.

Two steps, so that each runs where its inputs are:
- `engine.landmarks.Landmarker.keep(pixels, box)` (needs dlib's 68-point model, i.e. a worker with
  models): a face's crop and its 68 landmarks as a `KeptFace` — small and picklable, made when a morph
  is asked for and sent to where it is drawn.
- `render_morph(user, celebrity, mix, footer)`: pure (bytes and arrays in, JPEG bytes out, no models), so
  it runs in any process, e.g. the bot's draw pool.

How: each face's eyes are brought to fixed places of a square frame (a similarity transform); the target
shape is the landmarks blended at `mix`, plus points on the frame's border; both faces are warped onto it
triangle by triangle (a Delaunay triangulation of the target shape) and their colours blended at `mix`.
The similarity and the warp are composed, so every pixel is sampled once from the original crop.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from scipy.spatial import Delaunay

from engine.fonts import clean_text, fit_text, font
from engine.images import decode_photo
from engine.landmarks import KeptFace

SIDE = 512  # the picture's side in pixels (square: Telegram shows it whole)
# The warp's own side: the gallery's 256 px thumbnails hold less detail than even this, and the warp's
# cost grows with its pixels (bench/morph.py), so it is drawn smaller and scaled up once.
WARP_SIDE = 384
# Where the eyes go in the frame (fractions of SIDE): high enough that the chin clears the footer.
LEFT_EYE = (0.37, 0.40)
RIGHT_EYE = (0.63, 0.40)
FOREHEAD = 0.45  # how far above the brows the forehead points lie, as a fraction of chin-to-eyes
BORDER_POINTS = 4  # points per side of the frame added to the triangulation (corners included once)
FOOTER_FONT = 17
FOOTER_LINE = 24
FOOTER_PAD = 10
JPEG_QUALITY = 90
_LEFT_EYE_POINTS = slice(36, 42)  # the person's right eye: the left one in the picture
_RIGHT_EYE_POINTS = slice(42, 48)


def _eye_centres(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return landmarks[_LEFT_EYE_POINTS].mean(axis=0), landmarks[_RIGHT_EYE_POINTS].mean(axis=0)


def eye_alignment(landmarks: np.ndarray, side: int = SIDE) -> np.ndarray:
    """68 landmarks in; the 2x3 similarity (rotation, scale, shift) taking their eye centres to the
    frame's fixed eye places, as a matrix acting on (x, y, 1)."""
    src_left, src_right = _eye_centres(landmarks.astype(np.float64))
    dst_left = np.array(LEFT_EYE) * side
    dst_right = np.array(RIGHT_EYE) * side
    src_vec, dst_vec = src_right - src_left, dst_right - dst_left
    # As complex numbers a similarity is z -> a*z + b: a is the ratio of the eye-to-eye vectors.
    a = complex(*dst_vec) / complex(*src_vec)
    b = complex(*dst_left) - a * complex(*src_left)
    return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]])


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """A 2x3 affine matrix applied to (n, 2) points."""
    return points @ matrix[:, :2].T + matrix[:, 2]


def _invert(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a 2x3 affine matrix."""
    linear = np.linalg.inv(matrix[:, :2])
    return np.hstack([linear, -linear @ matrix[:, 2:]])


def border_points(side: int = SIDE, per_side: int = BORDER_POINTS) -> np.ndarray:
    """Points around the frame, just outside it, so every pixel centre lies inside the triangulation."""
    edge = np.linspace(-1.0, side, per_side + 1)
    low, high = -1.0, float(side)
    points = [(x, low) for x in edge[:-1]] + [(high, y) for y in edge[:-1]]
    points += [(x, high) for x in edge[::-1][:-1]] + [(low, y) for y in edge[::-1][:-1]]
    return np.array(points)


def _triangle_affines(triangles: np.ndarray, target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """(t, 3, 2) matrices taking (x, y, 1) of each target triangle to the matching source triangle."""
    tri_target = target[triangles]  # (t, 3, 2)
    tri_source = source[triangles]
    ones = np.ones((*tri_target.shape[:2], 1))
    homogeneous = np.concatenate([tri_target, ones], axis=2)  # (t, 3, 3)
    # A degenerate triangle (three landmarks in a line) has no affine; pinv keeps it finite.
    return np.linalg.pinv(homogeneous) @ tri_source


def _padded(pixels: np.ndarray) -> tuple[Image.Image, int]:
    """The crop with its edge pixels repeated outwards (a crop cut by the photo's border, or a
    frame wider than a thumbnail), the repeats marked in the fourth band (0 there, 255 inside), fading in over a few pixels at the edge; and
    the pad's width. The blend then takes such places from the other face (`_blend`)."""
    pad = max(pixels.shape[:2]) // 4
    rgb = np.pad(pixels, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    fade = max(1, max(pixels.shape[:2]) // 12)  # wide: a narrow fade shows the crop's edge as a line

    def ramp(length: int) -> np.ndarray:
        """0 in the pad, rising to 1 over `fade` pixels inside the crop's edge, along one axis."""
        inside = np.minimum(np.arange(length + 2 * pad) - pad + 1, length + pad - np.arange(length + 2 * pad))
        return np.clip(inside / fade, 0, 1)

    alpha = (np.minimum.outer(ramp(pixels.shape[0]), ramp(pixels.shape[1])) * 255).astype(np.uint8)
    # RGBX, not RGBA: Pillow resamples RGBA premultiplied, which would blacken the transparent repeats.
    rgbx = np.ascontiguousarray(np.dstack([rgb, alpha]))
    return Image.frombytes("RGBX", (rgbx.shape[1], rgbx.shape[0]), rgbx.tobytes()), pad


def _blend(first: Image.Image, second: Image.Image, mix: float) -> Image.Image:
    """Two warped faces (RGBX) mixed at `mix`, each weighted by its fourth band too: where one face's crop
    ends, the other shows instead of a smear of the edge; where both end, the smears mix as they are."""
    if mix in (0.0, 1.0):
        return (second if mix else first).convert("RGB")
    weight_a = (1 - mix) / 255 * np.asarray(first.getchannel(3), dtype=np.float32)
    weight_b = mix / 255 * np.asarray(second.getchannel(3), dtype=np.float32)
    total = weight_a + weight_b
    share_b = np.divide(weight_b, total, out=np.full_like(total, mix), where=total > 0)
    # Fading to the plain mix as both weights vanish keeps the edge of the two crops smooth.
    trust = np.clip(total / min(mix, 1 - mix), 0, 1)
    share_b = trust * share_b + (1 - trust) * mix
    mask = Image.fromarray((share_b * 255 + 0.5).astype(np.uint8), "L")
    return Image.composite(second.convert("RGB"), first.convert("RGB"), mask)


def _warp(
    source: Image.Image, pad: int, triangles: np.ndarray, target: np.ndarray, affines: np.ndarray, side: int
) -> Image.Image:
    """Each target triangle filled from its source triangle (Pillow's bilinear affine transform on the
    triangle's bounding box, pasted through the triangle's mask): a (side, side) RGB image."""
    frame = Image.new("RGBX", (side, side))
    for triangle, affine in zip(triangles, affines, strict=True):
        corners = target[triangle]
        left, top = np.floor(corners.min(axis=0)).astype(int)
        right, bottom = np.ceil(corners.max(axis=0)).astype(int) + 1
        left, top = max(left, 0), max(top, 0)
        right, bottom = min(right, side), min(bottom, side)
        if right <= left or bottom <= top:
            continue
        (a, d), (b, e), (c, f) = affine
        # Pillow maps each output pixel (x, y) of the box to the input (a x + b y + c, d x + e y + f);
        # the box starts at (left, top) of the frame and the input at (-pad, -pad) of the crop.
        coefficients = (a, b, a * left + b * top + c + pad, d, e, d * left + e * top + f + pad)
        size = (right - left, bottom - top)
        patch = source.transform(size, Image.Transform.AFFINE, coefficients, Image.Resampling.BILINEAR)
        mask = Image.new("L", size)
        outline = [(float(x - left), float(y - top)) for x, y in corners]
        # The outline too: neighbouring triangles overlap by a pixel rather than leave a seam.
        ImageDraw.Draw(mask).polygon(outline, fill=255, outline=255)
        frame.paste(patch, (left, top), mask)
    return frame


def with_forehead(landmarks: np.ndarray) -> np.ndarray:
    """The 68 landmarks plus points above the brows and the jaw's ends (dlib's model stops at the brows):
    (80, 2). Warping the forehead and temples too keeps two hairlines from showing through each other."""
    points = landmarks.astype(np.float64)
    eyes = np.mean(_eye_centres(points), axis=0)
    up = eyes - points[8]  # chin to eyes
    lifted = np.vstack([points[17:27], points[[0, 16]]]) + FOREHEAD * up
    return np.vstack([points, lifted])


def _frame_points(face: KeptFace, side: int) -> tuple[np.ndarray, np.ndarray]:
    """A face's landmarks in the frame (eyes aligned), and the frame's border points in the face's crop."""
    alignment = eye_alignment(face.landmarks, side)
    aligned = _apply(alignment, with_forehead(face.landmarks))
    border_in_crop = _apply(_invert(alignment), border_points(side))
    return aligned, border_in_crop


def morph_image(user: KeptFace, celebrity: KeptFace, mix: float, side: int = SIDE) -> Image.Image:
    """The two faces blended at `mix` (0: the user's face, 1: the celebrity's) in shape and colour:
    a (side, side) RGB image, eyes at the frame's fixed places."""
    if not 0.0 <= mix <= 1.0:
        raise ValueError(f"mix must be between 0 and 1, got {mix}")
    user_aligned, user_border = _frame_points(user, side)
    celeb_aligned, celeb_border = _frame_points(celebrity, side)
    target = np.vstack([(1 - mix) * user_aligned + mix * celeb_aligned, border_points(side)])
    triangles = Delaunay(target).simplices
    warped = []
    for face, border_in_crop in ((user, user_border), (celebrity, celeb_border)):
        source = np.vstack([with_forehead(face.landmarks), border_in_crop])
        padded, pad = _padded(decode_photo(face.crop).pixels)
        affines = _triangle_affines(triangles, target, source)
        warped.append(_warp(padded, pad, triangles, target, affines, side))
    return _blend(warped[0], warped[1], mix)


def _footer(image: Image.Image, lines: Sequence[str]) -> None:
    """Credit lines drawn on a dark band across the bottom of the picture (Hangul included)."""
    lines = [clean_text(line) for line in lines if line.strip()]
    if not lines:
        return
    band = FOOTER_PAD * 2 + FOOTER_LINE * len(lines)
    top = image.height - band
    region = image.crop((0, top, image.width, image.height)).filter(ImageFilter.GaussianBlur(6))
    shade = Image.new("RGB", region.size, (16, 18, 24))
    image.paste(Image.blend(region, shade, 0.78), (0, top))
    draw = ImageDraw.Draw(image)
    face_font = font(FOOTER_FONT)
    for number, line in enumerate(lines):
        text = fit_text(line, face_font, image.width - 2 * FOOTER_PAD)
        colour = (255, 255, 255) if number == 0 else (200, 204, 212)
        draw.text((FOOTER_PAD, top + FOOTER_PAD + number * FOOTER_LINE), text, font=face_font, fill=colour)


def render_morph(user: KeptFace, celebrity: KeptFace, mix: float, footer: Sequence[str] = ()) -> bytes:
    """The morph as a square JPEG with `footer` lines (the credit) across its bottom.

    Pure and picklable (bytes and arrays in, bytes out, no models): runs in any worker process."""
    image = morph_image(user, celebrity, mix, WARP_SIDE).resize((SIDE, SIDE), Image.Resampling.BICUBIC)
    _footer(image, footer)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()


def crossfade_pixels(user: KeptFace, celebrity: KeptFace, mix: float, side: int = SIDE) -> np.ndarray:
    """The naive blend, for comparison (bench/morph.py): both crops scaled to the frame and crossfaded,
    without alignment or warp."""
    frames = [
        np.asarray(Image.open(io.BytesIO(face.crop)).convert("RGB").resize((side, side)), dtype=np.float32)
        for face in (user, celebrity)
    ]
    return np.clip((1 - mix) * frames[0] + mix * frames[1] + 0.5, 0, 255).astype(np.uint8)
