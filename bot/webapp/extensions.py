"""What the Mini App's Audit and Status pages show from features built elsewhere, as plain Python.

The server takes an `Extensions` object; each slot left `None` is shown in the app as "not available in
this build" (never as made-up data). A feature plugs in by passing an object with these methods:

- `audit` (`AuditSource`): `lookalike audit`'s suspects — photos that may be of someone else, and one
  person under two names — and the admin's "keep" decision. Removing a photo goes through the gallery.
- `calibration` (`CalibrationSource`): the fitted similarity curve and the gallery's own distances, for
  the Status page's plot.
- `cluster` (`ClusterSource`): the face workers (e.g. a Dask cluster's), for the Status page.
- `wikidata` (`WikidataBuilder`): a gallery build from Wikidata, started from the app, with its progress.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol


@dataclass(frozen=True)
class Suspect:
    """One audit finding. `wrong_photo`: `photo_id` of `name` looks like someone else (`other_name`, or
    unlike `name`'s other photos when None). `two_names`: `name` and `other_name` look like one person
    (`photo_id` and `other_photo_id`: a photo of each). `distance` is what made it suspect."""

    kind: Literal["wrong_photo", "two_names"]
    name: str
    photo_id: int
    distance: float
    other_name: str | None = None
    other_photo_id: int | None = None


class AuditSource(Protocol):
    async def suspects(self) -> list[Suspect]:
        """The current findings, most suspect first (kept photos and distinct pairs left out)."""
        ...

    async def keep(self, suspect: Suspect) -> None:
        """The admin looked and it is right: never report it again (`keep_photo` / `mark_distinct`)."""
        ...


@dataclass(frozen=True)
class CalibrationPlot:
    """`curve`: (distance, similarity %) points of the fitted curve; `same` and `different`: the gallery's
    own distances between photos of one celebrity and of two, which the curve was fitted to."""

    curve: list[tuple[float, float]]
    same: list[float] = field(default_factory=list)
    different: list[float] = field(default_factory=list)
    fitted: bool = True  # False: the fixed curve, for `note`'s reason (e.g. too small a gallery)
    boundary: float | None = None  # the same-person boundary the curve is centred on
    note: str = ""  # in English; the app words `note_code` (engine/calibration.py REASONS) itself
    note_code: str = ""
    note_params: dict = field(default_factory=dict)


class CalibrationSource(Protocol):
    async def plot(self) -> CalibrationPlot | None:
        """The calibration in use (fitted, or the fixed curve with a note), or None when unknown."""
        ...


@dataclass(frozen=True)
class WorkerState:
    """One face worker: where it runs, how many photos it has in work (queued ones included) and how many
    it works on at once (`slots`: the local pool's processes, a Dask worker's threads)."""

    address: str
    in_work: int
    slots: int = 1


class ClusterSource(Protocol):
    async def workers(self) -> list[WorkerState]: ...


@dataclass(frozen=True)
class BuildNote:
    """One line of a build's summary: `text` in English, and the same as a `code` and its `params` for the
    app to word in the admin's language (store/wikidata_build.py `Note`)."""

    code: str
    text: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class BuildProgress:
    """A Wikidata build: `state` is running, done or failed; people `done` of `total` so far; once done,
    celebrities `added` and `updated` and `photos` added; `detail`: why it failed; `notes`: one each
    for people not found or without a usable photo, and photos refused by reason."""

    state: Literal["running", "done", "failed"]
    done: int = 0
    total: int = 0
    added: int = 0
    updated: int = 0
    photos: int = 0
    detail: str = ""
    notes: list[BuildNote] = field(default_factory=list)


class WikidataBuilder(Protocol):
    async def start(self, items: list[str]) -> bool:
        """Start building `items` (Q-ids or names) in the background; False when a build is running."""
        ...

    def progress(self) -> BuildProgress | None:
        """The running or last build's progress, or None if there was none."""
        ...


@dataclass
class Extensions:
    """The optional features the app shows; None = not in this build."""

    audit: AuditSource | None = None
    calibration: CalibrationSource | None = None
    cluster: ClusterSource | None = None
    wikidata: WikidataBuilder | None = None

    async def close(self) -> None:
        """Stop what the features run in the background (a build in progress), if they have a `close`."""
        for part in (self.audit, self.calibration, self.cluster, self.wikidata):
            close = getattr(part, "close", None)
            if close is not None:
                await close()
