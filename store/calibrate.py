"""Keep a gallery's similarity calibration fitted: refit off the event loop, store it with the gallery.

`refit(gallery)` fits on the gallery's index in a worker thread (a sample of photos: a few matrix products
even for large galleries, engine/calibration.py), then stores the result under `calibration` in
`gallery_value` and swaps it in: answers never wait for it, and use the previous calibration meanwhile.
The CLI refits once at the end of a command that changed photos; the bot runs a `Refitter`, which
refits a while after the last change of a burst of adds (debounced) and once at start if the stored fit
is missing or older than the gallery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from engine.calibration import Calibration, fit_index
from store.gallery import CALIBRATION_KEY, Gallery

log = logging.getLogger(__name__)

REFIT_DELAY = 30.0  # seconds of quiet after the last change before the bot refits


async def refit(gallery: Gallery) -> Calibration:
    """Fit the gallery's calibration in a thread, store it and use it from now on; returns it.

    A gallery opened read-only keeps the fit in memory only (its answers still use it); a full disk
    → `GalleryDiskFull`, and the previous calibration stays, stored and in use."""
    calibration = await asyncio.to_thread(fit_index, gallery.index)
    if not gallery.read_only:
        await gallery.set_value(CALIBRATION_KEY, calibration.to_json())
    gallery.calibration = calibration
    return calibration


def stale(gallery: Gallery) -> bool:
    """Whether the stored fit does not describe the gallery as it is (photos added or removed since)."""
    return (
        gallery.calibration.photos != gallery.photo_count or gallery.calibration.reason_code == "not_fitted"
    )


class Refitter:
    """Refits a gallery `delay` seconds after the last of a burst of changes, one refit at a time."""

    def __init__(self, gallery: Gallery, delay: float = REFIT_DELAY) -> None:
        self.gallery = gallery
        self.delay = delay
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task | None = None
        self._again = False
        gallery.on_change.append(self.touch)

    def touch(self) -> None:
        """The gallery changed: (re)start the quiet timer. Called on the event loop."""
        loop = asyncio.get_running_loop()
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_later(self.delay, self._start)

    def _start(self) -> None:
        self._timer = None
        if self._task is not None and not self._task.done():
            self._again = True  # a refit is running: one more once it ends
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                calibration = await refit(self.gallery)
                log.info("similarity calibration: %s", calibration.reason)
            except Exception as exc:  # a failed refit keeps the previous calibration: answers go on
                log.warning("similarity calibration refit failed: %s: %s", type(exc).__name__, exc)
            if not self._again:
                return

    async def wait(self) -> None:
        """Wait for a running refit (tests, shutdown)."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task

    async def close(self) -> None:
        """Stop the timer and wait for a running refit; the gallery no longer notifies this refitter."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        with contextlib.suppress(ValueError):
            self.gallery.on_change.remove(self.touch)
        await self.wait()
