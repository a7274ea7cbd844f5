"""`lookalike export` and `backup`: the gallery's vectors for TensorFlow's Projector, a consistent copy
(with `--keep N`, dated copies in a folder, the newest N kept)."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

from cli.console import EXIT_OK, CliError
from cli.galleries import readable_gallery
from store.backup import backup_database, backup_keeping
from store.projector import write_projector_files


async def cmd_export(args: argparse.Namespace, db: Path) -> int:
    async with readable_gallery(db) as gallery:
        vectors, names = gallery.all_embeddings()
    folder = Path(args.folder)
    write_projector_files(folder, vectors, names)
    print(f"wrote {len(names)} vectors to {folder / 'vectors.tsv'} and {folder / 'metadata.tsv'}")
    return EXIT_OK


async def cmd_backup(args: argparse.Namespace, db: Path) -> int:
    """A consistent copy of the gallery `db` at args.target; with args.keep, a dated copy in that folder and
    only the newest args.keep copies left there. Returns the exit status."""
    if not db.is_file():
        raise CliError(f"no gallery at {db}", 1)
    target = Path(args.target)
    try:
        if args.keep:
            target, removed = await backup_keeping(db, target, args.keep)
        else:
            await backup_database(db, target)
            removed = []
    except (OSError, ValueError, sqlite3.Error) as exc:  # sqlite3: the gallery file is not a database
        raise CliError(f"backup failed: {exc}", 1) from None
    print(f"backed up {db} to {target}")
    if removed:
        print(f"deleted {len(removed)} older copies (keeping the newest {args.keep})")
    return EXIT_OK
