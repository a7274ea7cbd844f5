"""A stand-in for Wikidata's Action API, the Wikidata Query Service and Commons, on 127.0.0.1.

Long on purpose: one stand-in, one class, one short method per endpoint and the formats it follows below.

`WikimediaStandIn` is a small aiohttp server, run in its own thread, that answers the requests
`store.wikimedia` / `store.wikidata_build` (through `wikidata_items` and `commons_files`) make, in the
documented JSON formats (formatversion=2):

* Wikidata Action API at ``/wikidata/w/api.php``:
  - ``action=wbsearchentities&search=…&language=…&type=item&limit=…``
    (https://www.wikidata.org/w/api.php?action=help&modules=wbsearchentities): ``{"searchinfo":
    {"search": …}, "search": [{"id", "title", "label", "description", "match": {"type", "language",
    "text"}, "aliases"?}], "success": 1}``; labels and aliases match by prefix, case-insensitively.
  - ``action=wbgetentities&ids=Q1|Q2&props=…&languages=ko|en…``
    (https://www.wikidata.org/w/api.php?action=help&modules=wbgetentities,
    https://www.mediawiki.org/wiki/Wikibase/DataModel/JSON): ``{"entities": {"Q1": {"type": "item", "id",
    "labels": {lang: {"language", "value"}}, "descriptions": …, "aliases": {lang: [{"language",
    "value"}]}, "claims": {"P31": [{"mainsnak": {"snaktype": "value", "property", "datavalue": {"value":
    {"entity-type": "item", "numeric-id", "id"}, "type": "wikibase-entityid"}}, "type": "statement",
    "rank"}], "P18"/"P373": string datavalues}}, "Q404": {"id": "Q404", "missing": ""}}, "success": 1}``.
* Commons Action API at ``/commons/w/api.php``:
  - ``action=query&list=categorymembers&cmtitle=Category:…&cmtype=file&cmlimit=…``
    (https://www.mediawiki.org/wiki/API:Categorymembers): ``{"batchcomplete": true, "continue":
    {"cmcontinue": "file|…", "continue": "-||"}, "query": {"categorymembers": [{"pageid", "ns": 6,
    "title"}]}}``; pages of at most `category_page` files, so continuation is always exercised.
  - ``action=query&titles=File:…|File:…&prop=imageinfo&iiprop=url|mime|extmetadata&iiurlwidth=W``
    (https://www.mediawiki.org/wiki/API:Imageinfo, https://www.mediawiki.org/wiki/Extension:CommonsMetadata):
    ``{"query": {"normalized": [{"from", "to"}], "pages": [{"ns": 6, "title", "missing"?: true,
    "imagerepository": "local", "imageinfo": [{"url", "descriptionurl", "thumburl", "thumbwidth",
    "thumbheight", "mime", "extmetadata": {"Artist": {"value": HTML, "source"}, "LicenseShortName", "License",
    "LicenseUrl", "UsageTerms", "NonFree"?}}]}]}}``.
  - ``maxlag`` errors as https://www.mediawiki.org/wiki/Manual:Maxlag_parameter: HTTP 200, ``{"error":
    {"code": "maxlag", "info": "Waiting for …: N seconds lagged", "host", "lag"}}`` with ``Retry-After``
    and ``X-Database-Lag`` headers.
* The query service at ``/sparql`` (GET or POST ``query=…``): SPARQL 1.1 JSON results
  (https://www.w3.org/TR/sparql11-results-json/, https://www.mediawiki.org/wiki/Wikidata_Query_Service/User_Manual):
  ``{"head": {"vars": […]}, "results": {"bindings": [{"item": {"type": "uri", "value":
  "http://www.wikidata.org/entity/Q…"}, "itemLabel": {"type": "literal", "value", "xml:lang"}}]}}``.
  The answer is whatever `sparql_items` is set to; the query text is recorded, not run.
* Files: ``/thumb/<width>/<name>`` (the photo scaled to that width, as JPEG, as Commons' thumbnails),
  ``/original/<name>`` (the bytes as stored), ``/wiki/File:<name>`` (the description page).

Faults (`fail`): for a kind of request (`wbsearchentities`, `wbgetentities`, `categorymembers`,
`imageinfo`, `sparql`, `thumb`), the next `times` of them (after `after` good ones) answer 429 with
Retry-After, 503, a maxlag error, a non-JSON page, a delay past the client's timeout, or (files) a body
cut short with the connection closed. Every request is logged (`log`) with its User-Agent and query, and
the most requests ever in flight at once is kept (`max_in_flight`).

Where it differs from the real services: everything in memory, no authentication, no rate limits of its
own beyond the injected faults, search by prefix only, SPARQL not evaluated.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from aiohttp import web
from PIL import Image

JSON = dict


@dataclass
class StandInFile:
    """A Commons file: its bytes (from a path), licence as extmetadata shows it, author as HTML."""

    name: str  # without "File:"
    path: Path
    license_short: str = "CC BY-SA 4.0"
    license_code: str = "cc-by-sa-4.0"
    license_url: str = "https://creativecommons.org/licenses/by-sa/4.0"
    artist_html: str = '<a href="//commons.wikimedia.org/wiki/User:Example" title="User:Example">Example</a>'
    non_free: bool = False
    data: bytes | None = None  # bytes served instead of the path's (e.g. a truncated file)

    @property
    def bytes(self) -> bytes:
        return self.data if self.data is not None else self.path.read_bytes()

    @property
    def mime(self) -> str:
        return "image/png" if self.name.lower().endswith(".png") else "image/jpeg"


@dataclass
class StandInPerson:
    """A Wikidata item: labels, descriptions and aliases by language, P31, P18 files, P373 category."""

    qid: str
    labels: dict[str, str]
    descriptions: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    instance_of: str = "Q5"
    images: list[str] = field(default_factory=list)
    category: str | None = None


@dataclass
class Fault:
    kind: str  # wbsearchentities, wbgetentities, categorymembers, imageinfo, sparql, thumb
    mode: str  # "429", "503", "maxlag", "html", "timeout", "truncate"
    times: int = 1
    after: int = 0
    retry_after: int = 1
    delay: float = 5.0


@dataclass(frozen=True)
class Logged:
    kind: str
    path: str
    query: dict[str, str]
    user_agent: str
    at: float
    answered: str  # "ok" or the fault's mode


class WikimediaStandIn:
    """`with WikimediaStandIn() as wm:` runs it on 127.0.0.1 in a thread; `wm.url` is its base URL."""

    def __init__(self, category_page: int = 2) -> None:
        self.people: dict[str, StandInPerson] = {}
        self.files: dict[str, StandInFile] = {}
        self.categories: dict[str, list[str]] = {}
        self.sparql_items: list[str] = []
        self.category_page = category_page
        self.faults: list[Fault] = []
        self.log: list[Logged] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # Content

    def add_person(self, person: StandInPerson) -> None:
        self.people[person.qid] = person

    def add_file(self, file: StandInFile, category: str | None = None) -> None:
        self.files[file.name] = file
        if category:
            self.categories.setdefault(category, []).append(file.name)

    def fail(self, kind: str, mode: str, **kwargs: object) -> Fault:
        fault = Fault(kind, mode, **kwargs)  # type: ignore[arg-type]
        with self._lock:
            self.faults.append(fault)
        return fault

    def requests(self, kind: str | None = None) -> list[Logged]:
        with self._lock:
            return [e for e in self.log if kind is None or e.kind == kind]

    # Endpoints for the client

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            "WIKIDATA_API_URL": f"{self.url}/wikidata/w/api.php",
            "WIKIDATA_SPARQL_URL": f"{self.url}/sparql",
            "COMMONS_API_URL": f"{self.url}/commons/w/api.php",
        }

    # Running

    def __enter__(self) -> WikimediaStandIn:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the Wikimedia stand-in did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop and self._runner:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(10)

    def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_route("GET", "/wikidata/w/api.php", self._wikidata)
        app.router.add_route("GET", "/commons/w/api.php", self._commons)
        app.router.add_route("*", "/sparql", self._sparql)
        app.router.add_route("GET", "/thumb/{width}/{name}", self._thumb)
        app.router.add_route("GET", "/original/{name}", self._original)
        app.router.add_route("GET", "/wiki/{title}", self._page)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.1)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready.set()
        self._loop.run_forever()
        self._loop.close()

    # Faults and the log

    async def _guard(self, kind: str, request: web.Request, query: dict[str, str], answer):  # type: ignore[no-untyped-def]
        """Log the request, apply the first fault due for its kind, else answer it."""
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            number = self._seen.get(kind, 0)
            self._seen[kind] = number + 1
            fault = next(
                (f for f in self.faults if f.kind == kind and f.times > 0 and number >= f.after), None
            )
            if fault:
                fault.times -= 1
            self.log.append(
                Logged(
                    kind,
                    request.path,
                    query,
                    request.headers.get("User-Agent", ""),
                    time.monotonic(),
                    fault.mode if fault else "ok",
                )
            )
        try:
            if fault is None:
                return await answer()
            return await self._fault(fault, request, answer)
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _fault(self, fault: Fault, request: web.Request, answer):  # type: ignore[no-untyped-def]
        if fault.mode == "429":
            return web.Response(
                status=429, text="Too many requests", headers={"Retry-After": str(fault.retry_after)}
            )
        if fault.mode == "503":
            return web.Response(status=503, text="<html>Service unavailable</html>", content_type="text/html")
        if fault.mode == "html":
            return web.Response(status=200, text="<html>upstream error</html>", content_type="text/html")
        if fault.mode == "maxlag":
            body = {
                "error": {
                    "code": "maxlag",
                    "info": f"Waiting for 10.64.0.1: {fault.retry_after} seconds lagged",
                    "host": "10.64.0.1",
                    "lag": fault.retry_after,
                }
            }
            headers = {"Retry-After": str(fault.retry_after), "X-Database-Lag": str(fault.retry_after)}
            return web.json_response(body, headers=headers)
        if fault.mode == "timeout":
            await asyncio.sleep(fault.delay)
            return await answer()
        if fault.mode == "truncate":
            full: web.Response = await answer()
            data = full.body if isinstance(full.body, bytes) else b""
            response = web.StreamResponse(status=200, headers={"Content-Type": full.content_type})
            response.content_length = len(data)
            await response.prepare(request)
            await response.write(data[: len(data) // 2])
            if request.transport:
                request.transport.close()
            return response
        raise ValueError(f"unknown fault {fault.mode}")

    # Wikidata

    async def _wikidata(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        action = query.get("action", "")

        async def answer() -> web.Response:
            if action == "wbsearchentities":
                return web.json_response(self._search(query))
            if action == "wbgetentities":
                return web.json_response(self._entities(query))
            return web.json_response({"error": {"code": "badvalue", "info": f"unknown action {action}"}})

        return await self._guard(action, request, query, answer)

    def _search(self, query: dict[str, str]) -> JSON:
        text = query.get("search", "").casefold()
        language = query.get("language", "en")
        limit = int(query.get("limit", "7"))
        hits = []
        for person in self.people.values():
            label = person.labels.get(language, "")
            aliases = person.aliases.get(language, [])
            matched = next((n for n in [label, *aliases] if n and n.casefold().startswith(text)), None)
            if text and matched:
                hit: JSON = {
                    "id": person.qid,
                    "title": person.qid,
                    "pageid": int(person.qid[1:]),
                    "url": f"//www.wikidata.org/wiki/{person.qid}",
                    "concepturi": f"http://www.wikidata.org/entity/{person.qid}",
                    "label": label or person.labels.get("en", ""),
                    "description": person.descriptions.get(language, ""),
                    "match": {
                        "type": "label" if matched == label else "alias",
                        "language": language,
                        "text": matched,
                    },
                }
                if matched != label:
                    hit["aliases"] = [matched]
                hits.append(hit)
        return {"searchinfo": {"search": query.get("search", "")}, "search": hits[:limit], "success": 1}

    def _entities(self, query: dict[str, str]) -> JSON:
        languages = set(query.get("languages", "en").split("|"))
        entities: JSON = {}
        for qid in query.get("ids", "").split("|"):
            person = self.people.get(qid)
            entities[qid] = {"id": qid, "missing": ""} if person is None else self._entity(person, languages)
        return {"entities": entities, "success": 1}

    def _entity(self, person: StandInPerson, languages: set[str]) -> JSON:
        def texts(values: dict[str, str]) -> JSON:
            return {k: {"language": k, "value": v} for k, v in values.items() if k in languages}

        claims: JSON = {
            "P31": [
                _statement(
                    "P31",
                    {
                        "entity-type": "item",
                        "numeric-id": int(person.instance_of[1:]),
                        "id": person.instance_of,
                    },
                    "wikibase-entityid",
                )
            ]
        }
        if person.images:
            claims["P18"] = [_statement("P18", name, "string") for name in person.images]
        if person.category:
            claims["P373"] = [_statement("P373", person.category, "string")]
        return {
            "type": "item",
            "id": person.qid,
            "labels": texts(person.labels),
            "descriptions": texts(person.descriptions),
            "aliases": {
                k: [{"language": k, "value": v} for v in vs]
                for k, vs in person.aliases.items()
                if k in languages
            },
            "claims": claims,
        }

    # Commons

    async def _commons(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        kind = "categorymembers" if query.get("list") == "categorymembers" else query.get("prop", "query")

        async def answer() -> web.Response:
            if kind == "categorymembers":
                return web.json_response(self._members(query))
            if kind == "imageinfo":
                return web.json_response(self._imageinfo(query))
            return web.json_response({"error": {"code": "badvalue", "info": "unsupported query"}})

        return await self._guard(kind, request, query, answer)

    def _members(self, query: dict[str, str]) -> JSON:
        name = query.get("cmtitle", "").removeprefix("Category:")
        files = self.categories.get(name, [])
        start = int(query.get("cmcontinue", "file|0").split("|")[1])
        size = min(int(query.get("cmlimit", "10")), self.category_page)
        page = files[start : start + size]
        body: JSON = {
            "batchcomplete": True,
            "query": {
                "categorymembers": [
                    {"pageid": 1000 + start + i, "ns": 6, "title": f"File:{n}"} for i, n in enumerate(page)
                ]
            },
        }
        if start + size < len(files):
            body["continue"] = {"cmcontinue": f"file|{start + size}", "continue": "-||"}
        return body

    def _imageinfo(self, query: dict[str, str]) -> JSON:
        width = int(query.get("iiurlwidth", "0") or 0)
        normalized, pages = [], []
        for asked in query.get("titles", "").split("|"):
            title = asked.replace("_", " ")
            if title != asked:
                normalized.append({"fromencoded": False, "from": asked, "to": title})
            file = self.files.get(title.removeprefix("File:"))
            if file is None:
                pages.append({"ns": 6, "title": title, "missing": True, "known": False})
                continue
            pages.append(
                {
                    "pageid": 5000 + list(self.files).index(file.name),
                    "ns": 6,
                    "title": title,
                    "imagerepository": "local",
                    "imageinfo": [self._info(file, width)],
                }
            )
        body: JSON = {"batchcomplete": True, "query": {"pages": pages}}
        if normalized:
            body["query"]["normalized"] = normalized
        return body

    def _info(self, file: StandInFile, width: int) -> JSON:
        quoted = quote(file.name.replace(" ", "_"))
        meta: JSON = {
            "Artist": {"value": file.artist_html, "source": "commons-desc-page"},
            "LicenseShortName": {"value": file.license_short, "source": "commons-desc-page", "hidden": ""},
            "UsageTerms": {"value": file.license_short, "source": "commons-desc-page", "hidden": ""},
        }
        if file.license_code:
            meta["License"] = {"value": file.license_code, "source": "commons-templates", "hidden": ""}
        if file.license_url:
            meta["LicenseUrl"] = {"value": file.license_url, "source": "commons-desc-page", "hidden": ""}
        if file.non_free:
            meta["NonFree"] = {"value": "true", "source": "commons-desc-page", "hidden": ""}
        info: JSON = {
            "url": f"{self.url}/original/{quoted}",
            "descriptionurl": f"{self.url}/wiki/File:{quoted}",
            "descriptionshorturl": f"{self.url}/w/index.php?curid={list(self.files).index(file.name)}",
            "mime": file.mime,
            "extmetadata": meta,
        }
        if width:
            info.update(thumburl=f"{self.url}/thumb/{width}/{quoted}", thumbwidth=width, thumbheight=width)
        return info

    async def _thumb(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"].replace("_", " ")
        width = int(request.match_info["width"])

        async def answer() -> web.Response:
            file = self.files.get(name)
            if file is None:
                return web.Response(status=404, text="no such file")
            # A file given as raw bytes (e.g. a truncated one) is served as stored: Commons could not render it.
            body = file.data if file.data is not None else _thumbnail(file.bytes, width)
            return web.Response(body=body, content_type="image/jpeg")

        return await self._guard("thumb", request, {"width": str(width), "name": name}, answer)

    async def _original(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"].replace("_", " ")

        async def answer() -> web.Response:
            file = self.files.get(name)
            if file is None:
                return web.Response(status=404, text="no such file")
            return web.Response(body=file.bytes, content_type=file.mime)

        return await self._guard("original", request, {"name": name}, answer)

    async def _page(self, request: web.Request) -> web.StreamResponse:
        async def answer() -> web.Response:
            return web.Response(
                text=f"<html><h1>{request.match_info['title']}</h1></html>", content_type="text/html"
            )

        return await self._guard("page", request, {}, answer)

    # SPARQL

    async def _sparql(self, request: web.Request) -> web.StreamResponse:
        form = dict(await request.post()) if request.method == "POST" else {}
        query = {"query": str(form.get("query") or request.query.get("query", ""))}

        async def answer() -> web.Response:
            bindings = []
            for qid in self.sparql_items:
                person = self.people.get(qid)
                row: JSON = {"item": {"type": "uri", "value": f"http://www.wikidata.org/entity/{qid}"}}
                if person:
                    label = person.labels.get("ko") or person.labels.get("en", qid)
                    row["itemLabel"] = {"xml:lang": "ko", "type": "literal", "value": label}
                bindings.append(row)
            body = {"head": {"vars": ["item", "itemLabel"]}, "results": {"bindings": bindings}}
            return web.json_response(body, content_type="application/sparql-results+json")

        return await self._guard("sparql", request, query, answer)


def _statement(prop: str, value: object, kind: str) -> JSON:
    return {
        "mainsnak": {"snaktype": "value", "property": prop, "datavalue": {"value": value, "type": kind}},
        "type": "statement",
        "rank": "normal",
    }


def _thumbnail(data: bytes, width: int) -> bytes:
    """The photo scaled down to `width` (never up), as JPEG, like Commons' thumbnails."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    if image.width > width:
        image = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()
