"""`lookalike match`, `compare` and `map`: photos against the gallery, on top of the engine and the store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from cli.console import EXIT_NO_FACE, EXIT_OK, EXIT_UNREADABLE, CliError, print_json
from cli.galleries import readable_gallery
from engine.faces import Analysis, Face, FaceModels
from engine.images import ImageError
from engine.ranking import SAME_PERSON, distance_between, similarity
from service.render import collage_for, map_for
from service.texts import texts
from store.gallery import Gallery, Match


def _error(photo: str, code: str, message: str) -> dict:
    return {"photo": photo, "error": {"code": code, "message": message}}


async def cmd_match(args: argparse.Namespace, db: Path) -> int:
    out = Path(args.out) if args.out else None
    if out is not None and len(args.photos) > 1 and not args.together:
        if out.exists() and not out.is_dir():
            raise CliError(f"--out {out}: with several photos, --out must be a folder", 2)
        out.mkdir(parents=True, exist_ok=True)
    models = FaceModels()
    status = EXIT_OK
    together: list[tuple[str, Face]] = []
    async with readable_gallery(db) as gallery:
        for photo in args.photos:
            try:
                analysis = models.analyze(photo)
            except ImageError as exc:
                status = max(status, EXIT_UNREADABLE)
                _report_error(args, _error(photo, *_json_error(exc)))
                continue
            if not analysis.faces:
                if status == EXIT_OK:
                    status = EXIT_NO_FACE
                _report_error(args, _error(photo, "no_face", "no face found"))
                continue
            if args.together:
                together.append((photo, analysis.faces[0]))  # the largest face, as in a selfie album
                continue
            rankings = [gallery.rank(face.embedding, args.top) for face in analysis.faces]
            target = _collage_path(photo, out, len(args.photos))
            target.write_bytes(
                await collage_for(
                    gallery, analysis.faces, rankings, texts(args.lang), gallery_note(gallery, args.lang)
                )
            )
            if args.json:
                print_json(_match_json(photo, analysis, rankings))
            else:
                _print_table(photo, analysis, rankings, target)
        if together:
            await _match_together(args, gallery, together, out)
    return status


async def _match_together(
    args: argparse.Namespace, gallery: Gallery, faces: list[tuple[str, Face]], out: Path | None
) -> None:
    """One answer for the largest faces of several photos of one person: ranked on their mean embedding,
    as the bot answers an album of selfies (much steadier than any one photo: README, "Steadier answers")."""
    mean = np.mean([face.embedding for _, face in faces], axis=0).astype(np.float32)
    ranking = gallery.rank(mean, args.top)
    first_photo, first_face = faces[0]
    target = out or Path(f"{Path(first_photo).stem}.together.lookalike.jpg")
    if target.is_dir():
        target = target / f"{Path(first_photo).stem}.together.lookalike.jpg"
    target.write_bytes(
        await collage_for(
            gallery, [first_face], [ranking], texts(args.lang), gallery_note(gallery, args.lang)
        )
    )
    if args.json:
        print_json({"photos": [photo for photo, _ in faces], "matches": _matches_json(ranking)})
        return
    print(f"together: {', '.join(photo for photo, _ in faces)} ({len(faces)} faces, one answer)")
    print("\n".join(_ranking_rows(ranking)))
    print(f"  collage: {target}")


def gallery_note(gallery: Gallery, lang: str) -> str:
    return texts(lang).gallery_size.format(celebrities=gallery.celebrity_count, photos=gallery.photo_count)


def _json_error(exc: ImageError) -> tuple[str, str]:
    """The JSON contract's codes are no_face, bad_image and not_found: too large (or an image format not
    served) is a bad image."""
    if exc.code == "too_large":
        return "bad_image", f"too large: {exc.message}"
    if exc.code == "unsupported":
        return "bad_image", exc.message
    return exc.code, exc.message


def _report_error(args: argparse.Namespace, error: dict) -> None:
    """One line on stderr always; with --json, the error object on stdout too (one per photo)."""
    print(f"lookalike: {error['photo']}: {error['error']['message']}", file=sys.stderr)
    if args.json:
        print_json(error)


def _collage_path(photo: str, out: Path | None, photo_count: int) -> Path:
    name = f"{Path(photo).stem}.lookalike.jpg"
    if out is None:
        return Path(name)
    return out / name if photo_count > 1 or out.is_dir() else out


def _match_json(photo: str, analysis: Analysis, rankings: list) -> dict:
    return {
        "photo": photo,
        "faces": [
            {
                "box": list(face.box),
                "matches": _matches_json(ranking),
            }
            for face, ranking in zip(analysis.faces, rankings, strict=True)
        ],
    }


def _matches_json(ranking: list[Match]) -> list[dict]:
    return [
        {"name": m.name, "distance": round(m.distance, 4), "similarity": round(m.similarity, 1)}
        for m in ranking
    ]


def _ranking_rows(ranking: list[Match]) -> list[str]:
    lines = [f"  {'#':>3}  {'celebrity':<32} {'distance':>8}  {'similarity':>10}"]
    for rank, match in enumerate(ranking, start=1):
        lines.append(f"  {rank:>3}  {match.name:<32} {match.distance:>8.3f}  {match.similarity:>9.1f}%")
    return lines


def _print_table(photo: str, analysis: Analysis, rankings: list, collage: Path) -> None:
    lines = [photo]
    for number, (face, ranking) in enumerate(zip(analysis.faces, rankings, strict=True), start=1):
        top, right, bottom, left = face.box
        lines.append(f"  face {number} of {len(analysis.faces)} at ({left},{top})-({right},{bottom})")
        lines += _ranking_rows(ranking)
    lines.append(f"  collage: {collage}")
    print("\n".join(lines))


async def cmd_compare(args: argparse.Namespace, db: Path) -> int:
    models = FaceModels()
    faces = []
    for photo in (args.first, args.second):
        try:
            analysis = models.analyze(photo)
        except ImageError as exc:
            raise CliError(f"{photo}: {exc.message}", EXIT_UNREADABLE) from None
        if not analysis.faces:
            raise CliError(f"{photo}: no face found", EXIT_NO_FACE)
        faces.append(analysis.faces[0])
    distance = distance_between(faces[0].embedding, faces[1].embedding)
    result = {
        "a": args.first,
        "b": args.second,
        "distance": round(distance, 4),
        "similarity": round(similarity(distance), 1),
        "same_person": distance < SAME_PERSON,
    }
    if args.json:
        print_json(result)
    else:
        verdict = "probably the same person" if result["same_person"] else "probably different people"
        print(
            f"distance {distance:.3f}, similarity {result['similarity']:.1f}%: {verdict} (threshold {SAME_PERSON})"
        )
    return EXIT_OK


async def cmd_map(args: argparse.Namespace, db: Path) -> int:
    models = FaceModels()
    try:
        analysis = models.analyze(args.photo)
    except ImageError as exc:
        raise CliError(f"{args.photo}: {exc.message}", EXIT_UNREADABLE) from None
    if not analysis.faces:
        raise CliError(f"{args.photo}: no face found", EXIT_NO_FACE)
    async with readable_gallery(db) as gallery:
        png = map_for(gallery, analysis.faces[0].embedding, Path(args.photo).name)
    Path(args.out).write_bytes(png)
    print(f"map: {args.out}")
    return EXIT_OK
