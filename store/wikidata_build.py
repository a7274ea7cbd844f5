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
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote

from store.curate import Analyzer, Outcome, add_photo
from store.gallery import Credit, Gallery, GalleryError
from store.names import MAX_NAME_CHARS, InvalidName, clean_name, name_key
from store.wikimedia import HttpRefused, Wikimedia

QID = re.compile(r"^[Qq][1-9]\d{0,11}$")
HUMAN = "Q5"
THUMB_WIDTH = 1024  # px: what face detection works on (engine.faces.DETECT_MAX_SIDE); ~100-300 KB a file
BATCH = 50  # ids or titles per wbgetentities / imageinfo request: the API's limit for non-bots
SEARCH_LIMIT = 10
PEOPLE_AT_ONCE = 4  # people worked on concurrently (each one's files stay in order)
ALIAS_LANGUAGES = ("en", "ko", "ja", "zh")  # besides --lang: other names people type
REJECTED_KEY = "wikidata.rejected.{item}"  # stored value: {file title: reason} of a person's refused files
USABLE_MIME = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff"})


# What we know of a person and a file


@dataclass(frozen=True)
class Person:
    """A Wikidata human: id, label in the chosen language, other names, image (P18) and category (P373)."""

    item: str
    label: str
    description: str
    aliases: tuple[str, ...]
    images: tuple[str, ...]
    category: str | None


@dataclass(frozen=True)
class CommonsFile:
    """A Commons file as imageinfo describes it: thumbnail URL, page, credit, or why it can't be used."""

    title: str
    thumb_url: str
    page_url: str
    credit: Credit
    refusal: str = ""  # e.g. "license: CC BY-NC 4.0"; empty when the file may be used


@dataclass(frozen=True)
class Unresolved:
    """An item given that is not built: why as a `code` (a key of `WHY`) and its `params`; `why` in English."""

    item: str
    code: str
    params: dict = field(default_factory=dict, hash=False)

    @property
    def why(self) -> str:
        return WHY[self.code].format(**self.flat_params)

    @property
    def flat_params(self) -> dict:
        """`params` for a `str.format` template: an ambiguous name's choices as one 'Q1 label, Q2 label'."""
        params = dict(self.params)
        if "choices" in params:
            params["choices"] = ", ".join(f"{qid} {label}" for qid, label in params["choices"])
        return params


# Why an item was not built, in English (the CLI, the logs); the bot and the admin app translate the codes.
WHY = {
    "no_match": "no person of that name on Wikidata",
    "ambiguous": "ambiguous: {count} people match ({choices}); give the Q-id",
    "no_item": "no such Wikidata item",
    "not_person": "{label} is not a person (P31≠Q5)",
}


@dataclass(frozen=True)
class Note:
    """One fact of a build's summary without its words: a stable `code` (refused, no_photo, or an
    `Unresolved` code), its `params` (numbers, names, Q-ids, refusal kinds) and `text`, its English line."""

    code: str
    params: dict
    text: str


@dataclass
class Report:
    """What a build did: people added or updated, photos added, refusals by reason, people with none."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    photos_added: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    no_photo: list[str] = field(default_factory=list)  # "label (Q…)" with no usable photo
    unresolved: list[Unresolved] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The summary, one fact per line, in English (the CLI's; the bot words `notes` itself)."""
        out = [
            f"people added {len(self.added)}, updated {len(self.updated)}; photos added {self.photos_added}",
        ]
        return out + [note.text for note in self.notes()]

    def notes(self) -> list[Note]:
        """The summary's lines after the counts: refusals by kind, people without a photo, items not built.

        A refusal kind is `refused`'s key split into `kind` and `detail`: 'download_failed (404)' → kind
        download_failed, detail 404."""
        out = []
        if self.refused:
            reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(self.refused.items()))
            kinds = [{**split_kind(reason), "count": count} for reason, count in sorted(self.refused.items())]
            total = sum(self.refused.values())
            out.append(
                Note("refused", {"total": total, "reasons": kinds}, f"photos refused {total}: {reasons}")
            )
        if self.no_photo:
            people = ", ".join(self.no_photo)
            params = {"count": len(self.no_photo), "people": list(self.no_photo)}
            out.append(Note("no_photo", params, f"no usable photo ({len(self.no_photo)}): {people}"))
        for u in self.unresolved:
            out.append(Note(u.code, {"item": u.item, **u.params}, f"not found: {u.item}: {u.why}"))
        return out


