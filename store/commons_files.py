"""People → Commons files: the titles to try for a person, in a fixed order, and each file's thumbnail,
page, credit and licence verdict.

APIs (formats followed by the stand-in in tests/wikimedia/):
- https://www.mediawiki.org/wiki/API:Categorymembers
- https://www.mediawiki.org/wiki/API:Imageinfo and https://www.mediawiki.org/wiki/Extension:CommonsMetadata
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import unquote

from store.commons_licence import extmetadata_value, license_verdict
from store.gallery import Credit
from store.html_text import plain_text
from store.wikidata_items import Person
from store.wikimedia import BATCH, Wikimedia

THUMB_WIDTH = 1024  # px: what face detection works on (engine.faces.DETECT_MAX_SIDE); ~100-300 KB a file
USABLE_MIME = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff"})


@dataclass(frozen=True)
class CommonsFile:
    """A Commons file as imageinfo describes it: thumbnail URL, page, credit, or why it can't be used."""

    title: str
    thumb_url: str
    page_url: str
    credit: Credit
    refusal: str = ""  # e.g. "license: CC BY-NC 4.0"; empty when the file may be used


async def candidate_titles(client: Wikimedia, person: Person) -> AsyncIterator[list[str]]:
    """Batches of file titles to try, in a fixed order: the item's image(s) first, then its category's
    files (API order, following `continue`), each title once. Category pages are fetched only as needed."""
    seen: set[str] = set()
    first = _unseen([_file_title(name) for name in person.images], seen)
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
        fresh = _unseen(titles, seen)
        if fresh:
            yield fresh
        if not isinstance(body.get("continue"), dict):
            return
        cont = {k: str(v) for k, v in body["continue"].items()}


def _unseen(titles: list[str], seen: set[str]) -> list[str]:
    """Titles → those not in `seen`, each once, in the order given; they are added to `seen`."""
    fresh = [t for t in dict.fromkeys(titles) if t not in seen]
    seen.update(fresh)
    return fresh


def _file_title(name: str) -> str:
    """A P18 value or a category member's name → its page title ("File:…", spaces for underscores)."""
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
    """A title and its imageinfo page → the file, refused when missing, not freely licensed or not a photo."""
    infos = page.get("imageinfo") or []
    if page.get("missing") or not infos:
        return CommonsFile(title, "", "", Credit(), "missing: no such file on Commons")
    info = infos[0]
    meta = info.get("extmetadata", {})
    page_url = str(info.get("descriptionurl", ""))
    license_name, refusal = license_verdict(meta)
    credit = Credit(
        author=plain_text(extmetadata_value(meta, "Artist")) or "unknown author",
        license=license_name,
        license_url=extmetadata_value(meta, "LicenseUrl"),
        source_page=page_url,
    )
    thumb = str(info.get("thumburl") or info.get("url") or "")
    mime = str(info.get("mime", ""))
    if not refusal and mime not in USABLE_MIME:
        refusal = f"not_a_photo: {mime or 'unknown type'}"
    return CommonsFile(title, thumb, page_url, credit, refusal)


def title_of_source(source: str) -> str:
    """A stored photo's source (the Commons page URL) → the file title it came from ('' if not one)."""
    _, sep, tail = source.partition("/wiki/")
    return unquote(tail).replace("_", " ") if sep and tail.startswith("File:") else ""
