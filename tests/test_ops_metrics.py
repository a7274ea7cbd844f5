"""The operator's view, end to end: the real bot (METRICS_PORT set) in front of a real Dask cluster, scraped
every second by a real Prometheus server (Debian's /usr/bin/prometheus), with selfies and bad photos sent
through the stand-in Bot API server; `/readyz` before the cluster has a worker and after; Dask's own
metrics on the scheduler's and the worker's METRICS_PORT.

The window "no worker yet" is the cluster's: the scheduler runs, no `lookalike worker` does until the test
starts one, so the bot is up but cannot analyse — for as long as the test needs, not a race. A selfie sent
then waits for a worker (LOOKALIKE_CLUSTER_WAIT is long), which makes "one photo at a time" (busy) for its
sender deterministic too.

The tests of this module run in order, on one bot, one cluster and one Prometheus.
"""

from __future__ import annotations

import io
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from tests.botapi import FakeBotAPI, User, group
from tests.botapi.harness import RunningBot, next_message
from tests.cluster_harness import Cluster, LoggedProcess, free_port
from tests.paths import photo

PROMETHEUS = Path("/usr/bin/prometheus")
OUTCOMES = ("match", "no_face", "unreadable", "busy", "error")
WAITER = User(7001, "Waiter")  # sends a selfie while no worker is connected
# Every label the bot's own metrics may carry: none can hold a user, a chat or anything a user sent.
ALLOWED_LABELS = {"outcome", "method", "kind", "le"}

pytestmark = pytest.mark.skipif(
    not PROMETHEUS.is_file(), reason="Debian's prometheus is not installed (.ci/run installs it)"
)


class PrometheusServer(LoggedProcess):
    """`/usr/bin/prometheus` on 127.0.0.1, scraping `targets` every second; its data in `folder`."""

    name = "prometheus"

    def __init__(self, folder: Path, targets: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = folder / "prometheus.yml"
        jobs = "".join(
            f"  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
            for job, target in targets.items()
        )
        config.write_text(
            f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n{jobs}",
            encoding="utf-8",
        )
        self.log_path = folder / "prometheus.log"
        self._log = self.log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [
                str(PROMETHEUS),
                f"--config.file={config}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=folder,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}:\n{self.log}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"prometheus never became ready:\n{self.log}")

    def query(self, promql: str) -> list[dict]:
        """The instant vector of `promql` (Prometheus' HTTP API, /api/v1/query)."""
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10).json()
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def wait_for(self, promql: str, expected: dict[str, float], label: str = "", timeout: float = 90) -> None:
        """Poll `promql` until its series, keyed by `label`'s value, equal `expected`."""
        deadline = time.monotonic() + timeout
        seen: dict[str, float] = {}
        while time.monotonic() < deadline:
            seen = {r["metric"].get(label, ""): float(r["value"][1]) for r in self.query(promql)}
            if seen == expected:
                return
            time.sleep(0.5)
        raise AssertionError(f"{promql}: Prometheus says {seen}, expected {expected}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ops")


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    return {"bot": free_port(), "scheduler": free_port(), "worker": free_port()}


@pytest.fixture(scope="module")
def cluster(folder: Path, ports: dict[str, int]) -> Iterator[Cluster]:
    running = Cluster(folder, scheduler_env={"METRICS_PORT": str(ports["scheduler"])})
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def prometheus(folder: Path, ports: dict[str, int]) -> Iterator[PrometheusServer]:
    """Started before the bot: it scrapes the start-up too."""
    server = PrometheusServer(folder, {"lookalike": f"127.0.0.1:{ports['bot']}"})
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def bot(
    api: FakeBotAPI, cluster: Cluster, prometheus: PrometheusServer, folder: Path, ports: dict[str, int]
) -> Iterator[RunningBot]:
    running = RunningBot(
        api,
        folder / "gallery.sqlite",
        env=cluster.bot_env(METRICS_PORT=str(ports["bot"]), LOOKALIKE_CLUSTER_WAIT="900"),
    )
    yield running
    assert running.stop() == 0


def get(port: int, path: str) -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=10)


