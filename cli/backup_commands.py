"""`lookalike export` and `backup`: the gallery's vectors for TensorFlow's Projector, a consistent copy."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.console import EXIT_OK, CliError
from cli.galleries import readable_gallery
from store.backup import backup_database
from store.projector import write_projector_files


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
