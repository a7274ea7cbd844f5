"""Building a gallery from Wikidata and Commons, against the stand-in of the three services on 127.0.0.1.

The client's manners and faults (User-Agent, maxlag, at most 4 at once, 429 with Retry-After, 503, maxlag
errors, timeouts, bodies cut short, a service that stays down), the build (names, aliases, ids, photos,
licences, credits, refusals by reason; a rerun changes nothing) and the real `lookalike wikidata` process
killed half-way and finished by a rerun. The expected gallery is in tests/wikimedia/scenario.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.faces import Analysis, FaceModels
from service.settings import WikimediaSettings
from service.wikidata import build_people, wikimedia_client
from store.commons_licence import license_verdict
from store.gallery import Gallery
from store.html_text import plain_text
from store.wikimedia import Endpoints, NoContact, Wikimedia, WikimediaError
from tests.paths import REPO, face
from tests.wikimedia import StandInPerson, WikimediaStandIn, korean_gallery

ITEMS = ["오바마", "Q6279", "Kit Harington", "Q1399", "Q4717", "Q14624", "김민수", "Nobody Here", "Q999999"]
EXPECTED_PHOTOS = {"버락 오바마": 3, "조 바이든": 2, "키트 해링턴": 2, "로즈 레슬리": 1}
EXPECTED_IDS = {"버락 오바마": "Q76", "조 바이든": "Q6279", "키트 해링턴": "Q3568", "로즈 레슬리": "Q1399"}


@pytest.fixture
def wm() -> Iterator[WikimediaStandIn]:
    with WikimediaStandIn() as server:
        yield korean_gallery(server)


def client_for(wm: WikimediaStandIn, **kwargs: float) -> Wikimedia:
    env = wm.env
    endpoints = Endpoints(env["WIKIDATA_API_URL"], env["WIKIDATA_SPARQL_URL"], env["COMMONS_API_URL"])
    return Wikimedia(
        endpoints, "lookalike-tests/1.0 (https://example.org/tests; tests@example.org)", **kwargs
    )


def search(client: Wikimedia, text: str = "오바마") -> dict:
    return asyncio.run(
        client.api(
            client.endpoints.wikidata_api, {"action": "wbsearchentities", "search": text, "language": "ko"}
        )
    )


# The client


def test_every_request_names_a_contact_and_api_calls_ask_for_maxlag(wm) -> None:
    async def calls() -> None:
        async with wikimedia_client(WikimediaSettings(**_settings(wm))) as client:
            await client.api(client.endpoints.wikidata_api, {"action": "wbgetentities", "ids": "Q76"})
            await client.sparql("SELECT ?item WHERE { ?item wdt:P31 wd:Q5 }")
            await client.download(f"{wm.url}/thumb/320/Obama_2.jpg")

    asyncio.run(calls())
    logged = wm.requests()
    assert [e.kind for e in logged] == ["wbgetentities", "sparql", "thumb"]
    assert all(e.user_agent == "my-bot/2.0 (mailto:admin@example.org)" for e in logged)
    assert logged[0].query["maxlag"] == "5" and logged[0].query["format"] == "json"
    assert "wdt:P31" in logged[1].query["query"]
    before = len(
        wm.requests()
    )  # without WIKIMEDIA_USER_AGENT: the project's own, with the operator's contact
    contact = {"wikimedia_user_agent": None, "wikimedia_contact": "https://example.org/our-bot"}
    asyncio.run(_one_search(wikimedia_client(WikimediaSettings(**{**_settings(wm), **contact}))))
    agent = wm.requests()[before].user_agent
    assert agent.startswith("lookalike") and "https://example.org/our-bot" in agent


def test_the_public_endpoints_are_never_asked_without_a_contact(tmp_path) -> None:
    public = {"wikimedia_user_agent": None, "wikimedia_contact": None}
    with pytest.raises(NoContact):
        wikimedia_client(WikimediaSettings(**public, _env_file=None))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIKIMEDIA_", "WIKIDATA_", "COMMONS_"))}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(tmp_path / "g.sqlite"), "wikidata", "Q76"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2 and "WIKIMEDIA_CONTACT" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "g.sqlite").exists()


def _settings(wm: WikimediaStandIn) -> dict:
    return {
        "wikidata_api_url": wm.env["WIKIDATA_API_URL"],
        "wikidata_sparql_url": wm.env["WIKIDATA_SPARQL_URL"],
        "commons_api_url": wm.env["COMMONS_API_URL"],
        "wikimedia_user_agent": "my-bot/2.0 (mailto:admin@example.org)",
    }


async def _one_search(client: Wikimedia) -> None:
    async with client:
        await client.api(client.endpoints.wikidata_api, {"action": "wbsearchentities", "search": "x"})


def test_a_429_is_retried_after_the_seconds_its_retry_after_asks(wm) -> None:
    wm.fail("wbsearchentities", "429", retry_after=1)
    body = search(client_for(wm, backoff=0.01))
    assert body["search"][0]["id"] == "Q76"
    first, second = wm.requests("wbsearchentities")
    assert first.answered == "429" and second.answered == "ok"
    assert second.at - first.at >= 0.95  # Retry-After: 1, although the backoff alone would be 10 ms


@pytest.mark.parametrize("mode", ["503", "maxlag", "html"])
def test_server_errors_maxlag_and_error_pages_are_retried(wm, mode) -> None:
    wm.fail("wbsearchentities", mode, times=2, retry_after=0)
    assert search(client_for(wm, backoff=0.01))["search"][0]["id"] == "Q76"
    assert [e.answered for e in wm.requests("wbsearchentities")] == [mode, mode, "ok"]


def test_a_request_that_times_out_is_retried(wm) -> None:
    wm.fail("wbsearchentities", "timeout", delay=3)
    assert search(client_for(wm, timeout=0.5, backoff=0.01))["search"][0]["id"] == "Q76"
    assert [e.answered for e in wm.requests("wbsearchentities")] == ["timeout", "ok"]


def test_a_download_cut_short_is_fetched_again_whole(wm) -> None:
    wm.fail("thumb", "truncate")
    url = f"{wm.url}/thumb/1024/Obama_2.jpg"

    async def fetch() -> bytes:
        async with client_for(wm, backoff=0.01) as client:
            return await client.download(url)

    data = asyncio.run(fetch())
    assert [e.answered for e in wm.requests("thumb")] == ["truncate", "ok"]
    assert data[:2] == b"\xff\xd8" and data.endswith(b"\xff\xd9")  # a whole JPEG


def test_a_service_that_stays_down_is_an_error_after_the_attempts(wm) -> None:
    wm.fail("wbsearchentities", "503", times=100, retry_after=0)
    with pytest.raises(WikimediaError, match=r"HTTP 503 \(gave up after 3 attempts\)"):
        search(client_for(wm, attempts=3, backoff=0.01))
    assert len(wm.requests("wbsearchentities")) == 3


def test_at_most_four_requests_are_in_flight_at_once(wm) -> None:
    wm.fail("thumb", "timeout", times=12, delay=0.3)  # each download takes 0.3 s: they overlap

    async def twelve() -> None:
        async with client_for(wm, timeout=5) as client:
            await asyncio.gather(*(client.download(f"{wm.url}/thumb/64/Obama_2.jpg") for _ in range(12)))

    asyncio.run(twelve())
    assert len(wm.requests("thumb")) == 12
    assert wm.max_in_flight == 4


@pytest.mark.parametrize(
    ("short", "code", "usable"),
    [
        ("Public domain", "pd", True),
        ("CC0", "cc0", True),
        ("CC BY 2.0", "cc-by-2.0", True),
        ("CC BY-SA 3.0 kr", "cc-by-sa-3.0-kr", True),
        ("CC BY-SA 4.0", "", True),
        ("CC BY-NC 2.0", "cc-by-nc-2.0", False),
        ("CC BY-NC-SA 4.0", "cc-by-nc-sa-4.0", False),
        ("CC BY-ND 4.0", "cc-by-nd-4.0", False),
        ("Fair use", "", False),
        ("GFDL", "gfdl", False),
        ("", "", False),
    ],
)
def test_only_licences_that_allow_reuse_with_credit_are_usable(short, code, usable) -> None:
    meta = {"LicenseShortName": {"value": short}, "License": {"value": code}}
    name, refusal = license_verdict(meta)
    assert (refusal == "") is usable
    assert name == (short or code)


def test_authors_given_as_html_become_plain_text() -> None:
    html = '<a href="//commons.wikimedia.org/wiki/User:K" title="User:K">김사진</a> (<span>Kim &amp; Co.</span>)\n'
    assert plain_text(html) == "김사진 (Kim & Co.)"


# The build, in process (the real face models, one at a time)


async def _build(wm: WikimediaStandIn, db: Path, models: FaceModels, items: list[str], photos: int = 3):
    one_at_a_time = asyncio.Lock()  # one dlib detector is not safe in two threads at once

    async def analyze(data: bytes, thorough: bool = False) -> Analysis:
        async with one_at_a_time:
            return await asyncio.to_thread(models.analyze, data, thorough=thorough)

    async with await Gallery.open(db) as gallery:
        report = await build_people(
            gallery, analyze, items, photos=photos, client=client_for(wm, backoff=0.01)
        )
        celebrities = await gallery.celebrities()
        records = await gallery.photo_records()
    return report, celebrities, records


def test_people_become_celebrities_with_names_aliases_ids_and_credited_photos_and_a_rerun_only_updates(
    wm, tmp_path, models
) -> None:
    db = tmp_path / "g.sqlite"
    report, celebrities, records = asyncio.run(_build(wm, db, models, ITEMS))

    assert {c.name: c.photos for c in celebrities} == EXPECTED_PHOTOS
    assert {c.name: c.wikidata for c in celebrities} == EXPECTED_IDS
    obama = next(c for c in celebrities if c.name == "버락 오바마")
    assert {"Barack Obama", "오바마", "Obama", "Barack Hussein Obama II"} <= set(obama.aliases)
    assert sorted(report.added) == sorted(EXPECTED_PHOTOS) and report.photos_added == 8
    assert report.refused == Counter(license=6, several_faces=3, bad_image=1, face_too_small=1)
    assert report.no_photo == ["Alex Lacamoire (Q4717)"]
    unresolved = {u.item: u.why for u in report.unresolved}
    assert unresolved["김민수"].startswith("ambiguous: 2 people") and "Q901" in unresolved["김민수"]
    assert unresolved["Nobody Here"] == "no person of that name on Wikidata"
    assert "not a person" in unresolved["Q14624"] and unresolved["Q999999"] == "no such Wikidata item"

    credits = {r.source.rsplit("/", 1)[-1]: r.credit for r in records}
    assert credits["File:Obama_portrait_2012.jpg"].author == "Pete Souza, The White House"
    assert credits["File:Obama_portrait_2012.jpg"].license == "Public domain"
    assert credits["File:Obama_2.jpg"].author == "김사진 (Kim & Co.)"
    assert credits["File:Obama_2.jpg"].license_url == "https://creativecommons.org/licenses/by/2.0"
    assert all(r.credit.source_page == r.source for r in records)

    thumbs = [e.query["name"] for e in wm.requests("thumb")]
    assert not wm.requests("original")  # thumbnails only, never the originals
    assert {e.query["width"] for e in wm.requests("thumb")} == {"1024"}
    assert "Obama 4.jpg" not in thumbs  # three usable Obama photos were enough
    assert not {"Obama at a rally (NC).jpg", "Rose Leslie 2.jpg", "Obama fair use.jpg"} & set(thumbs)
    assert any("cmcontinue" in e.query for e in wm.requests("categorymembers"))

    # Run again: nothing is downloaded again (refused files are remembered, added ones known); only updates.
    downloads = len(wm.requests("thumb"))
    wm.people["Q76"].aliases["ko"].append("버락")  # Wikidata learnt another name meanwhile
    again, after, records_after = asyncio.run(_build(wm, db, models, ITEMS))
    assert len(wm.requests("thumb")) == downloads
    assert again.photos_added == 0 and sorted(again.updated) == sorted(EXPECTED_PHOTOS) and not again.added
    assert records_after == records
    assert [(c.name, c.photos, c.wikidata) for c in after] == [
        (c.name, c.photos, c.wikidata) for c in celebrities
    ]
    assert "버락" in next(c for c in after if c.wikidata == "Q76").aliases


def test_more_photos_later_adds_only_the_missing_ones(wm, tmp_path, models) -> None:
    db = tmp_path / "g.sqlite"
    asyncio.run(_build(wm, db, models, ["Q76"], photos=2))
    report, celebrities, _ = asyncio.run(_build(wm, db, models, ["Q76"], photos=4))
    assert [(c.name, c.photos) for c in celebrities] == [("버락 오바마", 4)]
    assert report.photos_added == 2 and report.updated == ["버락 오바마"]


def test_a_celebrity_added_by_hand_is_linked_and_a_namesake_gets_its_id(wm, tmp_path, models) -> None:
    db = tmp_path / "g.sqlite"

    async def by_hand() -> None:
        async with await Gallery.open(db) as gallery:
            analysis = models.analyze(face("rose_leslie/rose_leslie_img2.jpg"))
            await gallery.add_face("로즈 레슬리", analysis.faces[0], "hand-added")

    asyncio.run(by_hand())
    asyncio.run(_build(wm, db, models, ["Q1399"], photos=2))
    wm.add_person(StandInPerson("Q77", {"ko": "로즈 레슬리"}, images=["Kit Harington 1.jpeg"]))  # a namesake
    _, celebrities, _ = asyncio.run(_build(wm, db, models, ["Q77"], photos=2))
    by_id = {c.wikidata: (c.name, c.photos) for c in celebrities}
    assert by_id == {"Q1399": ("로즈 레슬리", 2), "Q77": ("로즈 레슬리 (Q77)", 1)}


# The real command, killed half-way


def lookalike(wm: WikimediaStandIn, *args: str, db: Path, **popen: object) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WIKI", "COMMONS", "LOOKALIKE_"))}
    env.update(wm.env, WIKIMEDIA_TIMEOUT="1", WIKIMEDIA_BACKOFF="0.05", PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--db", str(db), *args],
        env=env,
        cwd=db.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: a kill reaches its face workers too
        **popen,
    )


def finished(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    assert "Traceback" not in err, err
    return process.returncode, out, err


def gallery_state(db: Path) -> tuple:
    """Everything a run decides: names, ids, aliases, and each photo's bytes (hash) and credit."""
    with sqlite3.connect(db) as con:
        people = sorted(con.execute("SELECT name, wikidata FROM celebrity"))
        aliases = sorted(
            con.execute("SELECT c.name, a.name FROM alias a JOIN celebrity c ON c.id = a.celebrity_id")
        )
        photos = sorted(
            con.execute(
                "SELECT c.name, p.sha256, p.source, p.author, p.license, p.license_url, p.source_page "
                "FROM photo p JOIN celebrity c ON c.id = p.celebrity_id"
            )
        )
    return people, aliases, photos


