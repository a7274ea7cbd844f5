"""Hostile input end to end: bombs, broken and disguised photos, odd names and captions, hostile zips.

Each test runs the real bot (`python -m bot run`) as a subprocess against its own stand-in Bot API server.
"""

from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.bot_checks import ADMIN, assert_clean_log, integrity, says
from tests.botapi import FakeBotAPI, User
from tests.botapi.harness import RunningBot, next_message, start_api
from tests.paths import face, photo


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    server = start_api()
    yield server
    server.stop_thread()


def _png_bomb(side: int = 20_000) -> bytes:
    """A 1-bit PNG of side x side pixels (400 MP): about 50 KB of bytes, gigabytes once decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    row = bytes(1 + side // 8)  # filter byte + packed bits
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _encoded(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


def _broken_png() -> bytes:
    data = bytearray(_encoded(Image.new("RGB", (64, 64), (200, 10, 10)), "PNG"))
    data[60] ^= 0xFF  # inside the IDAT chunk: its CRC no longer matches
    return bytes(data)


def _corrupt_exif_jpeg() -> bytes:
    tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 5)  # five IFD entries announced, none there
    payload = b"Exif\x00\x00" + tiff
    data = photo("barack_obama/obama_small.jpg")
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:]


HOSTILE_SELFIES = [
    ("over-20mb", b"\xff\xd8\xff\xe0" + bytes(21 * 1024 * 1024), "big.jpg", "image/jpeg", "too big"),
    ("png-bomb", _png_bomb(), "bomb.png", "image/png", "too big"),
    (
        "truncated-jpeg",
        face("barack_obama/obama.jpg").read_bytes()[:3000],
        "cut.jpg",
        "image/jpeg",
        "could not read",
    ),
    ("random-bytes", bytes(range(256)) * 40, "noise.png", "image/png", "could not read"),
    ("broken-png-crc", _broken_png(), "broken.png", "image/png", "could not read"),
    ("ico", _encoded(Image.new("RGB", (32, 32)), "ICO"), "icon.ico", "image/x-icon", "not an image"),
    ("html-as-jpeg", b"<html><script>alert(1)</script></html>", "x.jpg", "image/jpeg", "could not read"),
]


def test_hostile_photos_names_and_captions_get_clear_answers_and_the_gallery_stays_consistent(
    api, tmp_path
) -> None:
    db = tmp_path / "gallery.sqlite"
    bot = RunningBot(api, db, admin_ids=str(ADMIN.id))

    for n, (case, data, file_name, mime, expected) in enumerate(HOSTILE_SELFIES):
        user = User(70 + n, f"Tester {n}")
        reply = next_message(
            api, user.id, lambda u=user, d=data, f=file_name, m=mime: api.send_document(u, d, f, m)
        )
        assert reply["method"] == "sendMessage" and expected in reply["text"], (case, reply["text"])

    def add(caption: str, relative: str) -> str:
        return says(api, ADMIN, lambda: api.send_photo(ADMIN, photo(relative), caption=caption))

    def command(text: str) -> str:
        return says(api, ADMIN, lambda: api.send_text(ADMIN, text))

    # a real selfie whose EXIF block is cut short: Pillow warns, the bot answers, the log stays one-line
    eva = User(69, "Eva")
    reply = next_message(
        api, eva.id, lambda: api.send_document(eva, _corrupt_exif_jpeg(), "me.jpg", "image/jpeg")
    )
    assert reply["method"] == "sendPhoto"

    usage = "Send a photo with the caption /add NAME"
    # odd captions
    assert add("/add", "joe_biden/biden.jpg").startswith(usage)
    assert add("/add    ", "joe_biden/biden.jpg").startswith(usage)
    assert add("/add@lookalike_test_bot Joe Biden", "joe_biden/biden.jpg").splitlines() == [
        "Adding Joe Biden:",
        "✅ photo 1: added",
    ]
    assert add("/add 😀🎉", "rose_leslie/rose_leslie_img1.jpg").splitlines()[0] == "Adding 😀🎉:"
    # control characters and right-to-left marks are dropped; 10,000 characters are refused
    assert add(
        "/add Kit\u202e \u200fHar\x07ing\u200bton\u0000", "kit_harington/kit_harington_john1.jpeg"
    ) == ("Adding Kit Harington:\n✅ photo 1: added")
    long_name = add("/add " + "A" * 10_000, "alex_lacamoire/alex_lacamoire_img1.jpg")
    assert long_name == "That name cannot be used: the name is longer than 64 characters."
    assert add("/add \u202e\u200f\u200b", "alex_lacamoire/alex_lacamoire_img1.jpg") == (
        "That name cannot be used: the name is empty."
    )
    # SQL-looking names are just names
    sql = "Robert'); DROP TABLE celebrity;--"
    assert add(f"/add {sql}", "barack_obama/obama.jpg").splitlines() == [
        f"Adding {sql}:",
        "✅ photo 1: added",
    ]
    bobby = 'Bobby" OR 1=1; DELETE FROM photo;--'
    assert command(f"/rename {sql} | {bobby}") == f"Renamed {sql} to {bobby}."
    assert "nobody called" in command("/remove ' OR '1'='1")
    assert command("/rename x | " + "B" * 10_000).startswith(("That name cannot be used", "There is nobody"))
    assert command("/remove " + "C" * 10_000).startswith("That name cannot be used")
    assert command("/rename \u202e | Y") == "That name cannot be used: the name is empty."
    # the decompression bomb offered to the gallery
    bomb = says(
        api,
        ADMIN,
        lambda: api.send_document(ADMIN, _png_bomb(), "bomb.png", "image/png", caption="/add Bomb"),
    )
    assert bomb.splitlines() == ["Adding Bomb:", "❌ photo 1: the file is too big"]
    huge = HOSTILE_SELFIES[0][1]
    big = says(
        api, ADMIN, lambda: api.send_document(ADMIN, huge, "big.jpg", "image/jpeg", caption="/add Big")
    )
    assert big.splitlines() == ["Adding Big:", "❌ photo 1: the file is too big"]
    # odd /list arguments
    for argument in ("²", "-1", "99999999999999999999999", "'; DROP TABLE photo;--"):
        assert command(f"/list {argument}").startswith("Celebrities (4), page 1 of 1:")

    listing = command("/list").splitlines()[1:]
    assert sorted(listing) == sorted(
        [f"{bobby} — 1 photos", "Joe Biden — 1 photos", "Kit Harington — 1 photos", "😀🎉 — 1 photos"]
    )
    assert bot.stop() == 0
    assert integrity(db) == "ok"
    assert_clean_log(bot)


def _zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def _zip_bomb() -> bytes:
    """`bomb.jpg`: 600 MB of zeros in 2.7 MB, written streaming; `liar.jpg`: 50 MB of zeros whose
    central-directory header claims 1,000 bytes; and one good photo."""
    buffer = io.BytesIO()
    zeros = bytes(1024 * 1024)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, megabytes in (("bomb.jpg", 600), ("liar.jpg", 50)):
            with archive.open(name, "w") as entry:
                for _ in range(megabytes):
                    entry.write(zeros)
        archive.writestr("Good Person/1.jpg", photo("joe_biden/biden_biden2.jpg"))
    data = bytearray(buffer.getvalue())
    position = data.index(b"PK\x01\x02")
    while True:  # find liar.jpg's central-directory record and shrink its uncompressed size
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if data[position + 46 : position + 46 + name_length] == b"liar.jpg":
            struct.pack_into("<I", data, position + 24, 1000)
            return bytes(data)
        position = data.index(b"PK\x01\x02", position + 4)


def _corrupt_zip() -> bytes:
    """One deflated entry whose stream starts with an invalid block type."""
    data = bytearray(_zip([("corrupt.jpg", photo("barack_obama/obama_small.jpg"))]))
    start = 30 + len("corrupt.jpg")  # the first entry's data, after its local header (no extra field)
    data[start : start + 4] = b"\xff\xff\xff\xff"
    return bytes(data)


def _refusals(summary: str) -> dict[str, str]:
    lines = [line.removeprefix("❌ ") for line in summary.splitlines()[1:] if line.startswith("❌ ")]
    return dict(line.rsplit(": ", 1) for line in lines)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_hostile_zips_are_refused_entry_by_entry_and_nothing_escapes_the_folder(api, tmp_path) -> None:
    db = tmp_path / "gallery.sqlite"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    bot = RunningBot(api, db, admin_ids=str(ADMIN.id), env={"TMPDIR": str(scratch)})

    def imported(data: bytes, file_name: str = "photos.zip") -> list[str]:
        mark = len(api.sent)
        api.send_document(ADMIN, data, file_name, "application/zip", caption="/import")
        first = api.wait_for_sent_sync(chat_id=ADMIN.id, start=mark, timeout=60)[0]
        if not first["text"].startswith("Importing"):
            return [first["text"]]
        return [m["text"] for m in api.wait_for_sent_sync(chat_id=ADMIN.id, start=mark, count=2, timeout=60)]

    # a zip bomb, and an entry whose header lies about its size
    started, summary = imported(_zip_bomb())
    assert started == "Importing 1 photos…"
    assert summary.startswith("Import done: 1 added, 0 already there, 2 refused.")
    assert _refusals(summary) == {"bomb.jpg": "too large", "liar.jpg": "damaged"}
    assert _peak_rss_mb(bot.process.pid) < 600  # nothing near the 600 MB was ever held

    # paths out of the folder, links, archives in archives, things that are not photos, odd names
    mark = "x7q"
    link = zipfile.ZipInfo("link.jpg")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    face_bytes = photo("rose_leslie/rose_leslie_img2.jpg")
    entries: list[tuple[str | zipfile.ZipInfo, bytes]] = [
        (f"../escape-{mark}.jpg", face_bytes),
        (str(tmp_path / f"absolute-{mark}.jpg"), face_bytes),
        (f"C:\\windows-{mark}.jpg", face_bytes),
        (f"..\\back-{mark}.jpg", face_bytes),
        (f"a/../../up-{mark}.jpg", face_bytes),
        (link, b"/etc/passwd"),
        ("inner.zip", _zip([("x.jpg", face_bytes)])),
        ("more.tar.gz", b"\x1f\x8b\x08\x00"),
        ("notes.txt", b"hello"),
        (".hidden.jpg", face_bytes),
        ("fake.jpg", b"<html>not a photo</html>"),
        ("B" * 100 + ".jpg", face_bytes),
        ("C" * 300 + ".jpg", face_bytes),
        ("D" * 300 + "/1.jpg", face_bytes),
        ("\u202eevil\u200f/1.jpg", face_bytes),
    ]
    started, summary = imported(_zip(entries))
    assert summary.startswith("Import done: 1 added, 0 already there, 14 refused."), summary
    refusals = _refusals(summary)
    assert [refusals[str(name)[:80]] for name, _ in entries[:5]] == ["unsafe path"] * 5
    assert refusals["link.jpg"] == "link"
    assert refusals["inner.zip"] == refusals["more.tar.gz"] == "nested archive"
    assert refusals["notes.txt"] == "not an image" and refusals[".hidden.jpg"] == "hidden file"
    assert refusals["fake.jpg"] == "not a readable image"
    assert refusals["B" * 80] == "that name cannot be used"  # names are shown cut at 80
    assert refusals["C" * 80] == refusals["D" * 80] == "damaged"  # longer than a file name may be
    started, summary = imported(_corrupt_zip())
    assert summary == "Import done: 0 added, 0 already there, 1 refused.\n❌ corrupt.jpg: damaged"

    # whole archives that cannot be used
    too_many = _zip([(f"{n}.jpg", b"") for n in range(2001)])
    assert imported(too_many) == ["That zip cannot be imported: more than 2000 files."]
    assert imported(b"PK\x03\x04 not really a zip") == ["That zip cannot be imported: not a zip file."]
    assert imported(bytes(21 * 1024 * 1024)) == ["That zip cannot be imported: the file is too big."]

    listing = says(api, ADMIN, lambda: api.send_text(ADMIN, "/list")).splitlines()[1:]
    assert sorted(listing) == ["Good Person — 1 photos", "evil — 1 photos"]
    assert bot.stop() == 0
    assert integrity(db) == "ok"
    assert list(scratch.iterdir()) == []  # every unpacking folder is gone
    escaped = [p for root in (tmp_path, Path("/tmp"), Path.cwd()) for p in root.rglob(f"*{mark}*")]
    assert escaped == []
    assert_clean_log(bot)