def split_kind(reason: str) -> dict[str, str]:
    """A key of `Report.refused` → its kind and detail: 'download_failed (404)' → download_failed, 404."""
    kind, _, detail = reason.partition(" (")
    return {"kind": kind, "detail": detail.removesuffix(")")}


# Items → people


async def resolve(client: Wikimedia, items: list[str], lang: str) -> tuple[list[str], list[Unresolved]]:
    """Q-ids and names → (Q-ids in the order given, without repeats; the items not resolved).

    A name is searched in `lang`, then English; only humans count. One human is taken; several are
    ambiguous unless exactly one has the name as a label or alias; none is no match."""
    found: list[str] = []
    unresolved: list[Unresolved] = []
    for raw in items:
        item = raw.strip()
        if not item:
            continue
        if QID.match(item):
            found.append(item.upper())
            continue
        qid, code, params = await _search_human(client, item, lang)
        if qid:
            found.append(qid)
        else:
            unresolved.append(Unresolved(item, code, params))
    return list(dict.fromkeys(found)), unresolved


async def _search_human(client: Wikimedia, name: str, lang: str) -> tuple[str | None, str, dict]:
    """(Q-id, '', {}) for the one human of that name, else (None, why's code, its params)."""
    for language in dict.fromkeys((lang, "en")):
        body = await client.api(
            client.endpoints.wikidata_api,
            {
                "action": "wbsearchentities",
                "search": name,
                "language": language,
                "uselang": language,
                "type": "item",
                "limit": str(SEARCH_LIMIT),
            },
        )
        hits = [h for h in body.get("search", []) if isinstance(h, dict) and QID.match(str(h.get("id", "")))]
        if not hits:
            continue
        entities = await get_entities(client, [h["id"] for h in hits], lang, props="labels|aliases|claims")
        humans = [e for e in (entities.get(h["id"]) for h in hits) if e is not None and _is_human(e)]
        if len(humans) == 1:
            return humans[0]["id"], "", {}
        if len(humans) > 1:
            exact = [e for e in humans if _key(name) in {_key(n) for n in _all_names(e)}]
            if len(exact) == 1:
                return exact[0]["id"], "", {}
            choices = [[e["id"], _label(e, lang)] for e in humans[:5]]
            return None, "ambiguous", {"count": len(humans), "choices": choices}
    return None, "no_match", {}


async def sparql_items(client: Wikimedia, query: str) -> list[str]:
    """The Q-ids bound to the query's first variable, in the order returned, without repeats."""
    variables, bindings = await client.sparql(query)
    if not variables:
        return []
    first = variables[0]
    items = []
    for row in bindings:
        value = str(row.get(first, {}).get("value", ""))
        qid = value.rsplit("/", 1)[-1]
        if QID.match(qid):
            items.append(qid.upper())
    return list(dict.fromkeys(items))


async def get_entities(
    client: Wikimedia, ids: list[str], lang: str, props: str = "labels|descriptions|aliases|claims"
) -> dict[str, dict | None]:
    """wbgetentities in batches of `BATCH`: id → entity (None when missing). Redirects are followed."""
    languages = "|".join(dict.fromkeys((lang, *ALIAS_LANGUAGES)))
    out: dict[str, dict | None] = {}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        body = await client.api(
            client.endpoints.wikidata_api,
            {"action": "wbgetentities", "ids": "|".join(chunk), "props": props, "languages": languages},
        )
        entities = body.get("entities", {})
        redirected = {v.get("redirects", {}).get("from"): k for k, v in entities.items() if "redirects" in v}
        for qid in chunk:
            entity = entities.get(qid) or entities.get(redirected.get(qid, ""))
            out[qid] = None if not entity or "missing" in entity else entity
    return out


def _is_human(entity: dict) -> bool:
    return HUMAN in _item_claims(entity, "P31")


