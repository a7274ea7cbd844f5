"""Build gallery celebrities from Wikidata items and their freely licensed photos on Wikimedia Commons.

Items in (Q-ids, names, or a SPARQL query's first variable) → each human becomes one celebrity, named by
their label in the chosen language (English when there is none), with their other labels and aliases as
aliases and their Wikidata id; photos come from the item's image (P18) first, then its Commons category
(P373), until N are usable. A photo is usable when its licence allows reuse with credit (public domain,
CC0, CC BY, CC BY-SA) and `store.curate.add_photo` accepts it (one clear face, of a usable size, ...).

Resumable and idempotent: the gallery is the record. A photo added keeps its Commons page as its source,
so a rerun skips it; a file refused is written down with the celebrity's item (in the gallery's stored
values), so a rerun does not download it again. A rerun after an interruption at any point ends with the
same gallery as a run that was never interrupted, since each person's files are tried in the same order.

APIs (formats followed by the stand-in in tests/wikimedia/):
- https://www.wikidata.org/w/api.php?action=help&modules=wbsearchentities
- https://www.wikidata.org/w/api.php?action=help&modules=wbgetentities
- https://www.mediawiki.org/wiki/API:Categorymembers
- https://www.mediawiki.org/wiki/API:Imageinfo and https://www.mediawiki.org/wiki/Extension:CommonsMetadata

The steps live beside it: `wikidata_items` (items → people), `commons_files` (people → files, with
`commons_licence` and `html_text` for a file's licence and credit) and `wikidata_report` (what a build did).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from store.commons_files import CommonsFile, candidate_titles, describe_files, title_of_source
from store.curate import Analyzer, Outcome, add_photo
from store.gallery import Credit, Gallery, GalleryError
from store.names import MAX_NAME_CHARS, InvalidName
from store.wikidata_items import (
    QID,
    Person,
    get_entities,
    is_human,
    label_of,
    person_from,
    resolve,
    sparql_items,
    storable_key,
)
from store.wikidata_report import WHY, Note, Report, Unresolved, split_kind
from store.wikimedia import BATCH, HttpRefused, Wikimedia

# The build's names the front ends use, wherever they live now.
__all__ = ["QID", "WHY", "Build", "Note", "Report", "Unresolved", "sparql_items", "split_kind"]

PEOPLE_AT_ONCE = 4  # people worked on concurrently (each one's files stay in order)
REJECTED_KEY = "wikidata.rejected.{item}"  # stored value: {file title: reason} of a person's refused files


@dataclass
class Build:
    """One run: where photos go, how they are read, how many per person, and what is reported."""

    gallery: Gallery
    client: Wikimedia
    analyze: Analyzer
    photos: int = 5
    lang: str = "ko"
    report: Report = field(default_factory=Report)
    on_people: Callable[[int], None] | None = None  # called with how many people once items are resolved
    on_person: Callable[[str], object] | None = None  # called once per person done (progress bars)
    on_photo: Callable[[Outcome], None] | None = None

    async def run(self, items: list[str]) -> Report:
        """Resolve `items`, then build each person (`PEOPLE_AT_ONCE` at a time); the report of it all."""
        qids, unresolved = await resolve(self.client, items, self.lang)
        self.report.unresolved += unresolved
        entities = await get_entities(self.client, qids, self.lang)
        people = []
        for qid in qids:
            entity = entities.get(qid)
            if entity is None:
                self.report.unresolved.append(Unresolved(qid, "no_item"))
            elif not is_human(entity):
                self.report.unresolved.append(
                    Unresolved(qid, "not_person", {"label": label_of(entity, self.lang)})
                )
            else:
                people.append(person_from(entity, self.lang))
        names = _names_for(people)
        if self.on_people:
            self.on_people(len(people))
        slots = asyncio.Semaphore(PEOPLE_AT_ONCE)

        async def one(person: Person) -> None:
            async with slots:
                await self.person(person, names[person.item])
            if self.on_person:
                self.on_person(person.item)

        try:
            async with asyncio.TaskGroup() as group:  # one failing stops the others: nothing left running
                for person in people:
                    group.create_task(one(person))
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return self.report

    async def person(self, person: Person, wanted_name: str) -> None:
        """Bring one person's photos up to `photos`, then record their item and aliases."""
        name = await self._name(person, wanted_name)
        existed = await self.gallery.find(name) is not None
        rejected = await self._rejected(person.item)
        records = await self.gallery.photo_records(name) if existed else []
        done = {title_of_source(r.source) for r in records} | set(rejected)
        count = len(records)
        async for titles in candidate_titles(self.client, person):
            if count >= self.photos:
                break
            todo = [t for t in titles if t not in done]
            for start in range(0, len(todo), BATCH):
                if count >= self.photos:
                    break
                files = await describe_files(self.client, todo[start : start + BATCH])
                for title in todo[start : start + BATCH]:
                    if count >= self.photos:
                        break
                    count += await self._try_file(person, name, files.get(title), title, rejected)
        if await self.gallery.find(name) is None:
            self.report.no_photo.append(f"{person.label} ({person.item})")
            return
        await self._record(person, name)
        (self.report.updated if existed else self.report.added).append(name)

    async def _try_file(
        self, person: Person, name: str, file: CommonsFile | None, title: str, rejected: dict[str, str]
    ) -> int:
        """Offer one file; 1 when it joined the gallery. Refusals are counted and written down."""
        if file is None:
            file = CommonsFile(title, "", "", Credit(), "missing: no such file on Commons")
        if file.refusal:
            return await self._refuse(person, title, file.refusal, rejected)
        try:
            data = await self.client.download(file.thumb_url)
        except HttpRefused as exc:  # gone or forbidden: may come back, so not written down
            self.report.refused[f"download_failed ({exc.status})"] += 1
            return 0
        outcome = await add_photo(self.gallery, self.analyze, name, data, file.page_url, file.credit)
        if self.on_photo:
            self.on_photo(outcome)
        if outcome.status == "added" and outcome.outlier is not None and outcome.photo_id is not None:
            # Nobody chose this photo by hand: one far from the person's other photos (probably someone
            # else in their category) is taken out again rather than left for the audit.
            await self.gallery.remove_photo(outcome.photo_id)
            return await self._refuse(
                person, title, f"far_from_other_photos: {outcome.outlier:.2f}", rejected
            )
        if outcome.status == "added":
            self.report.photos_added += 1
            if not await self.gallery.find_wikidata(person.item):
                await self._record(person, name)
            return 1
        if outcome.status == "busy":  # transient: tried again next run
            self.report.refused["busy"] += 1
            return 0
        reason = outcome.status if outcome.status != "duplicate" else f"duplicate of {outcome.name}"
        return await self._refuse(person, title, reason, rejected)

    async def _refuse(self, person: Person, title: str, reason: str, rejected: dict[str, str]) -> int:
        self.report.refused[_kind(reason)] += 1
        rejected[title] = reason
        await self.gallery.set_value(REJECTED_KEY.format(item=person.item), json.dumps(rejected))
        return 0

    async def _rejected(self, item: str) -> dict[str, str]:
        stored = await self.gallery.value(REJECTED_KEY.format(item=item))
        try:
            value = json.loads(stored) if stored else {}
        except ValueError:
            value = {}
        return value if isinstance(value, dict) else {}

    async def _name(self, person: Person, wanted: str) -> str:
        """The celebrity this person is: the one built from their item before, else `wanted`, unless that
        name is another item's (then `label (Q…)`)."""
        known = await self.gallery.find_wikidata(person.item)
        if known:
            return known
        try:
            owner = await self.gallery.find(wanted)
        except InvalidName:
            owner = None
        if owner is None:
            return wanted
        other = next((c.wikidata for c in await self.gallery.celebrities() if c.name == owner), None)
        if other and other != person.item:
            return _qualified(person)
        return owner  # a celebrity of that name added by hand: the same person, now linked to the item

    async def _record(self, person: Person, name: str) -> None:
        """Link the celebrity to the item and give it the person's other names (new ones only)."""
        try:
            await self.gallery.set_wikidata(name, person.item)
        except GalleryError:
            return
        names = [person.label, *person.aliases]
        await self.gallery.add_aliases(name, [n for n in names if _alias_ok(n, name)])


def _kind(reason: str) -> str:
    """A refusal's reason → what the summary counts: 'license: CC BY-NC 2.0' → license, 'duplicate of X'
    → duplicate, 'several_faces' → several_faces."""
    return reason.split(":")[0].split(" of ")[0]


def _alias_ok(alias: str, name: str) -> bool:
    return storable_key(alias) not in ("", storable_key(name))


def _names_for(people: list[Person]) -> dict[str, str]:
    """Each person's celebrity name: their label, or `label (Q…)` when two people of a run share it."""
    counts = Counter(storable_key(p.label) for p in people)
    return {p.item: p.label if counts[storable_key(p.label)] == 1 else _qualified(p) for p in people}


def _qualified(person: Person) -> str:
    """`label (Q…)`, the label shortened so that the whole stays a valid name."""
    suffix = f" ({person.item})"
    return person.label[: MAX_NAME_CHARS - len(suffix)].rstrip() + suffix
