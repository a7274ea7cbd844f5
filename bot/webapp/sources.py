"""The Mini App's Audit and Status features, built on the bot's own parts (`extensions_for(svc)`):

- `GalleryAudit`: `lookalike audit`'s findings (store/audit.py) as `Suspect`s; "keep" is `keep_photo` for
  a wrong photo and `mark_distinct` for two names, as `/audit keep` and `/audit distinct` do.
- `GalleryCalibration`: the gallery's calibration (store/calibrate.py keeps it fitted) as a plot: its curve
  over distances 0..1.2 and a sample of the gallery's own same-person and nearest-other distances.
- `PoolWorkers`: the face workers — the bot's own pool, or the Dask cluster's workers — and their photos.
- `AppWikidataBuild`: `/wikidata`'s build (service/wikidata.py), started from the app, its progress kept here.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from typing import TYPE_CHECKING

import numpy as np

from bot.webapp.extensions import (
    BuildNote,
    BuildProgress,
    CalibrationPlot,
    Extensions,
    Suspect,
    WorkerState,
)
from engine.calibration import distance_samples
from engine.pool import FacePool
from service.services import Services
from service.wikidata import PHOTOS, build_people, wikimedia_client
from store.audit import audit_gallery
from store.gallery import Gallery
from store.wikidata_build import Report
from store.wikimedia import Wikimedia, WikimediaError

if TYPE_CHECKING:  # engine.cluster imports distributed: only when a cluster is configured
    from engine.cluster import ClusterPool

log = logging.getLogger(__name__)

PLOT_MAX = 1.2  # distances plotted: beyond it every curve is at 0 %
PLOT_POINTS = 61
SAMPLED_PHOTOS = 300  # photos whose distances are sampled for the plot (cheap even on large galleries)
PLOTTED_DISTANCES = 600  # at most this many distances of each kind are sent to the page


class GalleryAudit:
    """The gallery's audit as the app's suspects, most suspect first (wrong photos, then two names)."""

    def __init__(self, gallery: Gallery) -> None:
        self.gallery = gallery

    async def suspects(self) -> list[Suspect]:
        report = await audit_gallery(self.gallery)
        found = [Suspect("wrong_photo", s.name, s.photo_id, round(s.distance, 4)) for s in report.outliers]
        for double in report.doubles:
            first, second = double.names
            photo, other_photo = await self._cover(first), await self._cover(second)
            if photo is None:  # removed meanwhile
                continue
            found.append(Suspect("two_names", first, photo, round(double.distance, 4), second, other_photo))
        return found

    async def _cover(self, name: str) -> int | None:
        photos = await self.gallery.photos_of(name)
        return photos[0][0] if photos else None

    async def keep(self, suspect: Suspect) -> None:
        if suspect.kind == "two_names" and suspect.other_name:
            await self.gallery.mark_distinct(suspect.name, suspect.other_name)
        else:
            await self.gallery.keep_photo(suspect.photo_id)


class GalleryCalibration:
    """The gallery's current calibration as a plot; the sampled distances are kept until it changes."""

    def __init__(self, gallery: Gallery) -> None:
        self.gallery = gallery
        self._samples: tuple[object, list[float], list[float]] | None = None

    async def plot(self) -> CalibrationPlot:
        calibration = self.gallery.calibration
        same, nearest = await self._distances()
        distances = np.linspace(0.0, PLOT_MAX, PLOT_POINTS)
        curve = [(round(float(d), 3), round(calibration.similarity(float(d)), 2)) for d in distances]
        return CalibrationPlot(
            curve,
            same,
            nearest,
            calibration.fitted,
            calibration.boundary,
            calibration.reason,
            calibration.reason_code,
            dict(calibration.reason_params),
        )

    async def _distances(self) -> tuple[list[float], list[float]]:
        """The sampled distances, measured again only after a refit (the Refitter follows the gallery's
        changes): not on every poll of the Status page while a build adds photos."""
        calibration = self.gallery.calibration
        if self._samples is None or self._samples[0] is not calibration:
            same, nearest = await asyncio.to_thread(distance_samples, self.gallery.index, SAMPLED_PHOTOS)
            self._samples = (calibration, _thin(same), _thin(nearest))
        return self._samples[1], self._samples[2]


