"""glibc's malloc set by `engine.process_memory.steady_malloc`: photo-sized blocks go back when freed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.paths import REPO

# A process that frees one large block (glibc then raises its mmap threshold), then makes 100 photo-sized
# buffers beside small objects that live on, frees the buffers, and prints the MB it still holds.
SCENARIO = """
import sys, psutil
sys.path.insert(0, {repo!r})
if {steady}:
    from engine.process_memory import steady_malloc
    assert steady_malloc()
rss = lambda: psutil.Process().memory_info().rss / 2**20
big = bytearray(4 << 20); del big
base = rss()
blocks, kept = [], []
for n in range(100):
    blocks.append(bytearray(1 << 20))
    kept.append(bytearray(600))
del blocks
print(rss() - base)
"""


def held_mb(steady: bool) -> float:
    code = SCENARIO.format(repo=str(REPO), steady=steady)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return float(done.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_freed_photo_sized_buffers_go_back_to_the_system() -> None:
    assert held_mb(steady=True) < 1.0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_without_it_glibc_keeps_them() -> None:
    """Why `steady_malloc` exists: if glibc stops doing this, it can go."""
    assert held_mb(steady=False) > 2.0