def _item_claims(entity: dict, prop: str) -> list[str]:
    values = []
    for claim in _claims(entity, prop):
        value = claim.get("mainsnak", {}).get("datavalue", {}).get("value")
        if isinstance(value, dict) and "id" in value:
            values.append(str(value["id"]))
    return values


def _string_claims(entity: dict, prop: str) -> list[str]:
    """String values of a property, preferred rank first, deprecated ones left out."""
    claims = sorted(_claims(entity, prop), key=lambda c: c.get("rank") != "preferred")
    values = []
    for claim in claims:
        value = claim.get("mainsnak", {}).get("datavalue", {}).get("value")
        if isinstance(value, str) and value.strip():
            values.append(value.strip())
    return values


def _claims(entity: dict, prop: str) -> list[dict]:
    claims = entity.get("claims", {}).get(prop, [])
    return [c for c in claims if isinstance(c, dict) and c.get("rank") != "deprecated"]


def _label(entity: dict, lang: str) -> str:
    labels = entity.get("labels", {})
    for language in (lang, "en", *ALIAS_LANGUAGES):
        value = labels.get(language, {}).get("value")
        if value:
            return str(value)
    return str(entity.get("id", ""))


def _all_names(entity: dict) -> list[str]:
    """Labels and aliases in every language asked for."""
    names = [str(v.get("value", "")) for v in entity.get("labels", {}).values()]
    for values in entity.get("aliases", {}).values():
        names += [str(v.get("value", "")) for v in values]
    return [n for n in names if n.strip()]


def _key(name: str) -> str:
    """`name_key`, or '' for a name that cannot be stored (empty, too long)."""
    try:
        return name_key(name)
    except InvalidName:
        return ""


def person_from(entity: dict, lang: str) -> Person:
    """A human's entity → Person (label in `lang`, else English, else any language asked for)."""
    label = _label(entity, lang)
    if not _key(label):
        label = str(entity["id"])  # a label too long for a name: the item id stands in
    label = clean_name(label)
    names = [n for n in _all_names(entity) if _key(n) and _key(n) != _key(label)]
    aliases = tuple(dict.fromkeys(clean_name(n) for n in names))
    descriptions = entity.get("descriptions", {})
    description = next((str(descriptions[x]["value"]) for x in (lang, "en") if x in descriptions), "")
    category = next(iter(_string_claims(entity, "P373")), None)
    return Person(entity["id"], label, description, aliases, tuple(_string_claims(entity, "P18")), category)


# People → candidate files


async def candidate_titles(client: Wikimedia, person: Person) -> AsyncIterator[list[str]]:
    """Batches of file titles to try, in a fixed order: the item's image(s) first, then its category's
    files (API order, following `continue`), each title once. Category pages are fetched only as needed."""
    seen: set[str] = set()
    first = [_file_title(name) for name in person.images]
    first = [t for t in first if not (t in seen or seen.add(t))]
    if first:
        yield first
    if not person.category:
        return
    params = {
        "action": "query",
        "list": "categorymembers",
        "cmtitle": f"Category:{person.category}",
        "cmtype": "file",
        "cmlimit": str(BATCH),
    }
    cont: dict[str, str] = {}
    while True:
        body = await client.api(client.endpoints.commons_api, {**params, **cont})
        members = body.get("query", {}).get("categorymembers", [])
        titles = [str(m["title"]) for m in members if isinstance(m, dict) and m.get("title")]
        fresh = [t for t in titles if not (t in seen or seen.add(t))]
        if fresh:
            yield fresh
        if not isinstance(body.get("continue"), dict):
            return
        cont = {k: str(v) for k, v in body["continue"].items()}


def _file_title(name: str) -> str:
    name = name.replace("_", " ").strip()
    return name if name.lower().startswith("file:") else f"File:{name}"


