"""The Mini App's HTTP side: the page and its static files, and a JSON API for admins only.

Every `/api/` call carries Telegram's launch data unchanged (`Authorization: tma <init data>`); it is
validated (`initdata.validate`) and its user must be in ADMIN_IDS, or the answer is 403. Nothing else
grants access: no cookie, no open endpoint (thumbnails included: the page fetches them with the header).
The page itself holds no data, only the code that asks for it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.webapp.extensions import Extensions
from bot.webapp.initdata import InitDataError, WebAppUser, validate
from service.services import Services
from service.texts import language
from service.wikidata import MAX_PEOPLE, items_of
from store.catalogue import search
from store.gallery import GalleryError
from store.gallery_file import GalleryDiskFull, GalleryFault
from store.names import InvalidName
from store.wikimedia import NoContact

log = logging.getLogger(__name__)

STATIC = resources.files("bot.webapp") / "static"
# Telegram's web client shows Mini Apps in an iframe; the phone apps in a web view (no frame at all).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'self' https://web.telegram.org https://*.telegram.org"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
MAX_BODY = 64 * 1024
SUSPECT_IDENTITY = ("kind", "name", "photo_id", "other_name", "other_photo_id")

Endpoint = Callable[[Request, WebAppUser], Awaitable[Any]]


class ApiError(Exception):
    """An answer other than 200: `code` is stable (the page translates it), `message` for humans."""

    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.status, self.code, self.message = status, code, message or code


class _SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for header, value in SECURITY_HEADERS.items():
            response.headers.setdefault(header, value)
        return response


def create_app(svc: Services, extensions: Extensions | None = None) -> Starlette:
    """The ASGI app for `svc`'s gallery, with the optional features in `extensions`."""
    api = AdminApi(svc, extensions or Extensions())
    routes = [
        Route("/", _index),
        Route("/favicon.ico", _no_icon),
        Mount("/static", app=StaticFiles(directory=str(STATIC)), name="static"),
        *api.routes(),
    ]
    return Starlette(routes=routes, middleware=[Middleware(_SecurityHeaders)])


async def _index(request: Request) -> Response:
    return FileResponse(str(STATIC / "index.html"), media_type="text/html; charset=utf-8")


async def _no_icon(request: Request) -> Response:
    return Response(status_code=204)


def authorized_user(request: Request, token: str, admin_ids: frozenset[int]) -> WebAppUser:
    """The admin behind a request's `Authorization: tma <init data>`; ApiError 403 for anyone else."""
    scheme, _, init_data = request.headers.get("authorization", "").partition(" ")
    try:
        if scheme.lower() != "tma":
            raise InitDataError("missing")
        user = validate(init_data.strip(), token)
    except InitDataError as exc:
        raise ApiError(403, exc.code) from None
    if user.id not in admin_ids:
        raise ApiError(403, "not_admin")
    return user


