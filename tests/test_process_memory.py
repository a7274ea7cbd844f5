"""glibc's malloc set by `engine.process_memory.steady_malloc`: freed photo-sized blocks go back to the
system within its trimming interval, and are reused at no page fault's cost until then."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.paths import REPO

# A process that frees one large block (glibc then raises its mmap threshold), then makes 100 photo-sized
# buffers beside small objects that live on, frees the buffers, waits for a trim, and prints the MB it
# still holds.
SCENARIO = """
import sys, time, psutil
sys.path.insert(0, {repo!r})
if {steady}:
    from engine.process_memory import steady_malloc
    assert steady_malloc(trim_every=0.1)
rss = lambda: psutil.Process().memory_info().rss / 2**20
big = bytearray(4 << 20); del big
base = rss()
blocks, kept = [], []
for n in range(100):
    blocks.append(bytearray(1 << 20))
    kept.append(bytearray(600))
del blocks
time.sleep(0.5)
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


# Copies of the collage's canvas (8 MB as Pillow stores it), freed each time: the minor page faults of the
# last 29 (the first one may fault its pages in).
REUSE = """
import resource, sys
sys.path.insert(0, {repo!r})
from PIL import Image
from engine.process_memory import steady_malloc
assert steady_malloc(trim_every=3600)
canvas = Image.new("RGB", (1500, 1350))
canvas.copy()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(29):
    copy = canvas.copy()
    del copy
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_a_freed_canvas_is_reused_between_trims_without_faulting_its_pages_in_again() -> None:
    """Between trims a freed block is reused as it is: a fixed mmap threshold (the way before) faulted in
    all ~2000 pages of the canvas on every copy, ~6 ms each here."""
    code = REUSE.format(repo=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert int(done.stdout.strip()) < 29 * 100