def scrape(port: int) -> dict[str, list]:
    """The bot's /metrics, parsed with the client library's own parser: family name → samples."""
    response = get(port, "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {f.name: f.samples for f in text_string_to_metric_families(response.text)}


def blank_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (90, 140, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def test_readyz_says_why_while_no_worker_can_take_work_and_healthz_is_fine(bot, ports) -> None:
    ready = get(ports["bot"], "/readyz")
    assert ready.status_code == 503
    assert "\n" not in ready.text.strip()
    assert json.loads(ready.text) == {
        "ready": False,
        "reason": "no face worker can take work (no Dask worker connected to the cluster)",
    }
    health = get(ports["bot"], "/healthz")
    assert health.status_code == 200 and health.json() == {"healthy": True}
    assert "dask_" not in get(ports["bot"], "/metrics").text  # the bot is a client, not a Dask server


def test_a_selfie_waiting_for_a_worker_is_in_flight_and_its_senders_next_photo_is_busy(
    api, bot, ports
) -> None:
    api.send_photo(WAITER, photo("barack_obama/obama-240p.jpg"))
    api.wait_for_request_sync("sendChatAction", lambda r: r["params"]["chat_id"] == WAITER.id, timeout=120)
    refused = next_message(api, WAITER.id, lambda: api.send_photo(WAITER, photo("joe_biden/biden.jpg")))
    assert "one at a time" in refused["text"]
    families = scrape(ports["bot"])
    assert [s.value for s in families["lookalike_photos_in_flight"]] == [1.0]
    assert [s.value for s in families["lookalike_photos_waiting"]] == [0.0]  # it holds the one place
    assert [s.value for s in families["lookalike_workers"]] == [0.0]
    answers = {
        s.labels["outcome"]: s.value for s in families["lookalike_answers"] if s.name.endswith("_total")
    }
    assert answers == {"match": 0.0, "no_face": 0.0, "unreadable": 0.0, "busy": 1.0, "error": 0.0}


def test_readyz_turns_ready_once_a_worker_joins_and_the_waiting_selfie_is_answered(
    api, cluster, bot, ports
) -> None:
    mark = len(api.sent)
    cluster.add_worker(1, env={"METRICS_PORT": str(ports["worker"])})
    deadline = time.monotonic() + 60
    while (ready := get(ports["bot"], "/readyz")).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (ready.status_code, ready.json()) == (200, {"ready": True})
    answer = api.wait_for_sent_sync(chat_id=WAITER.id, start=mark, timeout=120)[0]
    assert answer["method"] == "sendPhoto" and "Barack Obama" in answer["caption"].splitlines()[1]


def test_prometheus_counts_every_photo_answered_by_outcome(api, bot, prometheus, ports) -> None:
    # Before: the waiter's selfie (match) and its refused second photo (busy).
    sent = {"match": 1, "no_face": 0, "unreadable": 0, "busy": 1, "error": 0}
    selfies = [
        "barack_obama/obama_small.jpg",
        "rose_leslie/rose_leslie_img2.jpg",
        "kit_harington/kit_harington_john2.jpeg",
    ]
    for n, selfie in enumerate(selfies):
        user = User(7100 + n, f"Selfie{n}")
        answer = next_message(api, user.id, lambda u=user, p=selfie: api.send_photo(u, photo(p)))
        assert answer["method"] == "sendPhoto"
        sent["match"] += 1
    nobody = User(7200, "Nobody")
    api.inject("sendMessage", status=502)  # the no-face answer's first try: retried, and counted
    assert (
        "could not find a face"
        in next_message(api, nobody.id, lambda: api.send_photo(nobody, blank_png()))["text"]
    )
    sent["no_face"] += 1
    cut = User(7201, "Cut")
    truncated = photo("barack_obama/obama.jpg")[:5000]
    text = next_message(api, cut.id, lambda: api.send_document(cut, truncated, "cut.jpg", "image/jpeg"))[
        "text"
    ]
    assert "could not read" in text
    sent["unreadable"] += 1
    pdf = User(7202, "Pdf")
    text = next_message(
        api, pdf.id, lambda: api.send_document(pdf, b"%PDF-1.4 no", "cv.pdf", "application/pdf")
    )
    assert "not an image" in text["text"]
    sent["unreadable"] += 1
    # In a group: a captioned photo, and a game entry.
    friends = group(-7300, "Friends")
    ann, bob = User(7301, "Ann"), User(7302, "Bob")
    reply = next_message(
        api, friends.id, lambda: api.send_photo(ann, photo("joe_biden/biden.jpg"), "/lookalike", chat=friends)
    )
    assert reply["method"] == "sendPhoto"
    sent["match"] += 1
    round_ = next_message(api, friends.id, lambda: api.send_text(ann, "/game Barack Obama", chat=friends))
    entry = next_message(
        api,
        friends.id,
        lambda: api.send_photo(
            bob, photo("barack_obama/obama2.jpg"), chat=friends, reply_to=round_["message"]
        ),
    )
    assert "Bob" in entry["text"]
    sent["match"] += 1
    entry = next_message(
        api, friends.id, lambda: api.send_photo(ann, blank_png(), chat=friends, reply_to=round_["message"])
    )
    assert "Ann" in entry["text"]
    sent["no_face"] += 1

    prometheus.wait_for("sum(lookalike_answers_total)", {"": float(sum(sent.values()))})
    prometheus.wait_for(
        "sum by (outcome) (lookalike_answers_total)", {k: float(v) for k, v in sent.items()}, label="outcome"
    )
    prometheus.wait_for("sum(lookalike_answer_seconds_count)", {"": float(sum(sent.values()))})
    # Analyses: the waiter's selfie, three selfies, the blank photo, the group photo, two entries (the
    # truncated photo and the PDF never become an analysis).
    prometheus.wait_for("sum(lookalike_analysis_seconds_count)", {"": 8.0})
    prometheus.wait_for(
        'lookalike_telegram_errors_total{method="sendMessage"}', {"server_error": 1.0}, label="kind"
    )
    prometheus.wait_for("lookalike_workers", {"": 1.0})
    prometheus.wait_for("lookalike_photos_in_flight", {"": 0.0})
    prometheus.wait_for("lookalike_gallery_photos", {"": 0.0})  # 0: the demo gallery answers
    assert prometheus.query("process_resident_memory_bytes")[0]["value"][1] != "0"
    assert prometheus.query('up{job="lookalike"}')[0]["value"][1] == "1"


def test_no_label_of_the_bots_metrics_carries_a_user_a_chat_or_what_they_sent(bot, ports) -> None:
    families = scrape(ports["bot"])
    ours = {name: samples for name, samples in families.items() if name.startswith("lookalike_")}
    assert {
        "lookalike_answers",
        "lookalike_answer_seconds",
        "lookalike_analysis_seconds",
        "lookalike_photos_in_flight",
        "lookalike_photos_waiting",
        "lookalike_workers",
        "lookalike_gallery_celebrities",
        "lookalike_gallery_photos",
        "lookalike_telegram_errors",
    } <= set(ours)
    labels = {key for samples in ours.values() for s in samples for key in s.labels}
    assert labels <= ALLOWED_LABELS
    methods = {s.labels["method"] for s in ours["lookalike_telegram_errors"] if "method" in s.labels}
    assert methods == {"sendMessage"}
    assert {s.labels["outcome"] for s in ours["lookalike_answers"] if "outcome" in s.labels} == set(OUTCOMES)
    text = get(ports["bot"], "/metrics").text
    for secret in ("7301", "-7300", "Ann", "Friends", "cut.jpg", "AAE-lookalike"):
        assert secret not in text
    assert "process_cpu_seconds_total" in families or "process_cpu_seconds" in families


def test_dask_scheduler_and_worker_serve_their_own_prometheus_metrics_without_a_dashboard(
    cluster, bot, ports
) -> None:
    scheduler = get(ports["scheduler"], "/metrics")
    assert scheduler.status_code == 200
    workers = next(
        s.value
        for f in text_string_to_metric_families(scheduler.text)
        if f.name == "dask_scheduler_workers"
        for s in f.samples
    )
    assert workers == 1.0
    worker = get(ports["worker"], "/metrics")
    assert worker.status_code == 200 and "dask_worker_tasks" in worker.text
    assert get(ports["scheduler"], "/status").status_code == 404  # the Bokeh dashboard stays off
    assert "scheduler metrics: http://127.0.0.1:" in cluster.scheduler.log
