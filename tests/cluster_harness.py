"""Run a Dask cluster of `lookalike scheduler` and `lookalike worker` processes on 127.0.0.1.

Used by tests/test_cluster.py and bench/cluster.py. Every process runs in a process group of its own,
and `Cluster.stop` ends every group it started (SIGTERM, then SIGKILL for whatever is left).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

from distributed import Client

from engine.cluster import TLSFiles, cluster_security
from tests.botapi.harness import REPO, LoggedProcess

WORKER_READY = re.compile(r"worker \S+ ready at (\S+) \(models loaded\)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service(LoggedProcess):
    """A `lookalike scheduler` or `lookalike worker` process, in a process group of its own."""

    wait_timeout = 90.0

    @property
    def name(self) -> str:  # type: ignore[override]
        return " ".join(map(str, self.process.args))

    def __init__(
        self, args: list[str], log_path: Path, env: dict[str, str], prefix: tuple[str, ...] = ()
    ) -> None:
        self.log_path = log_path
        self._log = log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "bot", *args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=log_path.parent,
            start_new_session=True,  # its own group: the worker processes its Nanny spawns are in it too
        )

    def kill(self, signum: int = signal.SIGKILL) -> None:
        """Signal the whole group (the command and every process it started)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL for anything of the group still there. Returns the exit status."""
        self.kill(signal.SIGTERM)
        try:
            status = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            status = None
        self.kill(signal.SIGKILL)  # stragglers of the group, if any
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        self._log.close()
        return status


class Cluster:
    """A scheduler and worker nodes on 127.0.0.1, started by the test and always ended by it."""

    def __init__(
        self,
        folder: Path,
        tls: TLSFiles | None = None,
        host: str = "127.0.0.1",
        scheduler_env: dict[str, str] | None = None,
    ) -> None:
        self.folder = folder
        self.tls = tls
        self.host = host  # where the scheduler listens (the bot and the test reach it on 127.0.0.1)
        self.scheduler_env = scheduler_env or {}
        self.port = free_port()
        self.address = f"{'tls' if tls else 'tcp'}://127.0.0.1:{self.port}"
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "LOOKALIKE_", "ADMIN_"))
        }
        self.env.update(PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
        if tls:
            self.env.update(
                LOOKALIKE_CLUSTER_CA=str(tls.ca),
                LOOKALIKE_CLUSTER_CERT=str(tls.cert),
                LOOKALIKE_CLUSTER_KEY=str(tls.key),
            )
        self.services: list[Service] = []
        try:
            self.scheduler = self.start_scheduler()
        except BaseException:
            self.stop()
            raise

    def _service(
        self, args: list[str], name: str, prefix: tuple[str, ...] = (), env: dict[str, str] | None = None
    ) -> Service:
        log_path = self.folder / f"{name}-{len(self.services)}.log"
        service = Service(args, log_path, {**self.env, **(env or {})}, prefix)
        self.services.append(service)
        return service

    def start_scheduler(self) -> Service:
        scheduler = self._service(
            ["scheduler", "--host", self.host, "--port", str(self.port)], "scheduler", env=self.scheduler_env
        )
        scheduler.wait_for_log(lambda text: "scheduler ready at " in text)
        return scheduler

    def add_worker(
        self, nworkers: int = 1, on: NetworkHost | None = None, env: dict[str, str] | None = None
    ) -> Service:
        """A worker node with `nworkers` single-threaded worker processes, once all are ready; `on` a test
        host of its own (a network namespace), or beside the scheduler; `env`: settings of its own."""
        address = (
            self.address if on is None else f"{self.address.partition('://')[0]}://{on.gateway}:{self.port}"
        )
        prefix = () if on is None else on.prefix
        worker = self._service(["worker", address, "--nworkers", str(nworkers)], "worker", prefix, env)
        worker.wait_for_log(lambda text: len(WORKER_READY.findall(text)) >= nworkers)
        return worker

    @staticmethod
    def worker_address(worker: Service) -> str:
        found = WORKER_READY.findall(worker.log)
        assert found, worker.log
        return found[-1]

    def bot_env(self, **extra: str) -> dict[str, str]:
        env = {"LOOKALIKE_CLUSTER": self.address, **extra}
        if self.tls:
            env.update({k: v for k, v in self.env.items() if k.startswith("LOOKALIKE_CLUSTER_")})
        return env

    def client(self) -> Client:
        """A Dask client of the test's own, to look into the cluster."""
        return Client(self.address, security=cluster_security(self.tls), timeout=30)

    def executed(self) -> dict[str, int]:
        """Tasks each connected worker has run."""
        with self.client() as client:
            return client.run(lambda dask_worker: dask_worker.state.executed_count)

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class NetworkHost:
    """A test host of its own: a network namespace joined to this machine by a veth pair, so that traffic
    to and from it really crosses a (virtual) network link, which the test can cut. Needs root and `ip`."""

    def __init__(self, name: str, subnet: int) -> None:
        self.name = name
        self.outside = f"{name}h"  # this machine's end of the cable
        self.gateway = f"10.211.{subnet}.1"  # this machine's address on the link
        self.address = f"10.211.{subnet}.2"  # the host's address
        self.prefix = ("ip", "netns", "exec", name)
        self._made: list[list[str]] = []
        try:
            self._run("ip", "netns", "add", name, undo=["ip", "netns", "del", name])
            inside = f"{name}n"
            self._run(
                "ip",
                "link",
                "add",
                self.outside,
                "type",
                "veth",
                "peer",
                "name",
                inside,
                undo=["ip", "link", "del", self.outside],
            )
            self._run("ip", "link", "set", inside, "netns", name)
            self._run("ip", "addr", "add", f"{self.gateway}/30", "dev", self.outside)
            self._run("ip", "link", "set", self.outside, "up")
            self._run(*self.prefix, "ip", "addr", "add", f"{self.address}/30", "dev", inside)
            self._run(*self.prefix, "ip", "link", "set", inside, "up")
            self._run(*self.prefix, "ip", "link", "set", "lo", "up")
        except BaseException:
            self.delete()
            raise

    def _run(self, *command: str, undo: list[str] | None = None) -> None:
        subprocess.run(command, check=True, capture_output=True, timeout=30)
        if undo:
            self._made.append(undo)

    def cut(self) -> None:
        """Pull the cable: packets stop, no connection is reset."""
        self._run("ip", "link", "set", self.outside, "down")

    def delete(self) -> None:
        for undo in reversed(self._made):
            subprocess.run(undo, capture_output=True, timeout=30)
        self._made.clear()


def network_hosts_possible() -> bool:
    """Root, and `ip` that can make network namespaces."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    probe = f"lk{os.getpid()}probe"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, timeout=30).returncode == 0
    if made:
        subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=30)
    return made
