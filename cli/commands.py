"""What each `lookalike` CLI command does, on top of the engine and the store."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cli.audit_commands import calibration_json, calibration_line, cmd_audit, print_suspects
from cli.console import EXIT_NO_FACE, EXIT_OK, EXIT_UNREADABLE, CliError, print_json
from cli.galleries import readable_gallery, writable_gallery
from engine.faces import Analysis, Face, FaceModels
from engine.images import ImageError
from engine.pool import FacePool
from engine.ranking import SAME_PERSON, distance_between, similarity
from service.render import collage_for, map_for
from service.texts import texts
from store.backup import backup_database
from store.calibrate import refit
from store.curate import CreditsError, Outcome, add_file, import_folder, read_credits
from store.gallery import Gallery, GalleryError, Match
from store.names import InvalidName
from store.projector import write_projector_files


async def dispatch(args: argparse.Namespace, db: Path) -> int:
    """Run one parsed command against the gallery file `db`; returns the exit status."""
    handler = {
        "match": cmd_match,
        "add": cmd_add,
        "import": cmd_import,
        "list": cmd_list,
        "remove": cmd_remove,
        "rename": cmd_rename,
        "alias": cmd_alias,
        "compare": cmd_compare,
        "map": cmd_map,
        "export": cmd_export,
        "backup": cmd_backup,
        "wikidata": _wikidata_command("cmd_wikidata"),
        "credits": _wikidata_command("cmd_credits"),
        "audit": cmd_audit,
    }[args.command]
    return await handler(args, db)


def _wikidata_command(name: str):  # type: ignore[no-untyped-def]
    """A command of bot/wikidata.py, imported when run (it brings in the HTTP client)."""

    async def run(args: argparse.Namespace, db: Path) -> int:
        from cli import wikidata_commands as wikidata

        return await getattr(wikidata, name)(args, db)

    return run


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
    """The JSON contract's codes are no_face, bad_image and not_found: too large is a bad image."""
    if exc.code == "too_large":
        return "bad_image", f"too large: {exc.message}"
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


def _print_outcome_summary(outcomes: list[Outcome]) -> None:
    added = sum(o.status == "added" for o in outcomes)
    duplicates = sum(o.status == "duplicate" for o in outcomes)
    rejected = [o for o in outcomes if not o.ok]
    print(f"added {added}, duplicates {duplicates}, rejected {len(rejected)}")
    for outcome in rejected:
        print(f"  rejected {outcome.source}: {outcome.status}: {outcome.detail}")
    print_suspects([o for o in outcomes if o.outlier is not None])


async def cmd_add(args: argparse.Namespace, db: Path) -> int:
    models = FaceModels()

    async def analyze(data: bytes) -> Analysis:
        return models.analyze(data)

    async with writable_gallery(db) as gallery:
        outcomes = [await add_file(gallery, analyze, args.name, Path(p)) for p in args.photos]
        if any(o.status == "added" for o in outcomes):
            await refit(gallery)
    _print_outcome_summary(outcomes)
    return _batch_status(outcomes)


def _batch_status(outcomes: list[Outcome]) -> int:
    codes = {o.status for o in outcomes}
    if codes & {"bad_image", "too_large", "not_found", "invalid_name"}:
        return EXIT_UNREADABLE
    if codes & {"no_face", "several_faces", "face_too_small"}:
        return EXIT_NO_FACE
    return EXIT_OK


async def cmd_import(args: argparse.Namespace, db: Path) -> int:
    folder = Path(args.folder)
    if not folder.is_dir():
        raise CliError(f"{folder}: not a folder", EXIT_UNREADABLE)
    try:
        read_credits(folder)  # a bad credits.csv is said before anything is imported
    except CreditsError as exc:
        raise CliError(f"{folder}: {exc}", EXIT_UNREADABLE) from None
    pool = FacePool("process")
    try:
        async with writable_gallery(db) as gallery:
            with tqdm(desc="importing", unit="photo", file=sys.stderr, disable=None) as bar:
                summary = await import_folder(
                    gallery, pool.analyze, folder, progress=lambda _o: bar.update(1), concurrency=pool.workers
                )
            total = gallery.celebrity_count
            calibration = await refit(gallery)  # once, at the end
    finally:
        pool.close()
    _print_outcome_summary(summary.outcomes)
    print(f"the gallery now has {total} celebrities")
    print(calibration_line(calibration))
    return EXIT_OK


async def cmd_list(args: argparse.Namespace, db: Path) -> int:
    async with readable_gallery(db) as gallery:
        celebrities = await gallery.celebrities()
        calibration = gallery.calibration
    if args.json:
        print_json(
            {
                "celebrities": [
                    {"name": c.name, "photos": c.photos, "wikidata": c.wikidata, "aliases": list(c.aliases)}
                    for c in celebrities
                ],
                "calibration": calibration_json(calibration),
            }
        )
    else:
        for celebrity in celebrities:
            print(f"{celebrity.name}\t{celebrity.photos}")
        print(f"{len(celebrities)} celebrities, {sum(c.photos for c in celebrities)} photos", file=sys.stderr)
        print(calibration_line(calibration), file=sys.stderr)
    return EXIT_OK


@contextlib.asynccontextmanager
async def existing_gallery(db: Path) -> AsyncIterator[Gallery]:
    """The gallery file, which must exist; a refused change (unknown or bad name) becomes a CliError."""
    if not db.is_file():
        raise CliError(f"no gallery at {db}", 1)
    async with writable_gallery(db) as gallery:
        try:
            yield gallery
        except (GalleryError, InvalidName) as exc:
            raise CliError(str(exc), 1) from None


async def cmd_remove(args: argparse.Namespace, db: Path) -> int:
    async with existing_gallery(db) as gallery:
        removed = await gallery.remove(args.name)
        await refit(gallery)
    print(f"removed {args.name} ({removed} photos)")
    return EXIT_OK


async def cmd_rename(args: argparse.Namespace, db: Path) -> int:
    async with existing_gallery(db) as gallery:
        new = await gallery.rename(args.old, args.new)
    print(f"renamed {args.old} to {new}")
    return EXIT_OK


async def cmd_alias(args: argparse.Namespace, db: Path) -> int:
    async with existing_gallery(db) as gallery:
        added, refused = await gallery.add_aliases(args.name, args.aliases)
        name = await gallery.find(args.name)
    for alias in added:
        print(f"{name}: alias {alias}")
    for alias, why in refused:
        print(f"lookalike: alias {alias!r} not added: {why}", file=sys.stderr)
    return EXIT_OK if not refused else 1


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


async def cmd_export(args: argparse.Namespace, db: Path) -> int:
    async with readable_gallery(db) as gallery:
        vectors, names = gallery.all_embeddings()
    folder = Path(args.folder)
    write_projector_files(folder, vectors, names)
    print(f"wrote {len(names)} vectors to {folder / 'vectors.tsv'} and {folder / 'metadata.tsv'}")
    return EXIT_OK


async def cmd_backup(args: argparse.Namespace, db: Path) -> int:
    if not db.is_file():
        raise CliError(f"no gallery at {db}", 1)
    target = Path(args.target)
    try:
        await backup_database(db, target)
    except (OSError, ValueError) as exc:
        raise CliError(f"backup failed: {exc}", 1) from None
    print(f"backed up {db} to {target}")
    return EXIT_OK