def _thin(values: np.ndarray) -> list[float]:
    """At most `PLOTTED_DISTANCES` of `values`, evenly spread over their sorted order, rounded."""
    ordered = np.sort(values)
    if len(ordered) > PLOTTED_DISTANCES:
        ordered = ordered[np.linspace(0, len(ordered) - 1, PLOTTED_DISTANCES).round().astype(int)]
    return [round(float(v), 4) for v in ordered]


class PoolWorkers:
    """The face workers: the bot's own pool as one row (its processes, the photos in it), or each worker
    of the Dask cluster (its threads, the photos the scheduler has it working on)."""

    def __init__(self, pool: FacePool | ClusterPool) -> None:
        self.pool = pool

    async def workers(self) -> list[WorkerState]:
        if self.pool.kind == "cluster":
            load = await self.pool.worker_load()
            return [WorkerState(address, busy, threads) for address, (threads, busy) in sorted(load.items())]
        return [WorkerState(f"local {self.pool.kind} pool", self.pool.pending, self.pool.workers)]


class AppWikidataBuild:
    """One Wikidata build at a time, run in the bot's event loop like `/wikidata` (its photos and limits)."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self._task: asyncio.Task | None = None
        self._progress: BuildProgress | None = None

    async def start(self, items: list[str]) -> bool:
        """Raises `NoContact` (nothing started) for the public endpoints without WIKIMEDIA_CONTACT."""
        if self._task is not None and not self._task.done():
            return False
        client = wikimedia_client()
        self._progress = BuildProgress("running", total=len(items))
        self._task = asyncio.create_task(self._run(items, client), name="mini-app-wikidata")
        return True

    def progress(self) -> BuildProgress | None:
        return self._progress

    def _update(self, **changes: object) -> None:
        assert self._progress is not None
        self._progress = dataclasses.replace(self._progress, **changes)  # type: ignore[arg-type]

    async def _run(self, items: list[str], client: Wikimedia) -> None:
        try:
            # Names in Korean, the language of the bot's users, as /wikidata does.
            report = await build_people(
                self.svc.gallery,
                self.svc.pool.analyze,
                items,
                photos=PHOTOS,
                lang="ko",
                on_people=lambda total: self._update(total=total),
                on_person=lambda _item: self._update(done=self._progress.done + 1),  # type: ignore[union-attr]
                client=client,
            )
        except WikimediaError as exc:
            log.warning("mini app wikidata: %s", exc)
            self._update(state="failed", detail=str(exc)[:300])
            return
        except Exception as exc:  # said on the page (no traceback); the bot goes on
            log.warning("mini app wikidata failed: %s: %s", type(exc).__name__, exc)
            self._update(state="failed", detail=f"{type(exc).__name__}: {exc}"[:300])
            return
        self._finish(report)

    def _finish(self, report: Report) -> None:
        self._update(
            state="done",
            added=len(report.added),
            updated=len(report.updated),
            photos=report.photos_added,
            notes=[BuildNote(n.code, n.text, n.params) for n in report.notes()],
        )
        log.info("mini app wikidata: %s people, %s photos added", len(report.added), report.photos_added)

    async def close(self) -> None:
        """Stop a build in progress (what it added stays; a rerun carries on where it stopped)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._progress is not None and self._progress.state == "running":
            self._update(state="failed", detail="stopped with the bot")


def extensions_for(svc: Services) -> Extensions:
    """Every feature the app shows, on `svc`'s gallery and pool."""
    return Extensions(
        audit=GalleryAudit(svc.gallery),
        calibration=GalleryCalibration(svc.gallery),
        cluster=PoolWorkers(svc.pool),
        wikidata=AppWikidataBuild(svc),
    )
