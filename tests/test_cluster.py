"""Crop-and-embed on a real Dask cluster: `lookalike scheduler` and `lookalike worker` processes started
here on 127.0.0.1, the real bot in front of them, end to end over the stand-in Bot API server.

Every scheduler and worker runs in a process group of its own; the fixtures kill each group at the end,
whatever happened in the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from distributed import Client

from engine.cluster import TLSFiles, cluster_security
from service.settings import SettingsError, load_cluster_settings
from tests.bot_checks import LOG_LINE, assert_clean_log
from tests.botapi import FakeBotAPI, User
from tests.botapi.harness import REPO, RunningBot, bot_environment, next_message, start_api
from tests.cluster_harness import Cluster, NetworkHost, free_port, network_hosts_possible
from tests.paths import photo
from tests.test_reliability import BUSY
from tests.test_webapp_api import header

ADMIN = User(900, "Admin", "en")
SELFIES = {  # photo → the celebrity the demo gallery must rank first
    "barack_obama/obama-240p.jpg": "Barack Obama",
    "barack_obama/obama_small.jpg": "Barack Obama",
    "rose_leslie/rose_leslie_img2.jpg": "Rose Leslie",
    "kit_harington/kit_harington_john2.jpeg": "Kit Harington",
}
LARGER_SELFIES = {"barack_obama/obama-720p.jpg": "Barack Obama", "joe_biden/biden.jpg": "Joe Biden"}


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    server = start_api()
    yield server
    server.stop_thread()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    running = Cluster(tmp_path)
    try:
        yield running
    finally:
        running.stop()


def answers_per_message(api: FakeBotAPI, since: int) -> Counter:
    return Counter(
        (e["chat_id"], e["reply_to_message_id"]) for e in api.sent[since:] if e["reply_to_message_id"]
    )


def send_burst(api: FakeBotAPI, users: list[User], selfies: dict[str, str]) -> dict[int, str]:
    """Each user sends one selfie (round robin over `selfies`); returns the expected first name per user."""
    names = list(selfies)
    expected = {}
    for n, user in enumerate(users):
        relative = names[n % len(names)]
        api.send_photo(user, photo(relative))
        expected[user.id] = selfies[relative]
    return expected


def assert_each_answered_once_correctly(api: FakeBotAPI, expected: dict[int, str], mark: int) -> None:
    replies = [e for e in api.sent[mark:] if e["chat_id"] in expected]
    assert sorted(e["chat_id"] for e in replies) == sorted(expected)  # everyone, exactly once
    for reply in replies:
        assert reply["method"] == "sendPhoto", reply["text"]
        first = reply["caption"].splitlines()[1]
        assert first.startswith(f"1. {expected[reply['chat_id']]} "), reply["caption"]
    assert max(answers_per_message(api, mark).values()) == 1


def app_workers(app_url: str) -> list[dict]:
    """The workers the admins' Mini App's Status page shows."""
    answer = httpx.get(app_url + "api/status", headers=header(ADMIN.id), timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["cluster"]["workers"]


def stats(api: FakeBotAPI) -> str:
    return next_message(api, ADMIN.id, lambda: api.send_text(ADMIN, "/stats"))["text"]


def test_a_burst_through_two_workers_is_answered_correctly_and_a_bad_photo_is_refused(api, cluster, tmp_path):
    first, second = cluster.add_worker(), cluster.add_worker()
    port = free_port()
    app_url = f"http://127.0.0.1:{port}/"
    env = {
        **cluster.bot_env(),
        "WEB_APP_URL": app_url,
        "WEB_APP_LISTEN": "127.0.0.1",
        "WEB_APP_PORT": str(port),
    }
    bot = RunningBot(api, tmp_path / "gallery.sqlite", admin_ids=str(ADMIN.id), env=env)
    bot.wait_for_log(lambda text: "2 workers connected" in text or "2 cluster workers" in text)
    assert "Photos waiting or in work: 0 (limit 32); workers: 2 (cluster)." in stats(api)  # 16 per worker
    addresses = sorted(cluster.worker_address(w) for w in (first, second))
    assert app_workers(app_url) == [{"address": a, "in_work": 0, "slots": 1} for a in addresses]

    users = [User(2000 + n, f"User {n}") for n in range(20)]
    mark = len(api.sent)
    expected = send_burst(api, users, SELFIES)
    busiest = 0  # the admins' app shows the photos each worker is on while the burst goes through
    while len([e for e in api.sent[mark:] if e["chat_id"] in expected]) < 20 and busiest == 0:
        busiest = max([w["in_work"] for w in app_workers(app_url)] + [0])
        time.sleep(0.1)
    api.wait_for_sent_sync(lambda e: e["chat_id"] in expected, start=mark, count=20, timeout=240)
    assert busiest >= 1
    time.sleep(0.5)  # nothing more should come
    assert_each_answered_once_correctly(api, expected, mark)
    executed = cluster.executed()
    assert set(executed) == {cluster.worker_address(first), cluster.worker_address(second)}
    assert sum(executed.values()) == 20 and min(executed.values()) > 0  # both workers took part

    # An unreadable photo: the worker's ImageError comes back to the bot, which answers it kindly
    eve = User(2100, "Eve")
    reply = next_message(
        api, eve.id, lambda: api.send_document(eve, bytes(range(256)) * 40, "x.png", "image/png")
    )
    assert "could not read" in reply["text"]
    assert bot.stop() == 0
    log = assert_clean_log(bot)
    assert "2 cluster workers at tcp://127.0.0.1:" in log or "2 workers connected" in log
    for worker in (first, second):
        assert "Traceback" not in worker.log and "Compute Failed" not in worker.log


def test_a_worker_killed_mid_burst_and_still_every_user_is_answered_once(api, cluster, tmp_path):
    doomed, survivor = cluster.add_worker(), cluster.add_worker()
    doomed_address = cluster.worker_address(doomed)
    bot = RunningBot(api, tmp_path / "gallery.sqlite", env=cluster.bot_env())
    bot.wait_for_log(lambda text: "2 workers connected" in text or "2 cluster workers" in text)

    users = [User(3000 + n, f"User {n}") for n in range(12)]
    mark = len(api.sent)
    expected = send_burst(api, users, LARGER_SELFIES)
    with cluster.client() as client:  # kill the worker while it has a photo in work
        deadline = time.monotonic() + 60
        while not client.processing().get(doomed_address) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.processing().get(doomed_address), "the worker never got a photo"
        doomed.kill(signal.SIGKILL)
    answered_before = len([e for e in api.sent[mark:] if e["chat_id"] in expected])
    assert answered_before < len(users)  # killed mid-burst

    api.wait_for_sent_sync(lambda e: e["chat_id"] in expected, start=mark, count=12, timeout=240)
    time.sleep(0.5)
    assert_each_answered_once_correctly(api, expected, mark)
    assert list(cluster.executed()) == [cluster.worker_address(survivor)]

    # A worker that joins later takes work at once: the next burst is shared with it
    newcomer = cluster.add_worker()
    bot.wait_for_log(lambda text: text.count("2 workers connected") >= 2)
    before = cluster.executed()
    mark = len(api.sent)
    expected = send_burst(api, [User(3100 + n, f"Later {n}") for n in range(6)], SELFIES)
    api.wait_for_sent_sync(lambda e: e["chat_id"] in expected, start=mark, count=6, timeout=120)
    assert_each_answered_once_correctly(api, expected, mark)
    after = cluster.executed()
    assert after[cluster.worker_address(newcomer)] > 0
    assert sum(after.values()) - sum(before.values()) == 6
    assert bot.stop() == 0
    assert_clean_log(bot)


def test_with_every_worker_gone_a_photo_waits_then_is_told_busy_once_and_a_returning_worker_serves(
    api, cluster, tmp_path
):
    only = cluster.add_worker()
    bot = RunningBot(
        api,
        tmp_path / "gallery.sqlite",
        admin_ids=str(ADMIN.id),
        env=cluster.bot_env(LOOKALIKE_CLUSTER_WAIT="4"),
    )
    assert "(limit 16); workers: 1 (cluster)." in stats(api)  # the default queue limit follows the workers
    only.kill(signal.SIGKILL)
    bot.wait_for_log(lambda text: "no worker connected" in text)

    ann = User(4000, "Ann")
    mark = len(api.sent)
    sent = time.monotonic()
    api.send_photo(ann, photo("barack_obama/obama-240p.jpg"))
    reply = api.wait_for_sent_sync(chat_id=ann.id, start=mark, timeout=60)[0]
    waited = time.monotonic() - sent
    assert reply["text"] == BUSY and waited >= 4.0, (reply, waited)

    back = cluster.add_worker()
    bot.wait_for_log(lambda text: "1 workers connected" in text.split("no worker connected")[-1])
    bob = User(4001, "Bob")
    served = next_message(api, bob.id, lambda: api.send_photo(bob, photo("rose_leslie/rose_leslie_img2.jpg")))
    assert served["method"] == "sendPhoto" and "1. Rose Leslie" in served["caption"]
    time.sleep(1.0)
    assert [e["text"] for e in api.sent[mark:] if e["chat_id"] == ann.id] == [BUSY]  # no late collage
    assert cluster.executed() == {cluster.worker_address(back): 1}  # Ann's abandoned photo never ran
    assert "(limit 16); workers: 1 (cluster)." in stats(api)
    assert bot.stop() == 0
    log = assert_clean_log(bot)
    assert "waited 4 s without any worker; answered busy" in log


def test_a_restarted_scheduler_the_bot_reconnects_and_finishes_the_photos_in_flight(api, cluster, tmp_path):
    worker = cluster.add_worker()
    worker_address = cluster.worker_address(worker)
    bot = RunningBot(api, tmp_path / "gallery.sqlite", env=cluster.bot_env())
    users = [User(5000 + n, f"User {n}") for n in range(6)]
    mark = len(api.sent)
    expected = send_burst(api, users, LARGER_SELFIES)
    with cluster.client() as client:
        deadline = time.monotonic() + 60
        while not client.processing().get(worker_address) and time.monotonic() < deadline:
            time.sleep(0.05)
    cluster.scheduler.kill(signal.SIGKILL)
    assert len([e for e in api.sent[mark:] if e["chat_id"] in expected]) < len(users)
    bot.wait_for_log(lambda text: "lost the scheduler" in text)
    cluster.scheduler = cluster.start_scheduler()  # the same address

    api.wait_for_sent_sync(lambda e: e["chat_id"] in expected, start=mark, count=6, timeout=240)
    time.sleep(0.5)
    assert_each_answered_once_correctly(api, expected, mark)
    log = bot.log
    assert "connected to the scheduler at" in log and "again" in log
    worker.wait_for_log(lambda text: "joining again" in text)
    assert "Traceback" not in worker.log  # the worker's troubles are one line each too
    assert bot.stop() == 0
    assert_clean_log(bot)


@pytest.fixture
def certificates(tmp_path: Path) -> tuple[TLSFiles, TLSFiles]:
    """The cluster's CA, certificate and key; and a stranger's, signed by another CA."""

    def issue(folder: Path) -> TLSFiles:
        folder.mkdir()
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        files = TLSFiles(folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
        ca.cert_pem.write_to_path(str(files.ca))
        cert.cert_chain_pems[0].write_to_path(str(files.cert))
        cert.private_key_pem.write_to_path(str(files.key))
        return files

    return issue(tmp_path / "ours"), issue(tmp_path / "stranger")


def test_a_tls_cluster_serves_the_bot_and_refuses_strangers(api, tmp_path, certificates):
    ours, stranger = certificates
    cluster = Cluster(tmp_path, tls=ours)
    try:
        assert "(TLS)" in cluster.scheduler.log and cluster.address.startswith("tls://")
        cluster.add_worker()
        bot = RunningBot(api, tmp_path / "gallery.sqlite", env=cluster.bot_env())
        ann = User(6000, "Ann")
        reply = next_message(api, ann.id, lambda: api.send_photo(ann, photo("barack_obama/obama-240p.jpg")))
        assert reply["method"] == "sendPhoto" and "1. Barack Obama" in reply["caption"]
        assert bot.stop() == 0
        assert_clean_log(bot)

        # Without our CA's certificate, or without TLS at all, nobody gets in
        with pytest.raises((OSError, TimeoutError)):
            Client(cluster.address, security=cluster_security(stranger), timeout=5)
        with pytest.raises((OSError, TimeoutError)):
            Client(f"tcp://127.0.0.1:{cluster.port}", timeout=5)
    finally:
        cluster.stop()


def test_cluster_settings_are_checked_with_one_clear_line(tmp_path, monkeypatch, certificates):
    ours, _ = certificates
    monkeypatch.chdir(tmp_path)  # no .env
    for variable in [k for k in os.environ if k.startswith("LOOKALIKE_")]:
        monkeypatch.delenv(variable)
    monkeypatch.setenv("LOOKALIKE_CLUSTER", "tls://10.0.0.5:8786")
    with pytest.raises(SettingsError, match="needs LOOKALIKE_CLUSTER_CA"):
        load_cluster_settings()
    monkeypatch.setenv("LOOKALIKE_CLUSTER_CA", str(ours.ca))
    with pytest.raises(SettingsError, match="all three"):
        load_cluster_settings()
    monkeypatch.setenv("LOOKALIKE_CLUSTER_CERT", str(ours.cert))
    monkeypatch.setenv("LOOKALIKE_CLUSTER_KEY", str(tmp_path / "missing.pem"))
    with pytest.raises(SettingsError, match=r"LOOKALIKE_CLUSTER_KEY .*missing\.pem is not a file"):
        load_cluster_settings()
    monkeypatch.setenv("LOOKALIKE_CLUSTER_KEY", str(ours.key))
    assert load_cluster_settings().cluster_tls == (ours.ca, ours.cert, ours.key)
    monkeypatch.setenv("LOOKALIKE_CLUSTER", "redis://10.0.0.5")
    with pytest.raises(SettingsError, match="LOOKALIKE_CLUSTER must be a scheduler address"):
        load_cluster_settings()

    # `lookalike worker` checks its address against the TLS settings before starting anything
    monkeypatch.delenv("LOOKALIKE_CLUSTER")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "worker", "tcp://127.0.0.1:1"],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "use the scheduler's tls:// address" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(
    not network_hosts_possible(), reason="needs root and `ip netns` for test hosts of their own"
)
def test_workers_on_hosts_of_their_own_over_tls_and_a_cut_cable(api, tmp_path, certificates):
    """Each worker on a network namespace of its own, joined by a veth pair: TLS really crosses a link.
    Then one worker's cable is cut mid-burst (no reset: only the scheduler's worker-ttl notices)."""
    ours, _ = certificates
    tag = f"lk{os.getpid() % 100000}"
    hosts: list[NetworkHost] = []
    try:
        hosts = [NetworkHost(f"{tag}a", 1), NetworkHost(f"{tag}b", 2)]
        with Cluster(
            tmp_path,
            tls=ours,
            host="0.0.0.0",
            scheduler_env={"DASK_DISTRIBUTED__SCHEDULER__WORKER_TTL": "5s"},
        ) as cluster:
            cut_off, remaining = (cluster.add_worker(on=host) for host in hosts)
            cut_off_address = cluster.worker_address(cut_off)
            assert cut_off_address.startswith(f"tls://{hosts[0].address}:")
            assert cluster.worker_address(remaining).startswith(f"tls://{hosts[1].address}:")
            bot = RunningBot(api, tmp_path / "gallery.sqlite", env=cluster.bot_env())
            bot.wait_for_log(lambda text: "2 workers connected" in text or "2 cluster workers" in text)

            users = [User(7000 + n, f"User {n}") for n in range(8)]
            mark = len(api.sent)
            expected = send_burst(api, users, LARGER_SELFIES)
            with cluster.client() as client:
                deadline = time.monotonic() + 60
                while not client.processing().get(cut_off_address) and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert client.processing().get(cut_off_address), "the worker never got a photo"
            hosts[0].cut()
            api.wait_for_sent_sync(lambda e: e["chat_id"] in expected, start=mark, count=8, timeout=240)
            time.sleep(0.5)
            assert_each_answered_once_correctly(api, expected, mark)
            bot.wait_for_log(lambda text: "1 workers connected" in text)  # the scheduler gave up on it
            cut_off.kill(signal.SIGKILL)  # it cannot reach anyone to say goodbye
            assert bot.stop() == 0
            assert_clean_log(bot)
    finally:
        for host in hosts:
            host.delete()


def test_the_bot_says_in_one_line_when_it_cannot_reach_the_scheduler(api, tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"  # nobody listens there
    environment = bot_environment(
        api, tmp_path / "gallery.sqlite", LOOKALIKE_CLUSTER=address, LOOKALIKE_CLUSTER_WAIT="3"
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 1
    assert f"ERROR bot: cannot start: cannot reach the cluster scheduler at {address}" in done.stderr
    assert all(LOG_LINE.match(line) for line in done.stderr.splitlines()), done.stderr
    assert "Traceback" not in done.stderr
