"""Keep a long-running process's memory from ratcheting up: glibc's malloc, set once at start."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

# mallopt's parameters (glibc's malloc.h)
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 256 * 1024  # bytes: a photo, its pixels, a collage are above it
ARENA_MAX = 2


def steady_malloc() -> bool:
    """Have glibc give large blocks back when freed and share two arenas between threads; False (and
    nothing done) where the C library is not glibc.

    Why: glibc raises its mmap threshold after the first large block is freed, so later photos' buffers
    come from the heap and stay there, fragmented; and each thread that contends gets an arena of its own
    (up to 8 a core). Both show as resident memory that grows in steps over hours and never comes back.
    A fixed threshold costs a few page faults per photo."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    done = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_ARENA_MAX, ARENA_MAX) == 1
    if not done:
        log.debug("mallopt refused: memory left as the C library sets it")
    return done