def stop_after_downloads(
    wm: WikimediaStandIn, query: Path, db: Path, downloads: int, signum: int
) -> subprocess.Popen[str]:
    """Start `lookalike wikidata --sparql`, and send `signum` to its process group after `downloads` more
    thumbnails were fetched (as the stand-in's log sees them); the process once it has ended."""
    mark = len(wm.requests("thumb"))
    process = lookalike(wm, "wikidata", "--sparql", str(query), "--photos", "3", db=db)
    deadline = time.monotonic() + 240
    while (
        len(wm.requests("thumb")) < mark + downloads
        and process.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.02)
    assert process.poll() is None, process.communicate()
    os.killpg(process.pid, signum)
    process.wait(60)
    if signum == signal.SIGKILL:
        process.communicate(timeout=30)
        assert process.returncode == -signal.SIGKILL
    return process


def test_a_run_killed_half_way_is_finished_by_a_rerun_with_the_same_gallery(wm, tmp_path) -> None:
    items = tmp_path / "items.txt"
    items.write_text(
        "# Korean labels, names, ids\n오바마\nQ6279\n\nKit Harington\nQ1399\nQ4717\n", encoding="utf-8"
    )
    query = tmp_path / "people.rq"
    query.write_text(
        "SELECT ?item ?itemLabel WHERE { ?item wdt:P31 wd:Q5; wdt:P18 ?image. }", encoding="utf-8"
    )
    for kind, mode in [("imageinfo", "429"), ("categorymembers", "503"), ("wbgetentities", "maxlag"),
                       ("thumb", "timeout"), ("thumb", "truncate")]:  # fmt: skip
        wm.fail(kind, mode, retry_after=1, delay=3, after=1)

    whole = tmp_path / "whole.sqlite"
    status, out, _ = finished(lookalike(wm, "wikidata", "--from", str(items), "--photos", "3", db=whole))
    assert status == 0
    assert "people added 4, updated 0; photos added 8" in out
    assert "no usable photo (1): Alex Lacamoire (Q4717)" in out
    assert {e.answered for e in wm.requests()} >= {"429", "503", "maxlag", "timeout", "truncate"}

    killed = tmp_path / "killed.sqlite"
    interrupted = stop_after_downloads(wm, query, killed, 2, signal.SIGINT)  # Ctrl-C: the whole group
    assert interrupted.returncode == 130 and "lookalike: interrupted" in interrupted.communicate()[1]
    stop_after_downloads(wm, query, killed, 6, signal.SIGKILL)
    half = gallery_state(killed)
    assert 0 < len(half[2]) < 8  # some photos in, not all

    status, out, _ = finished(lookalike(wm, "wikidata", "--sparql", str(query), "--photos", "3", db=killed))
    assert status == 0 and "photos added" in out
    assert gallery_state(killed) == gallery_state(whole)

    listing = finished(lookalike(wm, "list", "--json", db=killed))[1]
    assert '"wikidata": "Q76"' in listing and '"오바마"' in listing
    credits = finished(lookalike(wm, "credits", "오바마", "--json", db=killed))[1].splitlines()
    assert len(credits) == 3 and all(
        '"license_url"' in line and '"source": "http' in line for line in credits
    )


