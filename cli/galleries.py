"""The gallery a `lookalike` command works on: the file, created if absent, or for reading, the file or the
demo gallery while the file is absent or empty (said on stderr)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from store.calibrate import refit, stale
from store.demo import open_demo_gallery
from store.gallery import DISK_FULL, Gallery
from store.gallery_file import GalleryDiskFull, GalleryReadOnly


@contextlib.asynccontextmanager
async def writable_gallery(db: Path) -> AsyncIterator[Gallery]:
    """The gallery file, created if absent; one that cannot be written is refused before any work."""
    gallery = await Gallery.open(db)
    if gallery.read_only:
        await gallery.close()
        raise GalleryDiskFull(db) if gallery.read_only_reason == DISK_FULL else GalleryReadOnly(db)
    try:
        yield gallery
    finally:
        await gallery.close()


@contextlib.asynccontextmanager
async def readable_gallery(db: Path) -> AsyncIterator[Gallery]:
    """The gallery file; the demo gallery (with a note on stderr) when the file is absent or empty."""
    gallery = await Gallery.open(db) if db.is_file() else None
    if gallery is not None and gallery.photo_count:
        try:
            if stale(gallery):  # a gallery from before calibrations, or changed by another program
                await refit(gallery)
            yield gallery
        finally:
            await gallery.close()
        return
    if gallery is not None:
        await gallery.close()
    demo = await open_demo_gallery()
    print(
        f"lookalike: the gallery {db} is empty; using the demo gallery ({demo.celebrity_count} celebrities). "
        "Add your own with `lookalike import DIR`.",
        file=sys.stderr,
    )
    try:
        yield demo
    finally:
        await demo.close()