async def describe_files(client: Wikimedia, titles: list[str]) -> dict[str, CommonsFile]:
    """imageinfo (url, mime, extmetadata, a `THUMB_WIDTH` thumbnail) for up to `BATCH` titles."""
    body = await client.api(
        client.endpoints.commons_api,
        {
            "action": "query",
            "titles": "|".join(titles),
            "prop": "imageinfo",
            "iiprop": "url|mime|extmetadata",
            "iiurlwidth": str(THUMB_WIDTH),
            "iiextmetadatafilter": "Artist|LicenseShortName|LicenseUrl|License|UsageTerms|NonFree",
        },
    )
    query = body.get("query", {})
    renamed = {n["to"]: n["from"] for n in query.get("normalized", []) if isinstance(n, dict)}
    files: dict[str, CommonsFile] = {}
    for page in query.get("pages", []):
        title = str(page.get("title", ""))
        asked = renamed.get(title, title)
        files[asked] = _commons_file(asked, page)
    return files


def _commons_file(title: str, page: dict) -> CommonsFile:
    infos = page.get("imageinfo") or []
    if page.get("missing") or not infos:
        return CommonsFile(title, "", "", Credit(), "missing: no such file on Commons")
    info = infos[0]
    meta = info.get("extmetadata", {})
    page_url = str(info.get("descriptionurl", ""))
    license_name, refusal = license_verdict(meta)
    credit = Credit(
        author=plain_text(_meta(meta, "Artist")) or "unknown author",
        license=license_name,
        license_url=_meta(meta, "LicenseUrl"),
        source_page=page_url,
    )
    thumb = str(info.get("thumburl") or info.get("url") or "")
    mime = str(info.get("mime", ""))
    if not refusal and mime not in USABLE_MIME:
        refusal = f"not_a_photo: {mime or 'unknown type'}"
    return CommonsFile(title, thumb, page_url, credit, refusal)


def _meta(meta: dict, key: str) -> str:
    value = meta.get(key, {})
    return str(value.get("value", "")).strip() if isinstance(value, dict) else ""


# Licences that allow reuse with credit: public domain, CC0, CC BY and CC BY-SA of any version (and port).
_FREE = re.compile(r"^(pd\b|public domain|cc0|cc-zero|cc[- ]by(-sa)?([- ]\d(\.\d)?)?([- ][a-z]{2,3})?$)")
_RESTRICTED = re.compile(r"\b(nc|nd)\b|non-?commercial|no-?deriv|fair use|non-?free")


def license_verdict(meta: dict) -> tuple[str, str]:
    """(licence name, refusal) from a file's extmetadata; refusal is empty when the licence is usable."""
    short = _meta(meta, "LicenseShortName") or _meta(meta, "UsageTerms")
    code = _meta(meta, "License").lower()
    name = short or code
    if not name:
        return "", "license: none given"
    if _meta(meta, "NonFree").lower() == "true":
        return name, f"license: non-free ({name})"
    for text in (code, short.lower()):
        if text and _RESTRICTED.search(text.replace("-", " ")):
            return name, f"license: {name}"
    if any(_FREE.match(text.strip()) for text in (code, short.lower()) if text):
        return name, ""
    return name, f"license: {name}"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(html: str) -> str:
    """Commons' HTML (links, spans, entities) → one line of plain text, at most 200 characters."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    text = " ".join("".join(parser.parts).split())
    return text if len(text) <= 200 else text[:199] + "…"


def title_of_source(source: str) -> str:
    """A stored photo's source (the Commons page URL) → the file title it came from ('' if not one)."""
    _, sep, tail = source.partition("/wiki/")
    return unquote(tail).replace("_", " ") if sep and tail.startswith("File:") else ""


# Building


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
    on_person: Callable[[str], None] | None = None  # called once per person done (progress bars)
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
            elif not _is_human(entity):
                self.report.unresolved.append(
                    Unresolved(qid, "not_person", {"label": _label(entity, self.lang)})
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
    return _key(alias) not in ("", _key(name))


def _names_for(people: list[Person]) -> dict[str, str]:
    """Each person's celebrity name: their label, or `label (Q…)` when two people of a run share it."""
    counts = Counter(_key(p.label) for p in people)
    return {p.item: p.label if counts[_key(p.label)] == 1 else _qualified(p) for p in people}


def _qualified(person: Person) -> str:
    """`label (Q…)`, the label shortened so that the whole stays a valid name."""
    suffix = f" ({person.item})"
    return person.label[: MAX_NAME_CHARS - len(suffix)].rstrip() + suffix
