"""`lookalike add`, `import`, `list`, `remove`, `rename`, `alias`: curating the gallery file."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from tqdm import tqdm

from cli.audit_commands import calibration_json, calibration_line, print_suspects
from cli.console import EXIT_NO_FACE, EXIT_OK, EXIT_UNREADABLE, CliError, print_json
from cli.galleries import readable_gallery, writable_gallery
from engine.faces import Analysis, FaceModels
from engine.pool import FacePool
from store.calibrate import refit
from store.curate import CreditsError, Outcome, add_file, import_folder, read_credits
from store.gallery import Gallery, GalleryError
from store.names import InvalidName


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

    async def analyze(data: bytes, thorough: bool = False) -> Analysis:
        return models.analyze(data, thorough=thorough)

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
