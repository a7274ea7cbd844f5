from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from engine.images import MAX_FILE_BYTES, ImageError, decode_photo
from tests.paths import face

OBAMA = face("barack_obama/obama-480p.jpg")


def _encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def _obama() -> Image.Image:
    return Image.open(OBAMA).convert("RGB")


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [
        ("RGB", "JPEG"),
        ("RGBA", "PNG"),
        ("P", "PNG"),
        ("L", "PNG"),
        ("LA", "PNG"),
        ("RGB", "WEBP"),
        ("CMYK", "JPEG"),
        ("L", "JPEG"),
        ("RGB", "BMP"),
        ("RGB", "TIFF"),
    ],
)
def test_every_supported_mode_decodes_to_upright_rgb(mode: str, fmt: str) -> None:
    source = _obama().convert(mode)
    photo = decode_photo(_encode(source, fmt))
    assert photo.pixels.dtype == np.uint8
    assert photo.pixels.shape == (source.height, source.width, 3)


def test_sixteen_bit_png_is_scaled_not_blown_out() -> None:
    eight_bit = np.asarray(_obama().convert("L"), dtype=np.uint16)
    photo = decode_photo(_encode(Image.fromarray(eight_bit * 257), "PNG"))
    assert photo.pixels.shape[2] == 3
    # the same picture as the 8-bit original, not saturated white
    assert np.abs(photo.pixels[..., 0].astype(int) - eight_bit).max() <= 1


def test_transparent_png_is_flattened_onto_white() -> None:
    clear = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    assert decode_photo(_encode(clear, "PNG")).pixels.min() == 255


def test_gif_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (32, 32), (255, 0, 0)), Image.new("RGB", (32, 32), (0, 0, 255))]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    pixel = decode_photo(data).pixels[0, 0]
    assert pixel[0] > 200 and pixel[2] < 50


def test_exif_orientation_is_applied() -> None:
    upright = _obama()
    # Stored sideways, as a phone does: pixels rotated, with orientation 6 ("rotate 90° CW to view").
    sideways = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    photo = decode_photo(_encode(sideways, "JPEG", exif=exif.tobytes(), quality=95))
    assert photo.size == upright.size


def test_a_file_over_twenty_megabytes_is_refused_unread(tmp_path) -> None:
    big = tmp_path / "big.jpg"
    with big.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(ImageError) as caught:
        decode_photo(big)
    assert caught.value.code == "too_large"
    with pytest.raises(ImageError) as caught:
        decode_photo(b"\xff" * (MAX_FILE_BYTES + 1))
    assert caught.value.code == "too_large"


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    bomb = _encode(Image.new("1", (20_000, 20_000)), "PNG")  # 400 MP in a few dozen kilobytes
    assert len(bomb) < 200_000
    with pytest.raises(ImageError) as caught:
        decode_photo(bomb)
    assert caught.value.code == "too_large"


@pytest.mark.parametrize(
    "data",
    [
        b"hello, this is not an image",
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
        b"\xff\xd8\xff\xe0" + b"\x00" * 50,  # a JPEG signature and nothing else
        b"",
    ],
)
def test_non_images_are_bad_images(data: bytes) -> None:
    with pytest.raises(ImageError) as caught:
        decode_photo(data)
    assert caught.value.code == "bad_image"


def test_a_truncated_jpeg_is_refused_even_after_face_recognition_is_imported() -> None:
    import face_recognition  # noqa: F401  (it turns LOAD_TRUNCATED_IMAGES on for the process)

    data = OBAMA.read_bytes()
    with pytest.raises(ImageError) as caught:
        decode_photo(data[: len(data) // 2])
    assert caught.value.code == "bad_image"


def test_missing_paths_and_folders_are_told_apart(tmp_path) -> None:
    with pytest.raises(ImageError) as caught:
        decode_photo(tmp_path / "nope.jpg")
    assert caught.value.code == "not_found"
    with pytest.raises(ImageError) as caught:
        decode_photo(tmp_path)
    assert caught.value.code == "bad_image"


@pytest.mark.parametrize("fmt", ["PCX", "TGA", "ICO"])
def test_an_image_in_a_format_not_served_is_told_apart_by_its_code(fmt: str) -> None:
    data = _encode(_obama().resize((64, 64)), fmt)
    with pytest.raises(ImageError) as caught:
        decode_photo(data)
    assert caught.value.code == "unsupported"
    assert fmt in caught.value.message


def test_a_telegram_jpeg_decodes_to_pillows_own_pixels() -> None:
    """The fast decoder (libjpeg-turbo straight into numpy) gives exactly the pixels Pillow gives."""
    original = Image.open(face("barack_obama/test_obama1.jpg")).convert("RGB")
    for quality, subsampling in ((87, 2), (95, 0)):
        buffer = io.BytesIO()
        original.save(buffer, "JPEG", quality=quality, subsampling=subsampling)
        data = buffer.getvalue()
        expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        assert np.array_equal(decode_photo(data).pixels, expected)


def test_a_jpeg_libjpeg_turbo_warns_about_is_still_decoded_as_pillow_does() -> None:
    """Stray bytes between markers: libjpeg-turbo warns (the fast decoder declines), Pillow decodes."""
    buffer = io.BytesIO()
    Image.open(face("barack_obama/test_obama1.jpg")).convert("RGB").save(buffer, "JPEG", quality=87)
    data = buffer.getvalue()
    scan = data.index(b"\xff\xda")  # start of scan: put junk before it
    damaged = data[:scan] + b"\x00\x01\x02" + data[scan:]
    expected = np.asarray(Image.open(io.BytesIO(damaged)).convert("RGB"))
    assert np.array_equal(decode_photo(damaged).pixels, expected)
