"""A photo a front end holds (a Telegram file), known by reference until it is fetched."""

from __future__ import annotations

from dataclasses import dataclass

from engine.images import MAX_FILE_BYTES


@dataclass(frozen=True)
class PhotoRef:
    """A photo held by a front end: its file id, its size if known, whether it is an image (or a zip)."""

    file_id: str
    file_size: int | None
    is_image: bool
    is_zip: bool = False

    @property
    def too_large(self) -> bool:
        return self.file_size is not None and self.file_size > MAX_FILE_BYTES
