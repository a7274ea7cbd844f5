"""The demo gallery shipped in the package: its stored embeddings are what the pipeline computes today."""

from __future__ import annotations

import numpy as np

from engine.faces import FaceModels, gallery_face
from store.demo import DEMO, demo_entries, open_demo_gallery


def test_the_shipped_embeddings_match_the_shipped_photos(models: FaceModels) -> None:
    entries = demo_entries()
    assert len(entries) >= 6
    for entry in entries:
        face = gallery_face(models.analyze((DEMO / "photos" / entry["file"]).read_bytes(), thorough=True))
        assert list(face.box) == entry["box"], entry["file"]
        assert np.abs(face.embedding - np.asarray(entry["embedding"], dtype=np.float32)).max() < 1e-5


async def test_the_demo_gallery_opens_in_memory_with_every_celebrity() -> None:
    gallery = await open_demo_gallery()
    try:
        names = {c.name for c in await gallery.celebrities()}
        assert names == {e["name"] for e in demo_entries()}
        assert gallery.photo_count == len(demo_entries())
        assert gallery.path == ":memory:"
    finally:
        await gallery.close()


async def test_every_demo_photo_is_credited_to_its_source() -> None:
    gallery = await open_demo_gallery()
    try:
        records = await gallery.photo_records()
    finally:
        await gallery.close()
    assert len(records) == len(demo_entries())
    for record in records:
        assert record.credit.license == "MIT" and record.credit.author
        # the page of the very file it was made from, e.g. …/examples/obama.jpg
        assert record.credit.source_page.startswith("https://github.com/ageitgey/face_recognition/blob/")
        assert "/examples/" in record.credit.source_page, record
