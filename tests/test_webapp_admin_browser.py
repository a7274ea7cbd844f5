"""The Mini App's Audit and Status features in Chromium, on the real bot and a gallery large enough to fit.

The gallery: the shared photos through the real models — an Obama photo filed under Joe Biden, an Alex
Lacamoire photo under Obama, Kit Harington's photos split between two names — beside the Western development embeddings (20 people, 140
photos, grey thumbnails) so that the similarity calibration is fitted; Wikidata and Commons are the
stand-in of tests/wikimedia/. Screenshots as in test_webapp_browser.py (LOOKALIKE_SCREENSHOTS).
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.faces import Face, FaceModels
from store.calibrate import refit
from store.curate import import_folder
from store.gallery import Gallery
from tests.botapi import FakeBotAPI
from tests.botapi.harness import RunningBot
from tests.paths import REPO, face
from tests.test_webapp_browser import (  # noqa: F401 — browser and screens are fixtures used here
    ADMIN,
    KO_ADMIN,
    App,
    audit_findings,
    browser,
    cli_list,
    expect,
    init_data,
    run_in_thread,
    screens,
    serving_web_app,
)
from tests.wikimedia import WikimediaStandIn, korean_gallery

DEV = REPO.parent / "shared" / "data" / "embeddings-dev.npz"
KIT_HANGUL = "키트 해링턴"


def planted_folder(root: Path) -> Path:
    """Shared photos in the import layout: an Obama photo among Biden's, an Alex Lacamoire photo among
    Obama's, Kit Harington under two names."""
    folder = root / "in"
    shutil.copytree(face("joe_biden"), folder / "joe_biden")
    shutil.copytree(face("lin_manuel_miranda"), folder / "lin_manuel_miranda")
    for person, files in {
        "barack_obama": ["barack_obama/obama.jpg", "barack_obama/obama2.jpg", "barack_obama/obama3.jpg"],
        "kit_harington": ["kit_harington/kit_harington_john1.jpeg", "kit_harington/test_johnsnow_test1.jpg"],
        KIT_HANGUL: ["kit_harington/kit_harington_john2.jpeg"],
    }.items():
        (folder / person).mkdir()
        for relative in files:
            shutil.copy(face(relative), folder / person)
    shutil.copy(face("barack_obama/test_obama1.jpg"), folder / "joe_biden" / "obama_not_biden.jpg")
    shutil.copy(face("alex_lacamoire/alex-lacamoire.png"), folder / "barack_obama" / "alex_not_obama.png")
    return folder


def grey_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (150, 150), (150, 150, 150)).save(buffer, "JPEG")
    return buffer.getvalue()


async def build_gallery(db: Path, folder: Path, models: FaceModels) -> None:
    async def analyze(data: bytes, thorough: bool = False):  # type: ignore[no-untyped-def]
        return models.analyze(data, thorough=thorough)

    async with await Gallery.open(db) as gallery:
        await import_folder(gallery, analyze, folder)
        dev = np.load(DEV)
        thumbnail = grey_jpeg()
        for i, (vector, label) in enumerate(zip(dev["western"], dev["western_labels"], strict=True)):
            found = Face((0, 100, 100, 0), np.asarray(vector, np.float32), thumbnail)
            await gallery.add_face(f"dev {label}", found, f"dev-{i}", source=f"embeddings-dev.npz#{i}")
        assert (await refit(gallery)).fitted


@pytest.fixture(scope="module")
def wm() -> Iterator[WikimediaStandIn]:
    with WikimediaStandIn() as server:
        yield korean_gallery(server)


@pytest.fixture(scope="module")
def bot(api: FakeBotAPI, wm: WikimediaStandIn, tmp_path_factory, models) -> Iterator[RunningBot]:
    if not DEV.is_file():
        pytest.skip(f"the development embeddings are missing: {DEV}")
    root = tmp_path_factory.mktemp("admin-app")
    db = root / "gallery.sqlite"
    run_in_thread(build_gallery(db, planted_folder(root), models))
    wikimedia = {**wm.env, "WIKIMEDIA_TIMEOUT": "2", "WIKIMEDIA_BACKOFF": "0.05"}
    yield from serving_web_app(api, db, f"{ADMIN.id},{KO_ADMIN.id}", **wikimedia)


