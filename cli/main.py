"""The `lookalike` command: match photos, curate the gallery, and run the bot.

Exit status: 0 all good; 2 bad usage; 3 some photo had no face (and none was unreadable); 4 some photo
could not be read (missing, a folder, not an image, corrupt, too large). Failures are one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from cli.cluster_commands import add_cluster_commands
from cli.console import CliError
from cli.morph_commands import add_morph_command
from service.settings import default_db_path
from store.gallery_file import GalleryFault


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lookalike",
        description="Which celebrity do you look like? Face matching against a gallery kept in SQLite.",
    )
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="the gallery file (default: $LOOKALIKE_DB, else the user data folder)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    match = commands.add_parser("match", help="the celebrities each face in PHOTO looks like most")
    match.add_argument("photos", nargs="+", metavar="PHOTO")
    match.add_argument(
        "--top", type=_positive, default=5, metavar="K", help="how many celebrities (default 5)"
    )
    match.add_argument("--out", metavar="PATH", help="collage file (one photo) or folder (several)")
    match.add_argument("--json", action="store_true", help="one JSON object per photo per line")
    match.add_argument("--lang", choices=("en", "ko"), default="en", help="language of the collage")
    match.add_argument(
        "--together",
        action="store_true",
        help="the photos are of one person: one answer for their faces together, as for an album of selfies",
    )

    add = commands.add_parser("add", help="add photos of one celebrity to the gallery")
    add.add_argument("name", metavar="NAME")
    add.add_argument("photos", nargs="+", metavar="PHOTO")

    imp = commands.add_parser("import", help="import DIR/<name>/<photos> or DIR/<name>.jpg")
    imp.add_argument("folder", metavar="DIR")

    lst = commands.add_parser("list", help="the celebrities in the gallery")
    lst.add_argument("--json", action="store_true")

    remove = commands.add_parser("remove", help="remove a celebrity and its photos")
    remove.add_argument("name", metavar="NAME")

    rename = commands.add_parser("rename", help="rename a celebrity")
    rename.add_argument("old", metavar="OLD")
    rename.add_argument("new", metavar="NEW")

    alias = commands.add_parser("alias", help="give a celebrity other names (any script)")
    alias.add_argument("name", metavar="NAME")
    alias.add_argument("aliases", nargs="+", metavar="ALIAS")

    compare = commands.add_parser("compare", help="how alike the faces in two photos are")
    compare.add_argument("first", metavar="A")
    compare.add_argument("second", metavar="B")
    compare.add_argument("--json", action="store_true")

    plot = commands.add_parser("map", help="the gallery in 2-D (PCA) with the photo's face marked")
    plot.add_argument("photo", metavar="PHOTO")
    plot.add_argument("--out", metavar="PATH", default="map.png")

    export = commands.add_parser("export", help="TensorFlow Projector files: vectors.tsv, metadata.tsv")
    export.add_argument("folder", metavar="DIR")

    backup = commands.add_parser("backup", help="a consistent copy of the gallery (safe while the bot runs)")
    backup.add_argument("target", metavar="PATH", help="the copy; with --keep, a folder for dated copies")
    backup.add_argument(
        "--keep",
        type=_positive,
        metavar="N",
        help="write a dated copy into the folder PATH and delete all but the newest N there",
    )

    wikidata = commands.add_parser(
        "wikidata", help="add or update celebrities from Wikidata, with freely licensed Commons photos"
    )
    wikidata.add_argument("items", nargs="*", metavar="ITEM", help="a Wikidata id (Q…) or a person's name")
    wikidata.add_argument("--from", dest="from_file", metavar="FILE", help="one ITEM a line")
    wikidata.add_argument(
        "--sparql", metavar="FILE", help="a SPARQL query whose first variable binds the people"
    )
    wikidata.add_argument(
        "--photos", type=_positive, default=5, metavar="N", help="usable photos per person (default 5)"
    )
    wikidata.add_argument("--lang", type=_language, default="ko", help="language of names (default ko)")

    credits = commands.add_parser("credits", help="author, licence and source of the gallery's photos")
    credits.add_argument("name", nargs="?", metavar="NAME")
    credits.add_argument("--json", action="store_true", help="one JSON object per photo per line")
    audit = commands.add_parser(
        "audit", help="suspect photos (far from the celebrity's others) and names that are one person"
    )
    audit.add_argument("--json", action="store_true", help="one JSON object per finding per line")
    decide = audit.add_mutually_exclusive_group()
    decide.add_argument(
        "--keep", type=_positive, metavar="PHOTO_ID", help="the photo is right: never report it"
    )
    decide.add_argument(
        "--drop", type=_positive, metavar="PHOTO_ID", help="remove the photo from the gallery"
    )
    decide.add_argument(
        "--distinct", nargs=2, metavar=("NAME", "OTHER"), help="the two names are different people"
    )

    commands.add_parser("run", help="run the Telegram bot (settings from the environment and .env)")
    add_cluster_commands(commands)
    add_morph_command(commands)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _language(text: str) -> str:
    if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})*", text):
        raise argparse.ArgumentTypeError(f"not a language code such as ko or en: {text!r}")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "run":
        from bot.app import run

        return run()
    if args.command in ("scheduler", "worker"):
        from cli.cluster_commands import run_cluster_command

        return run_cluster_command(args)
    db = Path(args.db) if args.db else default_db_path()
    try:
        return asyncio.run(dispatch(args, db))
    except (CliError, GalleryFault) as exc:  # a gallery that is unusable, read-only or out of space
        print(f"lookalike: {exc}", file=sys.stderr)
        return getattr(exc, "status", 1)
    except KeyboardInterrupt:
        print("lookalike: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last line of defence: one line, never a traceback
        print(f"lookalike: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


# Each command's family module, imported when the command runs (`run` and `--help` stay quick).
FAMILIES = {
    "match": "cli.match_commands",
    "compare": "cli.match_commands",
    "map": "cli.match_commands",
    "add": "cli.gallery_commands",
    "import": "cli.gallery_commands",
    "list": "cli.gallery_commands",
    "remove": "cli.gallery_commands",
    "rename": "cli.gallery_commands",
    "alias": "cli.gallery_commands",
    "export": "cli.backup_commands",
    "backup": "cli.backup_commands",
    "wikidata": "cli.wikidata_commands",
    "credits": "cli.wikidata_commands",
    "audit": "cli.audit_commands",
    "morph": "cli.morph_commands",
}


async def dispatch(args: argparse.Namespace, db: Path) -> int:
    """Run one parsed command against the gallery file `db` (its family's `cmd_<command>`); the exit status."""
    family = importlib.import_module(FAMILIES[args.command])
    return await getattr(family, f"cmd_{args.command}")(args, db)