def test_bad_usage_and_unreachable_services_exit_non_zero(wm, tmp_path) -> None:
    status, _, err = finished(lookalike(wm, "wikidata", db=tmp_path / "g.sqlite"))
    assert status == 2 and "give ITEMs" in err
    status, _, err = finished(lookalike(wm, "wikidata", "Q76", "--photos", "0", db=tmp_path / "g.sqlite"))
    assert status == 2
    wm.fail("wbgetentities", "503", times=100, retry_after=0)
    status, _, err = finished(lookalike(wm, "wikidata", "Q76", db=tmp_path / "g.sqlite"))
    assert status == 1 and "HTTP 503 (gave up after" in err and "run the same command again" in err
    assert len(err.strip().splitlines()) == 1


def test_import_reads_credits_csv_beside_the_photos_and_refuses_a_broken_one(wm, tmp_path) -> None:
    source = tmp_path / "celebs"
    (source / "Joe Biden").mkdir(parents=True)
    (source / "Joe Biden" / "a.jpg").write_bytes(face("joe_biden/biden.jpg").read_bytes())
    (source / "Rose Leslie.jpg").write_bytes(face("rose_leslie/rose_leslie_img1.jpg").read_bytes())
    db = tmp_path / "g.sqlite"
    (source / "credits.csv").write_text("path;author\nRose Leslie.jpg;X\n", encoding="utf-8")
    status, _, err = finished(lookalike(wm, "import", str(source), db=db))
    assert status == 4 and "credits.csv: the first line must name the columns" in err
    assert not db.exists() or not gallery_state(db)[2]  # nothing imported

    (source / "credits.csv").write_text(
        "path,author,license,license_url,source\n"
        "Joe Biden/a.jpg,조 사진가,CC BY-SA 4.0,https://creativecommons.org/licenses/by-sa/4.0,https://example.org/a\n",
        encoding="utf-8",
    )
    assert finished(lookalike(wm, "import", str(source), db=db))[0] == 0
    lines = finished(lookalike(wm, "credits", "--json", db=db))[1].splitlines()
    by_name = {json.loads(line)["name"]: json.loads(line) for line in lines}
    assert by_name["Joe Biden"] == {
        "name": "Joe Biden",
        "photo_id": by_name["Joe Biden"]["photo_id"],
        "author": "조 사진가",
        "license": "CC BY-SA 4.0",
        "license_url": "https://creativecommons.org/licenses/by-sa/4.0",
        "source": "https://example.org/a",
    }
    assert by_name["Rose Leslie"]["author"] == "" and by_name["Rose Leslie"]["source"].endswith(
        "Rose Leslie.jpg"
    )
    status, _, err = finished(lookalike(wm, "credits", "Nobody", db=db))
    assert status == 1 and "no celebrity called 'Nobody'" in err