class AdminApi:
    """The JSON endpoints; each handler gets the request and the admin who sent it."""

    def __init__(self, svc: Services, extensions: Extensions) -> None:
        self.svc = svc
        self.gallery = svc.gallery
        self.extensions = extensions

    def routes(self) -> list[Route]:
        table: list[tuple[str, str, Endpoint]] = [
            ("GET", "/api/me", self.me),
            ("GET", "/api/celebrities", self.celebrities),
            ("GET", "/api/celebrity", self.celebrity),
            ("POST", "/api/celebrity/rename", self.rename),
            ("POST", "/api/celebrity/aliases/add", self.add_aliases),
            ("POST", "/api/celebrity/aliases/remove", self.remove_alias),
            ("POST", "/api/celebrity/remove", self.remove_celebrity),
            ("POST", "/api/photo/remove", self.remove_photo),
            ("GET", "/api/photo/{photo_id:int}/thumbnail", self.thumbnail),
            ("GET", "/api/status", self.status),
            ("GET", "/api/audit", self.audit),
            ("POST", "/api/audit/keep", self.audit_keep),
            ("POST", "/api/wikidata/build", self.wikidata_build),
        ]
        return [Route(path, self._guarded(handler), methods=[method]) for method, path, handler in table]

    def _guarded(self, handler: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        """Authorise, run, and turn the result (or a known failure) into a JSON answer."""
        settings = self.svc.settings

        async def endpoint(request: Request) -> Response:
            try:
                user = authorized_user(request, settings.token, settings.admin_ids)
                result = await handler(request, user)
            except ApiError as exc:
                if exc.status == 403:
                    log.info("mini app: refused %s %s (%s)", request.method, request.url.path, exc.code)
                return JSONResponse({"error": exc.code, "message": exc.message}, status_code=exc.status)
            except GalleryError as exc:
                return JSONResponse({"error": exc.code, "message": str(exc)}, status_code=409)
            except GalleryFault as exc:  # a full or read-only disk: nothing was changed
                log.warning("mini app: %s %s: %s", request.method, request.url.path, exc)
                code, status = ("disk_full", 507) if isinstance(exc, GalleryDiskFull) else ("read_only", 409)
                return JSONResponse({"error": code, "message": str(exc)}, status_code=status)
            except InvalidName as exc:
                return JSONResponse({"error": "invalid_name", "message": str(exc)}, status_code=400)
            return result if isinstance(result, Response) else JSONResponse(result)

        return endpoint

    # Reading

    async def me(self, request: Request, user: WebAppUser) -> dict:
        return {"id": user.id, "first_name": user.first_name, "language": _language(user)}

    async def celebrities(self, request: Request, user: WebAppUser) -> dict:
        query = request.query_params.get("q", "")[:200]
        offset = _int_param(request, "offset", 0)
        limit = _int_param(request, "limit", 60)
        page = await search(self.gallery, query, offset, limit)
        return {"total": page.total, "offset": page.offset, "items": [asdict(e) for e in page.entries]}

    async def celebrity(self, request: Request, user: WebAppUser) -> dict:
        name = await self._known(request.query_params.get("name", ""))
        records = await self.gallery.photo_records(name)
        return {
            "name": name,
            "aliases": await self.gallery.aliases_of(name),
            "photos": [
                {
                    "id": r.photo_id,
                    "source": r.source,
                    "added_at": r.added_at,
                    "kept": r.kept,
                    **asdict(r.credit),
                }
                for r in records
            ],
        }

    async def thumbnail(self, request: Request, user: WebAppUser) -> Response:
        data = await self.gallery.thumbnail(request.path_params["photo_id"])
        if data is None:
            raise ApiError(404, "unknown_photo")
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    async def status(self, request: Request, user: WebAppUser) -> dict:
        svc = self.svc
        calibration = self.extensions.calibration
        plot = await calibration.plot() if calibration else None
        cluster = self.extensions.cluster
        builder = self.extensions.wikidata
        progress = builder.progress() if builder else None
        return {
            "celebrities": svc.gallery.celebrity_count,
            "photos": svc.gallery.photo_count,
            "answers_per_hour": [{"hour": h, "answers": n} for h, n in svc.answers.per_hour()],
            "queue": {"in_flight": svc.admission.in_flight, "limit": svc.admission.limit},
            "pool": {"kind": svc.pool.kind, "workers": svc.pool.workers},
            "calibration": {"available": calibration is not None, "plot": asdict(plot) if plot else None},
            "cluster": {
                "available": cluster is not None,
                "workers": [asdict(w) for w in await cluster.workers()] if cluster else [],
            },
            "wikidata": {
                "available": builder is not None,
                "progress": asdict(progress) if progress else None,
            },
        }

    async def audit(self, request: Request, user: WebAppUser) -> dict:
        source = self.extensions.audit
        if source is None:
            return {"available": False, "suspects": []}
        return {"available": True, "suspects": [asdict(s) for s in await source.suspects()]}

    # Writing

    async def rename(self, request: Request, user: WebAppUser) -> dict:
        body = await _body(request)
        name = await self._known(_text(body, "name"))
        new = await self.gallery.rename(name, _text(body, "new_name"))
        log.info("mini app: admin %s renamed a celebrity", user.id)
        return {"name": new}

    async def add_aliases(self, request: Request, user: WebAppUser) -> dict:
        body = await _body(request)
        name = await self._known(_text(body, "name"))
        raw = body.get("aliases")
        if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw) or len(raw) > 50:
            raise ApiError(400, "bad_request", "aliases must be a list of names")
        added, refused = await self.gallery.add_aliases(name, raw)
        return {"added": added, "refused": [{"alias": a, "reason": why} for a, why in refused]}

    async def remove_alias(self, request: Request, user: WebAppUser) -> dict:
        body = await _body(request)
        name = await self._known(_text(body, "name"))
        return {"removed": await self.gallery.remove_alias(name, _text(body, "alias"))}

    async def remove_celebrity(self, request: Request, user: WebAppUser) -> dict:
        body = await _body(request)
        name = await self._known(_text(body, "name"))
        photos = await self.gallery.remove(name)
        log.info("mini app: admin %s removed a celebrity (%s photos)", user.id, photos)
        return {"removed": name, "photos": photos}

    async def remove_photo(self, request: Request, user: WebAppUser) -> dict:
        body = await _body(request)
        photo_id = body.get("photo_id")
        if not isinstance(photo_id, int) or isinstance(photo_id, bool):
            raise ApiError(400, "bad_request", "photo_id must be a number")
        owner = await self.gallery.remove_photo(photo_id)
        if owner is None:
            raise ApiError(404, "unknown_photo")
        log.info("mini app: admin %s removed photo %s", user.id, photo_id)
        return {"removed": photo_id, "celebrity_left": await self.gallery.find(owner) is not None}

    async def audit_keep(self, request: Request, user: WebAppUser) -> dict:
        source = self.extensions.audit
        if source is None:
            raise ApiError(404, "not_available")
        body = await _body(request)
        wanted = body.get("suspect")
        if not isinstance(wanted, dict):
            raise ApiError(400, "bad_request", "suspect is required")
        # The same finding: its kind and who and which photos (the distance moves as photos come and go).
        for suspect in await source.suspects():
            if all(wanted.get(key) == getattr(suspect, key) for key in SUSPECT_IDENTITY):
                await source.keep(suspect)
                log.info("mini app: admin %s kept an audit finding (%s)", user.id, suspect.kind)
                return {"kept": True}
        raise ApiError(404, "unknown_suspect")

    async def wikidata_build(self, request: Request, user: WebAppUser) -> dict:
        builder = self.extensions.wikidata
        if builder is None:
            raise ApiError(404, "not_available")
        body = await _body(request)
        raw = body.get("items")
        items = items_of(raw) if isinstance(raw, str) else []
        if not items:
            raise ApiError(400, "no_items", "give Q-ids or names")
        if len(items) > MAX_PEOPLE:
            raise ApiError(400, "too_many", f"at most {MAX_PEOPLE} people at once")
        try:
            started = await builder.start(items)
        except NoContact:
            raise ApiError(409, "no_contact", "set WIKIMEDIA_CONTACT in the bot's settings") from None
        if started:
            log.info("mini app: admin %s started a Wikidata build of %s items", user.id, len(items))
        return {"started": started}

    async def _known(self, name: str) -> str:
        """The stored name of `name` (a name or an alias); ApiError 404 when there is no such celebrity."""
        try:
            stored = await self.gallery.find(name)
        except InvalidName:
            stored = None
        if stored is None:
            raise ApiError(404, "unknown_name")
        return stored


def _language(user: WebAppUser) -> str:
    return language(user.language_code)


def _int_param(request: Request, key: str, default: int) -> int:
    try:
        value = int(request.query_params.get(key, default))
    except ValueError:
        raise ApiError(400, "bad_request", f"{key} must be a number") from None
    if not 0 <= value < 10**9:
        raise ApiError(400, "bad_request", f"{key} is out of range")
    return value


async def _body(request: Request) -> dict:
    """A JSON object body (at most `MAX_BODY` bytes)."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(413, "too_large")
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    return body


def _text(body: dict, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "bad_request", f"{key} is required")
    return value
