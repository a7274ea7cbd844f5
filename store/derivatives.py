"""Which gallery photos may be changed (a morph is a derivative work), and which one a morph uses.

The rule (`derivative_permission`), on the licence name recorded with each photo:
- never: any "no derivatives" licence (CC BY-ND, BY-NC-ND, …), "all rights reserved", non-free or fair-use
  photos, and photos with no recorded licence (nothing says we may change them);
- never, too: non-commercial licences (the gallery builder refuses them already) and any licence this
  module does not know — an allow-list, so a new wording is refused until someone reads it;
- yes: public domain, CC0, CC BY, and the software licences the shipped demo photos come under (MIT, BSD,
  Apache); CC BY-SA and the GFDL too, but the morph is then shared under that licence (`share_alike`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from store.gallery import Credit, Gallery

_FORBIDS = re.compile(r"\bnd\b|no ?deriv|all rights reserved|non ?free|fair use|\bnc\b|non ?commercial")
_FREE = re.compile(
    r"^(pd\b.*|public domain.*|cc0.*|cc zero.*|cc by( \d(\.\d)?)?( [a-z]{2,3})?|mit|bsd.*|apache.*)$"
)
_SHARE_ALIKE = re.compile(r"^(cc by sa( \d(\.\d)?)?( [a-z]{2,3})?|gfdl.*|gnu free documentation.*)$")


@dataclass(frozen=True)
class Permission:
    """Whether a photo may be morphed; if so whether the morph must be shared under the same licence,
    else why not (one line)."""

    allowed: bool
    share_alike: bool = False
    reason: str = ""


def _normal(license_name: str) -> str:
    """'CC-BY-SA-4.0' and 'cc by-sa 4.0' → 'cc by sa 4.0': lower case, dashes and runs of spaces as one space."""
    return " ".join(license_name.lower().replace("-", " ").replace("_", " ").split())


def derivative_permission(license_name: str) -> Permission:
    """A photo's recorded licence name in; whether a morph may be made of it, and on what terms."""
    name = _normal(license_name)
    if not name:
        return Permission(False, reason="no licence recorded")
    if _FORBIDS.search(name):
        return Permission(False, reason=f"licence {license_name.strip()} does not allow changed copies")
    if _SHARE_ALIKE.match(name):
        return Permission(True, share_alike=True)
    if _FREE.match(name):
        return Permission(True)
    return Permission(False, reason=f"licence {license_name.strip()} is not known to allow changed copies")


@dataclass(frozen=True)
class MorphSource:
    """The gallery photo a morph uses: its id, whose it is, its credit, its face thumbnail (JPEG), and
    the licence the morph is shared under when it must be (share-alike), else ''."""

    photo_id: int
    name: str
    credit: Credit
    thumbnail: bytes
    morph_license: str = ""


class MorphRefused(Exception):
    """No photo of the celebrity may be morphed; the message says why (one line)."""


async def morph_source(gallery: Gallery, name: str, embedding: np.ndarray) -> MorphSource:
    """The celebrity's photo (by name or alias) nearest to `embedding` among those whose licence allows a
    morph. Raises `MorphRefused` when the celebrity is unknown or none of their photos may be used."""
    records = {record.photo_id: record for record in await gallery.photo_records(name)}
    if not records:
        raise MorphRefused(f"no celebrity called {name!r} in the gallery")
    stored_name = next(iter(records.values())).name
    usable: list[tuple[float, int]] = []
    refusals: dict[str, int] = {}
    for photo_id, vector in await gallery.photos_of(name):
        permission = derivative_permission(records[photo_id].credit.license)
        if permission.allowed:
            usable.append((float(np.linalg.norm(vector - embedding)), photo_id))
        else:
            refusals[permission.reason] = refusals.get(permission.reason, 0) + 1
    if not usable:
        why = "; ".join(f"{count} with {reason}" for reason, count in refusals.items())
        raise MorphRefused(f"no photo of {stored_name} may be morphed ({why})")
    photo_id = min(usable)[1]
    record = records[photo_id]
    thumbnail = await gallery.thumbnail(photo_id)
    if thumbnail is None:  # removed since the query above
        raise MorphRefused(f"the photo of {stored_name} was just removed from the gallery")
    permission = derivative_permission(record.credit.license)
    return MorphSource(
        photo_id=photo_id,
        name=record.name,
        credit=record.credit,
        thumbnail=thumbnail,
        morph_license=record.credit.license.strip() if permission.share_alike else "",
    )
