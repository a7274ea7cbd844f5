"""`lookalike wikidata` and `lookalike credits`: build celebrities from Wikidata and Commons, list photo credits.

The client and the build itself are the application layer's (service/wikidata.py), shared with the
bot's `/wikidata` and the Mini App.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tqdm import tqdm

from cli.console import EXIT_OK, EXIT_USAGE, CliError, print_json
from cli.galleries import readable_gallery
from engine.pool import FacePool
from service.wikidata import build_people, wikimedia_client
from store.gallery import Gallery, PhotoRecord
from store.names import InvalidName
from store.wikimedia import (
    HttpRefused,
    NoContact,
    WikimediaError,
)


def read_items(path: str) -> list[str]:
    """One item (a Q-id or a name) a line; blank lines and lines starting with # are skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"--from {path}: {exc}", EXIT_USAGE) from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def read_query(path: str) -> str:
    try:
        query = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"--sparql {path}: {exc}", EXIT_USAGE) from None
    if not query.strip():
        raise CliError(f"--sparql {path}: the file is empty", EXIT_USAGE)
    return query


async def cmd_wikidata(args: argparse.Namespace, db: Path) -> int:
    items = list(args.items) + (read_items(args.from_file) if args.from_file else [])
    query = read_query(args.sparql) if args.sparql else None
    if not items and not query:
        raise CliError("wikidata: give ITEMs, --from FILE or --sparql FILE", EXIT_USAGE)
    try:
        client = wikimedia_client()
    except NoContact as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    pool = FacePool("process")
    try:
        # Workers ready before the first download: a Ctrl-C then finds them ignoring it (engine/pool.py).
        await asyncio.to_thread(pool.warm_up)
        async with await Gallery.open(db) as gallery:
            with tqdm(desc="people", unit="person", file=sys.stderr, disable=None) as bar:

                def total(n: int) -> None:
                    bar.total = n
                    bar.refresh()

                try:
                    report = await build_people(
                        gallery,
                        pool.analyze,
                        items,
                        sparql=query,
                        photos=args.photos,
                        lang=args.lang,
                        on_people=total,
                        on_person=lambda _item: bar.update(1),
                        client=client,
                    )
                except HttpRefused as exc:  # e.g. a query the query service refuses (400)
                    raise CliError(str(exc)) from None
                except WikimediaError as exc:
                    raise CliError(
                        f"{exc}; what was done is kept: run the same command again to carry on"
                    ) from None
            celebrities = gallery.celebrity_count
    finally:
        pool.close()
    for line in report.lines():
        print(line)
    print(f"the gallery now has {celebrities} celebrities")
    return EXIT_OK


def credit_json(record: PhotoRecord) -> dict:
    """A photo's credit as `lookalike credits --json` prints it."""
    c = record.credit
    return {
        "name": record.name,
        "photo_id": record.photo_id,
        "author": c.author,
        "license": c.license,
        "license_url": c.license_url,
        "source": c.source_page or record.source,
    }


def credit_line(record: PhotoRecord) -> str:
    """`name #id: author, licence (licence URL), source` — the parts that are known."""
    c = record.credit
    licence = f"{c.license} ({c.license_url})" if c.license and c.license_url else c.license
    parts = [p for p in (c.author, licence, c.source_page or record.source) if p]
    return f"{record.name} #{record.photo_id}: " + (", ".join(parts) if parts else "no credit recorded")


async def cmd_credits(args: argparse.Namespace, db: Path) -> int:
    async with readable_gallery(db) as gallery:  # the demo gallery's photos are credited too
        try:
            known = await gallery.find(args.name) if args.name else True
        except InvalidName as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        if not known:
            raise CliError(f"no celebrity called {args.name!r}", 1)
        records = await gallery.photo_records(args.name)
    for record in records:
        if args.json:
            print_json(credit_json(record))
        else:
            print(credit_line(record))
    return EXIT_OK
