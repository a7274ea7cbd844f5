"""Wikidata people into the gallery, whichever front end asked (`lookalike wikidata`, the bot's /wikidata, the
Mini App's Sources page): the Wikimedia client built from the settings, the build itself
(store/wikidata_build.py), and how a typed list of people is read."""

from __future__ import annotations

import re
from collections.abc import Callable

from service.settings import WikimediaSettings
from store.curate import Analyzer
from store.gallery import Gallery
from store.wikidata_build import QID, Build, Report, sparql_items
from store.wikimedia import NO_CONTACT, Endpoints, NoContact, Wikimedia, user_agent

MAX_PEOPLE = 20  # a chat or Mini App request is for a few people; the CLI builds galleries
PHOTOS = 5  # usable photos per person asked from a chat or the Mini App


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
    on_person: Callable[[str], object] | None = None,
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


def items_of(text: str) -> list[str]:
    """`/wikidata` arguments → items: names are separated by commas, `|` or new lines; a piece made only of
    Q-ids is split at its spaces (so `Q1 Q2` is two items, `Kim Ji-won` one)."""
    items: list[str] = []
    for piece in re.split(r"[,|\n]", text):
        words = piece.split()
        if words and all(QID.match(w) for w in words):
            items += words
        elif piece.strip():
            items.append(" ".join(words))
    return list(dict.fromkeys(items))
