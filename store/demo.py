"""The demo gallery shipped inside the package: a few photos of public figures from face_recognition's own
examples (MIT; see store/demo/ATTRIBUTION.txt), with their embeddings precomputed so that
`lookalike match` on a fresh clone answers in about a second.

Rebuild the embeddings after changing the photos: `uv run python -m store.demo`.
"""

from __future__ import annotations

import json
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np

from engine.calibration import fit_index
from engine.faces import Face, face_thumbnail
from engine.images import decode_photo
from store.gallery import Credit, Gallery, content_hash

DEMO = files("store") / "demo"
MANIFEST = "embeddings.json"
SOURCE_REPO = "https://github.com/ageitgey/face_recognition/blob/2e2dccea9dd0ce730c8d464d0f67c6eebb40c9d1"
# Who to credit where a demo photo is shown (ATTRIBUTION.txt says the same at length).
DEMO_AUTHOR = "face_recognition's examples (photographer not stated)"
DEMO_LICENSE = ("MIT", f"{SOURCE_REPO}/LICENSE")


def demo_sources() -> dict[str, str]:
    """Each demo photo's file → its path in the source repository, read from ATTRIBUTION.txt."""
    sources = {}
    for line in (DEMO / "ATTRIBUTION.txt").read_text(encoding="utf-8").splitlines():
        shipped, arrow, original = line.partition("<-")
        if arrow and shipped.strip().endswith(".jpg"):
            sources[shipped.strip()] = original.split()[0]
    return sources


def demo_credit(file: str, sources: dict[str, str]) -> Credit:
    """The credit of one demo photo (MIT, from face_recognition's examples)."""
    page = f"{SOURCE_REPO}/{sources[file]}" if file in sources else SOURCE_REPO
    return Credit(DEMO_AUTHOR, DEMO_LICENSE[0], DEMO_LICENSE[1], page)


def demo_entries() -> list[dict]:
    """The shipped manifest: name, photo file, face box and embedding of each demo photo."""
    return json.loads((DEMO / MANIFEST).read_text(encoding="utf-8"))["photos"]


async def open_demo_gallery() -> Gallery:
    """An in-memory gallery holding the demo celebrities."""
    gallery = await Gallery.open(":memory:")
    sources = demo_sources()
    try:
        for entry in demo_entries():
            data = (DEMO / "photos" / entry["file"]).read_bytes()
            box = tuple(entry["box"])
            pixels = decode_photo(data).pixels
            face = Face(
                box=box,
                embedding=np.asarray(entry["embedding"], dtype=np.float32),
                thumbnail=face_thumbnail(pixels, box),
            )
            await gallery.add_face(
                entry["name"],
                face,
                content_hash(data),
                source=f"demo:{entry['file']}",
                credit=demo_credit(entry["file"], sources),
            )
        gallery.calibration = fit_index(gallery.index)  # too small to fit: says so, keeps the fixed curve
    except BaseException:
        await gallery.close()
        raise
    return gallery


def build_manifest(photo_dir: Path) -> dict:
    """Embed every demo photo (names from `names.json` beside them) into the manifest's form."""
    from engine.faces import FaceModels, gallery_face

    names: dict[str, str] = json.loads((photo_dir.parent / "names.json").read_text(encoding="utf-8"))
    models = FaceModels()
    photos = []
    for file, name in sorted(names.items()):
        # thorough: a gallery photo's background faces count for `gallery_face`, and the shipped boxes stay
        face = gallery_face(models.analyze(photo_dir / file, thorough=True))
        photos.append(
            {
                "name": name,
                "file": file,
                "box": list(face.box),
                "embedding": [round(float(x), 7) for x in face.embedding],
            }
        )
    return {"model": "dlib_face_recognition_resnet_model_v1", "photos": photos}


def main() -> None:
    folder = Path(str(DEMO))
    manifest = build_manifest(folder / "photos")
    (folder / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    sys.stdout.write(f"wrote {len(manifest['photos'])} demo photos to {folder / MANIFEST}\n")


if __name__ == "__main__":
    main()
