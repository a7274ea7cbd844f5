"""The bot's processes end with it, however it ends: its workers, forkserver and resource tracker.

A SIGKILL (what the OOM killer sends) gives the bot no chance to stop anything: the workers notice by
themselves (each watches the bot's pid), and the forkserver and resource tracker follow once their pipes
close. The session fixture in conftest.py checks that the whole run leaves nothing behind.
"""

from __future__ import annotations

import signal

import psutil
import pytest

from tests.botapi import FakeBotAPI, User
from tests.botapi.harness import RunningBot, next_message
from tests.paths import photo
from tests.processes import descendants, describe, still_running

FACE_WORKERS = 2
DRAW_WORKERS = 1
GONE_WITHIN_S = 10.0  # measured: under a second on an idle machine; room for a loaded one


def family_of(bot: RunningBot) -> dict[str, list[psutil.Process]]:
    """The bot's descendants by role: the forkserver, its workers, the resource tracker, anything else."""
    processes = descendants(bot.process.pid)
    lines = {p.pid: " ".join(p.cmdline()) for p in processes}
    servers = [
        p
        for p in processes
        if "from multiprocessing.forkserver import" in lines[p.pid] and p.ppid() == bot.process.pid
    ]
    server_pids = {p.pid for p in servers}
    workers = [p for p in processes if p.ppid() in server_pids]
    trackers = [p for p in processes if "from multiprocessing.resource_tracker import" in lines[p.pid]]
    known = server_pids | {p.pid for p in workers + trackers}
    return {
        "forkserver": servers,
        "workers": workers,
        "tracker": trackers,
        "other": [p for p in processes if p.pid not in known],
    }


def served_one_selfie(api: FakeBotAPI, bot: RunningBot) -> None:
    """A selfie answered with a collage: the face pool and the draw pool have both done work."""
    ann = User(7001, "Ann")
    reply = next_message(api, ann.id, lambda: api.send_photo(ann, photo("barack_obama/obama-240p.jpg")))
    assert reply["method"] == "sendPhoto", reply["text"]


@pytest.mark.parametrize("how", ["sigkill", "sigterm"])
def test_every_worker_process_ends_with_the_bot(api: FakeBotAPI, tmp_path, how: str) -> None:
    bot = RunningBot(
        api,
        tmp_path / "gallery.sqlite",
        env={"LOOKALIKE_WORKERS": str(FACE_WORKERS), "LOOKALIKE_DRAW_WORKERS": str(DRAW_WORKERS)},
    )
    try:
        served_one_selfie(api, bot)
        family = family_of(bot)
        assert len(family["forkserver"]) == 1, family
        assert len(family["workers"]) == FACE_WORKERS + DRAW_WORKERS, family
        assert len(family["tracker"]) == 1, family
        assert family["other"] == [], family
        # the face workers yield to the bot and its draw worker (LOOKALIKE_FACE_NICE, default 10)
        base = psutil.Process(bot.process.pid).nice()
        niceness = sorted(p.nice() - base for p in family["workers"])
        assert niceness == [0] * DRAW_WORKERS + [10] * FACE_WORKERS
        everyone = [p for role in family.values() for p in role]
        if how == "sigkill":
            bot.kill()
        else:
            assert bot.stop(signal.SIGTERM) == 0
    finally:
        if bot.process.poll() is None:  # a failed check: do not leave the bot running
            bot.kill()
    left = still_running(everyone, GONE_WITHIN_S)
    assert left == [], "\n".join(describe(p) for p in left)
