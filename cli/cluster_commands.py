"""`lookalike scheduler` and `lookalike worker`: thin commands over Dask distributed (engine/cluster.py).

Both read the TLS settings (LOOKALIKE_CLUSTER_CA, _CERT, _KEY) as the bot does, log one line per event
(distributed's own records at WARNING and up), and stop cleanly on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from typing import TYPE_CHECKING

from cli.console import EXIT_FAILURE, EXIT_OK, EXIT_USAGE
from service.logs import OneLineFormatter
from service.settings import ClusterSettings, SettingsError, load_cluster_settings

if TYPE_CHECKING:  # distributed is imported only once the logging is set up
    from distributed.security import Security

log = logging.getLogger("lookalike.cluster")

# Worker processes spawned by distributed's Nanny set up their own logging when they import distributed:
# the same one-line format, warnings only.
WORKER_PROCESS_LOGGING = {
    "DASK_LOGGING__DISTRIBUTED": "warning",
    "DASK_DISTRIBUTED__ADMIN__LOG_FORMAT": "%(asctime)s %(levelname)s %(name)s: %(message)s",
}


def add_cluster_commands(commands: argparse._SubParsersAction) -> None:
    """The `scheduler` and `worker` sub-commands of the `lookalike` parser."""
    scheduler = commands.add_parser(
        "scheduler",
        help="run a Dask scheduler for the bot's crop-and-embed work (keep it on a private network)",
    )
    scheduler.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    scheduler.add_argument("--port", type=int, default=8786, help="port to listen on (default 8786)")

    worker = commands.add_parser(
        "worker", help="run crop-and-embed workers that join the scheduler at ADDRESS"
    )
    worker.add_argument(
        "address", metavar="ADDRESS", help="the scheduler, tcp://HOST:PORT or tls://HOST:PORT"
    )
    worker.add_argument(
        "--nworkers", type=int, default=None, metavar="N", help="worker processes (default: one per core)"
    )


def run_cluster_command(args: argparse.Namespace) -> int:
    """Run `lookalike scheduler` or `lookalike worker` until SIGINT/SIGTERM; returns the exit status."""
    try:
        settings = load_cluster_settings()
    except SettingsError as exc:
        print(f"lookalike: bad settings: {exc}", file=sys.stderr)
        return EXIT_USAGE
    os.environ.update(WORKER_PROCESS_LOGGING)
    _setup_logging()
    from engine import cluster  # imports distributed, which installs its own log handler: re-routed below

    cluster.route_distributed_logs()
    tls = settings.cluster_tls
    security = cluster.cluster_security(cluster.TLSFiles(*tls) if tls else None)
    if args.command == "scheduler":
        main = _scheduler(args, security)
    else:
        problem = _worker_address_problem(args.address, settings)
        if problem:
            print(f"lookalike: {problem}", file=sys.stderr)
            return EXIT_USAGE
        main = _workers(args, security)
    try:
        asyncio.run(main)
    except OSError as exc:
        log.error("cannot start: %s", exc)
        return EXIT_FAILURE
    return EXIT_OK


def _setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(verbose=False))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def _worker_address_problem(address: str, settings: ClusterSettings) -> str | None:
    scheme = address.partition("://")[0]
    if scheme not in ("tcp", "tls"):
        return f"{address}: the scheduler address must start with tcp:// or tls://"
    if scheme == "tls" and settings.cluster_tls is None:
        return (
            "a tls:// scheduler needs LOOKALIKE_CLUSTER_CA, LOOKALIKE_CLUSTER_CERT and LOOKALIKE_CLUSTER_KEY"
        )
    if scheme == "tcp" and settings.cluster_tls is not None:
        return "TLS files are set (LOOKALIKE_CLUSTER_CA, ...): use the scheduler's tls:// address"
    return None


def _stop_event() -> asyncio.Event:
    """Set on the first SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, _on_signal, stop, signum)
    return stop


def _on_signal(stop: asyncio.Event, signum: int) -> None:
    log.info("%s: stopping", signal.Signals(signum).name)
    stop.set()


async def _scheduler(args: argparse.Namespace, security: Security) -> None:
    from engine.cluster import run_scheduler

    stop = _stop_event()

    def ready(address: str) -> None:
        log.info("scheduler ready at %s (%s)", address, "TLS" if address.startswith("tls") else "no TLS")

    await run_scheduler(args.host, args.port, security, stop, ready)
    log.info("scheduler stopped")


async def _workers(args: argparse.Namespace, security: Security) -> None:
    from engine.cluster import run_worker_node
    from engine.pool import default_workers

    stop = _stop_event()
    count = args.nworkers or default_workers()
    log.info("starting %s worker processes for %s", count, args.address)
    name = f"{socket.gethostname()}-{os.getpid()}"
    formatter = OneLineFormatter(verbose=False)
    await run_worker_node(args.address, count, security, stop, name, formatter)
    log.info("workers stopped")
