"""Wikidata items → people: Q-ids and names resolved to humans, an entity's claims read into a `Person`.

APIs (formats followed by the stand-in in tests/wikimedia/):
- https://www.wikidata.org/w/api.php?action=help&modules=wbsearchentities
- https://www.wikidata.org/w/api.php?action=help&modules=wbgetentities
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from store.names import InvalidName, clean_name, name_key
from store.wikidata_report import Unresolved
from store.wikimedia import BATCH, Wikimedia

QID = re.compile(r"^[Qq][1-9]\d{0,11}$")
HUMAN = "Q5"
SEARCH_LIMIT = 10
ALIAS_LANGUAGES = ("en", "ko", "ja", "zh")  # besides --lang: other names people type


@dataclass(frozen=True)
class Person:
    """A Wikidata human: id, label in the chosen language, other names, image (P18) and category (P373)."""

    item: str
    label: str
    description: str
    aliases: tuple[str, ...]
    images: tuple[str, ...]
    category: str | None


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
        humans = [e for e in (entities.get(h["id"]) for h in hits) if e is not None and is_human(e)]
        if len(humans) == 1:
            return humans[0]["id"], "", {}
        if len(humans) > 1:
            exact = [e for e in humans if storable_key(name) in {storable_key(n) for n in _all_names(e)}]
            if len(exact) == 1:
                return exact[0]["id"], "", {}
            choices = [[e["id"], label_of(e, lang)] for e in humans[:5]]
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


def is_human(entity: dict) -> bool:
    """An entity → whether it is an instance of human (P31 = Q5)."""
    return HUMAN in _item_claims(entity, "P31")


def _item_claims(entity: dict, prop: str) -> list[str]:
    """The Q-ids a property points to, deprecated ones left out."""
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
    """A property's statements, deprecated ones left out."""
    claims = entity.get("claims", {}).get(prop, [])
    return [c for c in claims if isinstance(c, dict) and c.get("rank") != "deprecated"]


def label_of(entity: dict, lang: str) -> str:
    """An entity → its label in `lang`, else English, else any language asked for, else its id."""
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


def storable_key(name: str) -> str:
    """`name_key`, or '' for a name that cannot be stored (empty, too long)."""
    try:
        return name_key(name)
    except InvalidName:
        return ""


def person_from(entity: dict, lang: str) -> Person:
    """A human's entity → Person (label in `lang`, else English, else any language asked for)."""
    label = label_of(entity, lang)
    if not storable_key(label):
        label = str(entity["id"])  # a label too long for a name: the item id stands in
    label = clean_name(label)
    names = [n for n in _all_names(entity) if storable_key(n) and storable_key(n) != storable_key(label)]
    aliases = tuple(dict.fromkeys(clean_name(n) for n in names))
    descriptions = entity.get("descriptions", {})
    description = next((str(descriptions[x]["value"]) for x in (lang, "en") if x in descriptions), "")
    category = next(iter(_string_claims(entity, "P373")), None)
    return Person(entity["id"], label, description, aliases, tuple(_string_claims(entity, "P18")), category)
