"""`lookalike wikidata` and `lookalike credits`: build celebrities from Wikidata and Commons, list photo credits.

Shared with the bot's `/wikidata` and `/credits` (bot/handlers/wikidata.py): the client built from the
settings, the build itself (store/wikidata_build.py) and the credit lines.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from bot.console import EXIT_OK, EXIT_USAGE, CliError, print_json
from bot.galleries import readable_gallery
from engine.pool import FacePool
from service.settings import WikimediaSettings
from store.curate import Analyzer
from store.gallery import Gallery, PhotoRecord
from store.names import InvalidName
from store.wikidata_build import Build, Report, sparql_items
from store.wikimedia import (
    NO_CONTACT,
    Endpoints,
    HttpRefused,
    NoContact,
    Wikimedia,
    WikimediaError,
    user_agent,
)


def wikimedia_client(settings: WikimediaSettings | None = None) -> Wikimedia:
    """A client for the endpoints, User-Agent, timeout and retries in the settings (environment, .env).

    Raises `NoContact` for the public endpoints without WIKIMEDIA_CONTACT (or WIKIMEDIA_USER_AGENT)."""
    s = settings or WikimediaSettings()
    endpoints = Endpoints(s.wikidata_api_url, s.wikidata_sparql_url, s.commons_api_url)
    agent = s.wikimedia_user_agent or (user_agent(s.wikimedia_contact) if s.wikimedia_contact else None)
    if agent is None and endpoints.public:
        raise NoContact(
            "set WIKIMEDIA_CONTACT to a URL or an e-mail address where you can be reached: Wikimedia's "
            "User-Agent policy asks every client for one (https://meta.wikimedia.org/wiki/User-Agent_policy)"
        )
    return Wikimedia(
        endpoints,
        agent or user_agent(NO_CONTACT),
        timeout=s.wikimedia_timeout,
        attempts=s.wikimedia_attempts,
        backoff=s.wikimedia_backoff,
    )


async def build_people(
    gallery: Gallery,
    analyze: Analyzer,
    items: list[str],
    *,
    sparql: str | None = None,
    photos: int = 5,
    lang: str = "ko",
    on_people: Callable[[int], None] | None = None,
    on_person: Callable[[str], None] | None = None,
    client: Wikimedia | None = None,
) -> Report:
    """Items (and the people a SPARQL query binds first) → celebrities in `gallery`; the run's report.

    Raises `WikimediaError` when a service stayed unreachable after the retries (what was done is kept)."""
    async with client or wikimedia_client() as wm:
        if sparql:
            items = [*items, *await sparql_items(wm, sparql)]
        build = Build(
            gallery, wm, analyze, photos=photos, lang=lang, on_people=on_people, on_person=on_person
        )
        return await build.run(items)


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
