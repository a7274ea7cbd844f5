"""Run a Dask cluster of `lookalike scheduler` and `lookalike worker` processes on 127.0.0.1.

Used by tests/test_cluster.py and bench/cluster.py. Every process runs in a process group of its own,
and `Cluster.stop` ends every group it started (SIGTERM, then SIGKILL for whatever is left).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from distributed import Client

from engine.cluster import TLSFiles, cluster_security
from tests.botapi.harness import REPO

WORKER_READY = re.compile(r"worker \S+ ready at (\S+) \(models loaded\)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """A `lookalike scheduler` or `lookalike worker` process, in a process group of its own."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str]) -> None:
        self.log_path = log_path
        self._log = log_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=log_path.parent,
            start_new_session=True,  # its own group: the worker processes its Nanny spawns are in it too
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, predicate: Callable[[str], bool], timeout: float = 90.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log
            if predicate(text):
                return text
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.process.args} exited with {self.process.returncode}:\n{text}")
            time.sleep(0.1)
        raise TimeoutError(f"{self.process.args}: the log never matched:\n{self.log}")

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

    def __init__(self, folder: Path, tls: TLSFiles | None = None) -> None:
        self.folder = folder
        self.tls = tls
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

    def _service(self, args: list[str], name: str) -> Service:
        service = Service(args, self.folder / f"{name}-{len(self.services)}.log", self.env)
        self.services.append(service)
        return service

    def start_scheduler(self) -> Service:
        scheduler = self._service(["scheduler", "--host", "127.0.0.1", "--port", str(self.port)], "scheduler")
        scheduler.wait_for_log(lambda text: "scheduler ready at " in text)
        return scheduler

    def add_worker(self, nworkers: int = 1) -> Service:
        """A worker node with `nworkers` single-threaded worker processes, once all are ready."""
        worker = self._service(["worker", self.address, "--nworkers", str(nworkers)], "worker")
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