@pytest.fixture
def app(browser, bot) -> Iterator[App]:  # type: ignore[no-untyped-def]  # noqa: F811
    tab = App(browser, bot.web_app_url)
    yield tab
    tab.close()


def test_the_audit_lists_the_planted_photo_and_the_two_names_and_decisions_stick(app, bot, screens) -> None:  # noqa: F811
    findings = audit_findings(bot.db)
    wrong = {f["name"]: f for f in findings if f["kind"] == "outlier"}
    assert sorted(wrong) == ["barack_obama", "joe_biden"]
    assert wrong["joe_biden"]["source"].endswith("obama_not_biden.jpg")
    assert wrong["barack_obama"]["source"].endswith("alex_not_obama.png")
    [(first, second)] = [f["names"] for f in findings if f["kind"] == "same_person"]
    assert {first, second} == {"kit_harington", KIT_HANGUL}

    app.open(init_data(ADMIN))
    page = app.page
    page.get_by_test_id("tab-audit").click()
    items = page.get_by_test_id("audit-item")
    expect(items).to_have_count(3)
    suspect, odd = (
        page.locator(f'[data-testid="audit-item"][data-photo-id="{wrong[name]["photo_id"]}"]')
        for name in ("joe_biden", "barack_obama")
    )
    expect(suspect.locator("h2")).to_have_text("This photo of joe_biden may be someone else")
    # the suspect photo (outlined) beside Biden's two other photos
    expect(suspect.locator(".strip img.thumb.loaded")).to_have_count(3)
    expect(suspect.locator(".strip img.suspect")).to_have_count(1)
    double = page.locator('[data-testid="audit-item"][data-kind="two_names"]')
    expect(double.locator("h2")).to_have_text(f"{first} and {second} may be one person")
    expect(double.get_by_test_id("audit-strip")).to_have_count(2)  # each name's photos in a strip
    expect(double.locator(".strip img.thumb.loaded")).to_have_count(3)
    expect(double.get_by_test_id("remove-photo")).to_have_count(0)  # two names: nothing to remove
    app.shot(screens, "10-audit")

    suspect.get_by_test_id("remove-photo").click()
    page.get_by_test_id("confirm").click()
    expect(items).to_have_count(2)
    assert [f["name"] for f in audit_findings(bot.db) if f["kind"] == "outlier"] == ["barack_obama"]
    assert cli_list(bot.db)["joe_biden"]["photos"] == 2

    odd.get_by_test_id("audit-keep").click()  # the admin says it is right: kept
    expect(items).to_have_count(1)
    double.get_by_test_id("audit-keep").click()  # different people: keep both
    expect(items).to_have_count(0)
    app.open(init_data(ADMIN))  # a new launch: the kept photo and pair are not reported again
    page.get_by_test_id("tab-audit").click()
    expect(page.get_by_text("Nothing suspect.")).to_be_visible()
    assert audit_findings(bot.db) == []
    listed = cli_list(bot.db)
    assert KIT_HANGUL in listed and listed["barack_obama"]["photos"] == 4
    assert not app.errors and not app.dialogs


def canvas_colours(app: App, testid: str) -> dict[str, int]:
    """How many pixels of the canvas are mostly green, red and blue (the plot's three series)."""
    return app.page.get_by_test_id(testid).evaluate(
        """canvas => {
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            const found = { green: 0, red: 0, blue: 0 };
            for (let i = 0; i < data.length; i += 4) {
                const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
                if (a < 60) continue;
                if (g > r + 40 && g > b + 20) found.green += 1;
                else if (r > g + 60 && r > b + 60) found.red += 1;
                else if (b > r + 60 && b > g + 20) found.blue += 1;
            }
            return found;
        }"""
    )


