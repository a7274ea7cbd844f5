"""The Mini App's JSON API in-process (httpx over ASGI): the slots later features plug into, and refusals.

The browser tests (test_webapp_browser.py, test_webapp_admin_browser.py) cover the pages and the features
on real galleries; here the slots without a feature, the bot's own sources on a tiny gallery, refusals.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator

import httpx
import numpy as np
import pytest

from bot.webapp.extensions import BuildProgress, Extensions
from bot.webapp.initdata import sign
from bot.webapp.runner import WebApp
from bot.webapp.server import create_app
from bot.webapp.sources import AppWikidataBuild, extensions_for
from engine.faces import Face
from engine.pool import DrawPool, FacePool
from engine.ranking import similarity
from service.services import Admission, AnswerLog, Services
from service.settings import Settings
from store.calibrate import refit
from store.gallery import Gallery
from store.jobs import Jobs
from store.wikidata_build import Report, Unresolved
from tests.botapi.harness import TOKEN
from tests.paths import face
from tests.wikimedia import WikimediaStandIn, korean_gallery

ADMIN_ID = 900


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def header(user_id: int = ADMIN_ID) -> dict[str, str]:
    fields = {"user": json.dumps({"id": user_id, "first_name": "A"}), "auth_date": str(int(time.time()))}
    return {"Authorization": f"tma {sign(fields, TOKEN)}"}


@pytest.fixture
async def services(tmp_path) -> AsyncIterator[Services]:
    rng = np.random.default_rng(5)
    gallery = await Gallery.open(tmp_path / "g.sqlite")
    for i, name in enumerate(["Ann", "Ann", "Bo"]):
        vector = rng.standard_normal(128).astype(np.float32)
        await gallery.add_face(name, Face((0, 90, 90, 0), vector, b"\xff\xd8jpeg"), f"h{i}")
    settings = Settings(telegram_bot_token=TOKEN, admin_ids=frozenset({ADMIN_ID}))  # type: ignore[call-arg]
    pool = FacePool("thread", 1)
    yield Services(settings, gallery, gallery, pool, DrawPool("thread", 1), Jobs(gallery), Admission(8))
    pool.close()
    await gallery.close()


def client(services: Services, extensions: Extensions | None = None) -> httpx.AsyncClient:
    app = create_app(services, extensions)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")


async def test_slots_without_a_feature_say_so_and_invent_nothing(services) -> None:
    async with client(services) as http:
        assert (await http.get("/api/audit", headers=header())).json() == {"available": False, "suspects": []}
        status = (await http.get("/api/status", headers=header())).json()
        assert (status["celebrities"], status["photos"]) == (2, 3)
        assert status["calibration"] == {"available": False, "plot": None}
        assert status["cluster"] == {"available": False, "workers": []}
        assert status["wikidata"] == {"available": False, "progress": None}
        assert len(status["answers_per_hour"]) == 24
        refused = await http.post("/api/wikidata/build", headers=header(), json={})
        assert refused.status_code == 404 and refused.json()["error"] == "not_available"


async def test_the_bots_own_sources_show_the_fixed_curve_and_the_local_pool(services) -> None:
    async with client(services, extensions_for(services)) as http:
        status = (await http.get("/api/status", headers=header())).json()
        plot = status["calibration"]["plot"]
        assert not plot["fitted"] and plot["note"] == "not fitted yet"
        assert (plot["note_code"], plot["note_params"]) == ("not_fitted", {})  # the app words it itself
        assert [d for d, _ in plot["curve"]][:: len(plot["curve"]) - 1] == [0.0, 1.2]
        for distance, percent in plot["curve"]:
            assert percent == pytest.approx(similarity(distance), abs=0.01)  # today's fixed curve
        assert (
            len(plot["same"]) == 1 and len(plot["different"]) == 3
        )  # Ann's one pair; each photo's nearest other
        assert status["cluster"]["workers"] == [{"address": "local thread pool", "in_work": 0, "slots": 1}]
        assert status["wikidata"] == {"available": True, "progress": None}


async def test_the_calibration_reason_and_a_builds_notes_come_as_codes_with_their_numbers(services) -> None:
    extensions = extensions_for(services)
    await refit(services.gallery)  # 2 celebrities: too small to fit
    builder = extensions.wikidata
    assert isinstance(builder, AppWikidataBuild)
    builder._progress = BuildProgress("running", total=3)
    report = Report(added=["로즈 레슬리"], photos_added=1, no_photo=["Alex Lacamoire (Q4717)"])
    report.refused.update({"license": 3, "download_failed (404)": 1})
    report.unresolved += [
        Unresolved("Nobody Here", "no_match"),
        Unresolved("김민수", "ambiguous", {"count": 2, "choices": [["Q901", "김민수"], ["Q902", "김민수"]]}),
    ]
    builder._finish(report)
    async with client(services, extensions) as http:
        status = (await http.get("/api/status", headers=header())).json()
    plot = status["calibration"]["plot"]
    assert plot["note_code"] == "too_small" and plot["note"].startswith("too small to fit: 2 celebrities")
    assert plot["note_params"] == {"celebrities": 2, "paired": 1, "min_celebrities": 10, "min_paired": 5}
    notes = status["wikidata"]["progress"]["notes"]
    assert [n["text"] for n in notes] == report.lines()[1:]  # the English lines, as the CLI prints them
    assert [(n["code"], n["params"]) for n in notes] == [
        (
            "refused",
            {
                "total": 4,
                "reasons": [
                    {"kind": "download_failed", "detail": "404", "count": 1},
                    {"kind": "license", "detail": "", "count": 3},
                ],
            },
        ),
        ("no_photo", {"count": 1, "people": ["Alex Lacamoire (Q4717)"]}),
        ("no_match", {"item": "Nobody Here"}),
        ("ambiguous", {"item": "김민수", "count": 2, "choices": [["Q901", "김민수"], ["Q902", "김민수"]]}),
    ]


async def test_the_workers_row_counts_the_photos_in_the_pool(services) -> None:
    data = face("rose_leslie/rose_leslie_img1.jpg").read_bytes()
    async with client(services, extensions_for(services)) as http:
        working = asyncio.create_task(services.pool.analyze(data))
        await asyncio.sleep(0)  # the photo is in the pool
        status = (await http.get("/api/status", headers=header())).json()
        assert status["cluster"]["workers"] == [{"address": "local thread pool", "in_work": 1, "slots": 1}]
        assert len((await working).faces) == 1
        status = (await http.get("/api/status", headers=header())).json()
        assert status["cluster"]["workers"][0]["in_work"] == 0


async def test_new_endpoints_refuse_strangers_and_bad_requests_without_starting_anything(services) -> None:
    extensions = extensions_for(services)
    async with client(services, extensions) as http:
        for path, body in [("/api/audit/keep", {"suspect": {"kind": "wrong_photo", "photo_id": 1}}),
                           ("/api/wikidata/build", {"items": "Q76"})]:  # fmt: skip
            for headers in ({}, header(user_id=901), {"Authorization": "tma " + "x" * 40}):
                answer = await http.post(path, headers=headers, json=body)
                assert answer.status_code == 403, (path, headers)
        assert (await http.get("/api/audit", headers=header(user_id=901))).status_code == 403
        cases = [
            ("/api/wikidata/build", {"items": " , \n"}, 400, "no_items"),
            ("/api/wikidata/build", {"items": ", ".join(f"Q{i}" for i in range(1, 22))}, 400, "too_many"),
            ("/api/wikidata/build", {"items": ["Q76"]}, 400, "no_items"),
            ("/api/audit/keep", {"suspect": "Ann"}, 400, "bad_request"),
            ("/api/audit/keep", {"suspect": {"kind": "wrong_photo", "name": "Ann", "photo_id": 1}}, 404, "unknown_suspect"),
        ]  # fmt: skip
        for path, body, status, code in cases:
            answer = await http.post(path, headers=header(), json=body)
            assert (answer.status_code, answer.json()["error"]) == (status, code), (path, body)
    assert extensions.wikidata.progress() is None  # type: ignore[union-attr]


async def test_a_build_against_the_public_wikimedia_without_a_contact_is_not_started(
    services, monkeypatch
) -> None:
    for key in ("WIKIMEDIA_CONTACT", "WIKIMEDIA_USER_AGENT", "WIKIDATA_API_URL", "WIKIDATA_SPARQL_URL",
                "COMMONS_API_URL"):  # fmt: skip
        monkeypatch.delenv(key, raising=False)
    extensions = extensions_for(services)
    async with client(services, extensions) as http:
        answer = await http.post("/api/wikidata/build", headers=header(), json={"items": "Q76"})
    assert (answer.status_code, answer.json()["error"]) == (409, "no_contact")
    assert extensions.wikidata.progress() is None  # type: ignore[union-attr]
    assert await services.gallery.kept_photos() == set()


async def test_nothing_answers_without_an_admins_launch_data(services) -> None:
    async with client(services) as http:
        for method, path in [("GET", "/api/celebrities"), ("GET", "/api/photo/1/thumbnail"),
                             ("POST", "/api/photo/remove"), ("POST", "/api/celebrity/remove")]:  # fmt: skip
            for headers in ({}, header(user_id=901), {"Authorization": "Bearer x"}):
                answer = await http.request(
                    method, path, headers=headers, json={"photo_id": 1, "name": "Ann"}
                )
                assert answer.status_code == 403, (path, headers)
        assert services.gallery.photo_count == 3
        page = await http.get("/")
        assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
        assert "<script>" not in page.text and " style=" not in page.text


async def test_bad_requests_get_a_clear_answer_and_change_nothing(services) -> None:
    async with client(services) as http:
        cases = [
            ("/api/photo/remove", b'{"photo_id": "1"}', 400),
            ("/api/photo/remove", b'{"photo_id": 999}', 404),
            ("/api/photo/remove", b"not json", 400),
            ("/api/celebrity/rename", b'{"name": "Ann", "new_name": "Bo"}', 409),
            ("/api/celebrity/rename", b'{"name": "Nobody", "new_name": "X"}', 404),
            ("/api/celebrity/aliases/add", b'{"name": "Ann", "aliases": "x"}', 400),
        ]
        for path, body, status in cases:
            answer = await http.post(path, headers=header(), content=body)
            assert answer.status_code == status and answer.json()["error"], (path, body)
        assert services.gallery.photo_count == 3
        assert await services.gallery.find("Ann") == "Ann"


async def test_the_server_starts_in_this_loop_refuses_a_taken_port_and_stops(services) -> None:
    port = free_port()
    web_app = await WebApp.start(services, "127.0.0.1", port)
    try:
        async with httpx.AsyncClient() as http:
            page = await http.get(f"http://127.0.0.1:{port}/")
            assert page.status_code == 200 and "static/app.js" in page.text
        with pytest.raises(OSError):
            await WebApp.start(services, "127.0.0.1", port)
    finally:
        await web_app.stop()
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")


def test_answers_are_counted_per_hour_over_the_last_day() -> None:
    log = AnswerLog()
    now = 1_000 * 3600 + 1800.0  # half past some hour
    for seconds_ago in (0, 60, 3600, 23 * 3600, 24 * 3600, 30 * 3600):
        log.note(now - seconds_ago)
    hours = log.per_hour(now)
    assert len(hours) == 24 and hours[-1] == (1_000 * 3600, 2)
    assert [count for _, count in hours] == [1] + [0] * 21 + [1, 2]  # older than a day: gone


async def test_one_app_build_at_a_time_and_the_bots_stop_ends_it(services, monkeypatch) -> None:
    with WikimediaStandIn() as wm:
        for key, value in korean_gallery(wm).env.items():
            monkeypatch.setenv(key, value)
        builder = extensions_for(services).wikidata
        assert builder is not None
        assert await builder.start(["Q1399"]) is True
        assert await builder.start(["Q76"]) is False  # the first one is still running
        await Extensions(wikidata=builder).close()
    progress = builder.progress()
    assert progress is not None and (progress.state, progress.detail) == ("failed", "stopped with the bot")
    assert not [r for r in wm.requests("wbgetentities") if "Q76" in r.query.get("ids", "")]
