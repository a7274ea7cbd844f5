"""What a Wikidata build did, without its words: counts, refusals by kind, items not built (`Unresolved`
with a code of `WHY`), and `Note`s the bot and the admin app word in the user's language."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Unresolved:
    """An item given that is not built: why as a `code` (a key of `WHY`) and its `params`; `why` in English."""

    item: str
    code: str
    params: dict = field(default_factory=dict, hash=False)

    @property
    def why(self) -> str:
        return WHY[self.code].format(**self.flat_params)

    @property
    def flat_params(self) -> dict:
        """`params` for a `str.format` template: an ambiguous name's choices as one 'Q1 label, Q2 label'."""
        params = dict(self.params)
        if "choices" in params:
            params["choices"] = ", ".join(f"{qid} {label}" for qid, label in params["choices"])
        return params


# Why an item was not built, in English (the CLI, the logs); the bot and the admin app translate the codes.
WHY = {
    "no_match": "no person of that name on Wikidata",
    "ambiguous": "ambiguous: {count} people match ({choices}); give the Q-id",
    "no_item": "no such Wikidata item",
    "not_person": "{label} is not a person (P31≠Q5)",
}


@dataclass(frozen=True)
class Note:
    """One fact of a build's summary without its words: a stable `code` (refused, no_photo, or an
    `Unresolved` code), its `params` (numbers, names, Q-ids, refusal kinds) and `text`, its English line."""

    code: str
    params: dict
    text: str


@dataclass
class Report:
    """What a build did: people added or updated, photos added, refusals by reason, people with none."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    photos_added: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    no_photo: list[str] = field(default_factory=list)  # "label (Q…)" with no usable photo
    unresolved: list[Unresolved] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The summary, one fact per line, in English (the CLI's; the bot words `notes` itself)."""
        out = [
            f"people added {len(self.added)}, updated {len(self.updated)}; photos added {self.photos_added}",
        ]
        return out + [note.text for note in self.notes()]

    def notes(self) -> list[Note]:
        """The summary's lines after the counts: refusals by kind, people without a photo, items not built.

        A refusal kind is `refused`'s key split into `kind` and `detail`: 'download_failed (404)' → kind
        download_failed, detail 404."""
        out = []
        if self.refused:
            reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(self.refused.items()))
            kinds = [{**split_kind(reason), "count": count} for reason, count in sorted(self.refused.items())]
            total = sum(self.refused.values())
            out.append(
                Note("refused", {"total": total, "reasons": kinds}, f"photos refused {total}: {reasons}")
            )
        if self.no_photo:
            people = ", ".join(self.no_photo)
            params = {"count": len(self.no_photo), "people": list(self.no_photo)}
            out.append(Note("no_photo", params, f"no usable photo ({len(self.no_photo)}): {people}"))
        for u in self.unresolved:
            out.append(Note(u.code, {"item": u.item, **u.params}, f"not found: {u.item}: {u.why}"))
        return out


def split_kind(reason: str) -> dict[str, str]:
    """A key of `Report.refused` → its kind and detail: 'download_failed (404)' → download_failed, 404."""
    kind, _, detail = reason.partition(" (")
    return {"kind": kind, "detail": detail.removesuffix(")")}
