"""Which processes a test (or the whole run) leaves behind, with psutil.

A process counts as gone once it has exited, even if nobody reaps it: here PID 1 does not reap the
orphans re-parented to it, so an ended process may linger as a zombie, holding no memory.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import psutil


def alive(process: psutil.Process) -> bool:
    """True while `process` runs (a zombie has ended)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def describe(process: psutil.Process) -> str:
    """`pid: command line` (shortened), or `pid: gone`."""
    try:
        return f"{process.pid}: {' '.join(process.cmdline())[:160]}"
    except psutil.Error:
        return f"{process.pid}: gone"


def descendants(pid: int) -> list[psutil.Process]:
    """The live children of `pid`, their children, and so on."""
    try:
        return [p for p in psutil.Process(pid).children(recursive=True) if alive(p)]
    except psutil.NoSuchProcess:
        return []


def still_running(processes: Iterable[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait up to `timeout` seconds for every one of `processes` to end; those that have not."""
    waiting = list(processes)
    deadline = time.monotonic() + timeout
    while True:
        waiting = [p for p in waiting if alive(p)]
        if not waiting or time.monotonic() >= deadline:
            return waiting
        time.sleep(0.1)


def marked_processes(variable: str, value: str, exclude: Iterable[int] = ()) -> list[psutil.Process]:
    """Live processes whose environment holds `variable=value` (inherited from whoever started them)."""
    skip = set(exclude)
    found = []
    for process in psutil.process_iter():
        if process.pid in skip:
            continue
        try:
            marked = process.environ().get(variable) == value
        except psutil.Error:  # gone meanwhile, or another user's
            continue
        if marked and alive(process):
            found.append(process)
    return found
