"""Which Commons licences allow a photo in the gallery: reuse with credit (public domain, CC0, CC BY,
CC BY-SA), read from a file's extmetadata (https://www.mediawiki.org/wiki/Extension:CommonsMetadata)."""

from __future__ import annotations

import re


def extmetadata_value(meta: dict, key: str) -> str:
    """A file's extmetadata and a field name → that field's value, stripped ('' when absent)."""
    value = meta.get(key, {})
    return str(value.get("value", "")).strip() if isinstance(value, dict) else ""


# Licences that allow reuse with credit: public domain, CC0, CC BY and CC BY-SA of any version (and port).
_FREE = re.compile(r"^(pd\b|public domain|cc0|cc-zero|cc[- ]by(-sa)?([- ]\d(\.\d)?)?([- ][a-z]{2,3})?$)")
_RESTRICTED = re.compile(r"\b(nc|nd)\b|non-?commercial|no-?deriv|fair use|non-?free")


def license_verdict(meta: dict) -> tuple[str, str]:
    """(licence name, refusal) from a file's extmetadata; refusal is empty when the licence is usable."""
    short = extmetadata_value(meta, "LicenseShortName") or extmetadata_value(meta, "UsageTerms")
    code = extmetadata_value(meta, "License").lower()
    name = short or code
    if not name:
        return "", "license: none given"
    if extmetadata_value(meta, "NonFree").lower() == "true":
        return name, f"license: non-free ({name})"
    for text in (code, short.lower()):
        if text and _RESTRICTED.search(text.replace("-", " ")):
            return name, f"license: {name}"
    if any(_FREE.match(text.strip()) for text in (code, short.lower()) if text):
        return name, ""
    return name, f"license: {name}"
