"""Start as the bot does and say when ready: import the project, open the gallery, load the face models.

`python bench/startup.py GALLERY` prints one line `READY {json}` on stdout once the gallery's index is
loaded and a `FaceModels` is built, then closes the gallery and exits. bench/run.py times it from before
`Popen` to that line; the JSON carries this process's own stage times and its peak resident memory
(VmHWM).
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()  # before any project import: the stages below are measured from here

import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from engine.faces import FaceModels  # noqa: E402
from store.gallery import Gallery  # noqa: E402

IMPORTED = time.perf_counter()


def peak_rss_mb() -> float:
    """This process's peak resident set so far, in MB.

    Linux's VmHWM belongs to this program's own memory map. ru_maxrss is no good here: it carries over
    the parent's resident size across fork and exec, so a big bench parent would inflate it.
    """
    with contextlib.suppress(OSError), open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux, bytes on macOS


async def start(path: str) -> None:
    """Open the gallery and build the models, as the bot does before it answers anyone; say READY."""
    gallery = await Gallery.open(path)
    try:
        loaded = time.perf_counter()
        rss_gallery = peak_rss_mb()
        FaceModels()  # only its load time and memory matter here (ru_maxrss keeps the peak)
        ready = time.perf_counter()
        report = {
            "photos": gallery.photo_count,
            "import_s": IMPORTED - STARTED,
            "gallery_s": loaded - IMPORTED,
            "models_s": ready - loaded,
            "ready_s": ready - STARTED,
            "rss_mb_gallery": rss_gallery,
            "rss_mb_ready": peak_rss_mb(),
        }
        # Flushed at once: the parent stops its clock on this line.
        print("READY " + json.dumps(report), flush=True)
    finally:
        await gallery.close()


def main() -> None:
    asyncio.run(start(sys.argv[1]))


if __name__ == "__main__":
    main()