def test_status_plots_the_fitted_calibration_and_shows_the_workers(app, bot, screens) -> None:  # noqa: F811
    app.open(init_data(ADMIN))
    page = app.page
    page.get_by_test_id("tab-status").click()
    calibration = page.get_by_test_id("status-calibration")
    expect(calibration).to_have_attribute("data-fitted", "true")
    expect(page.get_by_test_id("calibration-note")).to_contain_text("same-person boundary 0.")
    expect(page.get_by_test_id("calibration-note")).to_contain_text("fitted on 2")
    page.wait_for_function("() => document.querySelector('[data-testid=calibration-plot]')")
    page.wait_for_timeout(200)  # drawn on the next animation frame
    colours = canvas_colours(app, "calibration-plot")
    assert colours["green"] > 200 and colours["red"] > 200 and colours["blue"] > 200, colours
    expect(page.get_by_test_id("worker")).to_have_text(
        "this machine (process pool) 1 worker · 0 photos in work"
    )
    app.shot(screens, "11-status-fitted")
    assert not app.errors

    listed = cli_list(bot.db)
    app.open(init_data(KO_ADMIN))  # the same note in Korean, the numbers the server sent
    page.get_by_test_id("tab-status").click()
    expect(page.get_by_test_id("calibration-note")).to_contain_text(  # photos: as at the last refit
        re.compile(rf"; 연예인 {len(listed)}명, 사진 \d+장으로 맞춤\. 막대:")
    )
    expect(page.get_by_test_id("calibration-note")).not_to_contain_text("fitted on")
    assert not app.errors


def test_a_wikidata_build_started_in_the_app_shows_its_progress_until_done(app, bot, wm, screens) -> None:  # noqa: F811
    app.open(init_data(ADMIN))
    page = app.page
    page.get_by_test_id("tab-status").click()
    page.get_by_test_id("wikidata-items").fill("Q1399 Q4717, Nobody Here")
    page.get_by_test_id("wikidata-start").click()
    line = page.get_by_test_id("wikidata-line")
    expect(line).to_contain_text(
        re.compile(r"Running: \d of \d people done")
    )  # shown while it runs (the page asks every 2 s)
    app.shot(screens, "12-wikidata-running")
    expect(line).to_have_text("Done: 1 added, 0 updated, 1 photos added", timeout=120_000)
    notes = page.get_by_test_id("wikidata-progress").locator("li")
    expect(notes.filter(has_text="not found: Nobody Here")).to_have_count(1)
    expect(notes.filter(has_text="no usable photo (1): Alex Lacamoire (Q4717)")).to_have_count(1)
    expect(page.get_by_test_id("wikidata-start")).to_be_enabled()
    listed = cli_list(bot.db)
    assert listed["로즈 레슬리"]["photos"] == 1
    gallery = page.get_by_test_id("status-gallery")  # refreshed with the progress
    expect(gallery).to_contain_text(
        f"{len(listed)} celebrities, {sum(c['photos'] for c in listed.values())} photos"
    )
    expect(page.locator("#toast")).to_be_hidden()
    app.shot(screens, "13-wikidata-done")
    assert wm.requests("wbgetentities")
    assert not app.errors

    english = notes.all_inner_texts()
    app.open(init_data(KO_ADMIN))  # the last build's progress, in Korean
    page.get_by_test_id("tab-status").click()
    expect(page.get_by_test_id("wikidata-line")).to_have_text("완료: 1명 추가, 0명 갱신, 사진 1장 추가")
    expect(notes).to_have_count(len(english))
    expect(
        notes.filter(has_text="찾지 못함: Nobody Here — 위키데이터에 그 이름의 사람이 없어요")
    ).to_have_count(1)
    expect(notes.filter(has_text="쓸 수 있는 사진 없음 (1명): Alex Lacamoire (Q4717)")).to_have_count(1)
    refused = notes.filter(has_text=re.compile(r"^거절된 사진 \d+장: "))
    expect(refused).to_contain_text("라이선스 3장")
    for line in notes.all_inner_texts():  # no English left beside the names
        assert not re.search(
            r"[A-Za-z]{3,}", line.replace("Nobody Here", "").replace("Alex Lacamoire", "")
        ), line
    app.shot(screens, "14-wikidata-done-ko")
    assert not app.errors

    def from_a_newer_bot(route) -> None:  # type: ignore[no-untyped-def]
        """Codes this page has no words for: it shows the English the server sent."""
        response = route.fetch()
        data = response.json()
        for note in data["wikidata"]["progress"]["notes"]:
            note["code"] = "newer_" + note["code"]
        data["calibration"]["plot"]["note_code"] = "newer"
        route.fulfill(response=response, json=data)

    page.route("**/api/status", from_a_newer_bot)
    app.open(init_data(KO_ADMIN))
    page.get_by_test_id("tab-status").click()
    expect(notes).to_have_text(english)
    expect(page.get_by_test_id("calibration-note")).to_contain_text("fitted on ")
    assert not app.errors
