"""Keep a long-running process's memory from ratcheting up: glibc's malloc, set once at start."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # mallopt's parameter (glibc's malloc.h)
ARENA_MAX = 2
# Often enough that a process's memory between its photos is what it holds after a trim (the soak samples
# every 2 s), rarely enough that re-faulting its working set after each (~6 ms for the draw process) is
# a fraction of a percent of a busy core.
TRIM_EVERY_S = 1.0

_trimming = threading.Event()  # set once this process's trimming thread has started


def steady_malloc(trim_every: float = TRIM_EVERY_S) -> bool:
    """Have glibc share two arenas between threads and give freed memory back to the system every
    `trim_every` seconds (`malloc_trim`, from a daemon thread); False (and nothing done) where the C library
    is not glibc.

    Why: glibc keeps freed photo-sized blocks in its heaps, where small objects that live on pin them, and
    each thread that contends gets an arena of its own (up to 8 a core): resident memory that grows in
    steps over hours and never comes back. A trim gives back every free page, wherever it is. Handing
    every block over 256 KB straight back instead (a fixed mmap threshold, as before) costs a page fault
    per 4 KB each time such a block is used again: measured 6 ms for a copy of the collage's 6 MB canvas
    against 0.3, about a third of the drawing's CPU, and ~4 ms of a face worker's per photo."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt, malloc_trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):
        return False
    if mallopt(M_ARENA_MAX, ARENA_MAX) != 1:
        log.debug("mallopt refused: memory left as the C library sets it")
        return False
    if not _trimming.is_set():
        _trimming.set()
        threading.Thread(
            target=_trim_forever, args=(malloc_trim, trim_every), name="malloc-trim", daemon=True
        ).start()
    return True


def _trim_forever(malloc_trim: Callable[[int], int], every: float) -> None:
    """Give glibc's free pages back to the system every `every` seconds, for the life of the process."""
    while True:
        time.sleep(every)
        malloc_trim(0)
