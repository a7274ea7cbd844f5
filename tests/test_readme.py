"""The README's front door: its first command works in a clone that has no ../shared beside it, and
every link from README.md and docs/*.md leads somewhere.

The command is read from README.md (the first `uv run` line of the quick start), run from a copy of the
repository's files in a folder with nothing beside it, with `uv run` standing for this environment's
python; its output must be the one the README shows. Links are read with a CommonMark parser (so code
blocks are not links); a relative link must name a file or folder that exists, and an `#anchor` must match
a heading of the page it points to, by GitHub's slug rules.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from tests.paths import REPO

LEFT_OUT = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", "*.sqlite*"
)


def quick_start() -> tuple[list[str], str]:
    """The quick start's first command (as words, without its comment) and the output the README shows."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(\w*)\n(.*?)```", section, re.DOTALL)
    commands = next(body for kind, body in blocks if kind == "sh")
    first = next(line for line in commands.splitlines() if line.startswith("uv run "))
    shown = next(body for kind, body in blocks if kind == "")
    return shlex.split(first.split("#", 1)[0]), shown


def rows(output: str) -> list[tuple[str, str]]:
    """(rank, celebrity) of each table row of `lookalike match`'s output."""
    return re.findall(r"^\s+(\d)\s{2}(\S.*?)\s{2,}\d\.\d{3}\s", output, re.MULTILINE)


def test_the_readme_first_command_works_without_the_shared_photos(tmp_path: Path) -> None:
    words, shown = quick_start()
    assert words[:3] == ["uv", "run", "lookalike"], words
    clone = tmp_path / "clone" / "lookalike"
    shutil.copytree(REPO, clone, ignore=LEFT_OUT)
    assert not (clone.parent / "shared").exists()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOOKALIKE_", "PYTHONPATH"))}
    env.update(
        LOOKALIKE_FACES_DIR=str(tmp_path / "nowhere"),  # what the tests use: absent here
        LOOKALIKE_DB=str(tmp_path / "home" / "gallery.sqlite"),  # a new user's (absent) gallery
        PYTHONPATH=str(clone),  # the copy's code, not this checkout's
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot", *words[3:]],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "demo gallery" in done.stderr
    photo = words[4]
    assert (clone / photo).is_file() and not photo.startswith("..")
    assert done.stdout.splitlines()[0] == photo
    assert rows(done.stdout) == rows(shown) and rows(shown)  # the ranking the README shows
    collage = re.search(r"collage: (\S+)", shown)
    assert collage and (clone / collage.group(1)).is_file()


def github_slug(heading: str) -> str:
    """A heading's text → its anchor as GitHub makes it: lower case, punctuation and symbols dropped
    (letters of any script, digits, '-' and '_' kept), each space a '-'."""
    kept = (
        c
        for c in heading.lower()
        if c in "- _" or unicodedata.category(c)[0] in "LNM" or unicodedata.category(c) == "Pc"
    )
    return "".join(kept).replace(" ", "-")


def _inline_children(tokens: list[Token]) -> Iterator[Token]:
    """Every inline token's children, in document order."""
    for token in tokens:
        if token.type == "inline" and token.children:
            yield from token.children


def anchors(markdown: str) -> set[str]:
    """The anchors of a page's headings, repeated ones numbered as GitHub does (-1, -2, ...)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    seen: dict[str, int] = {}
    found: set[str] = set()
    for opening, inline in pairwise(tokens):
        if opening.type != "heading_open":
            continue
        text = "".join(c.content for c in inline.children or [] if c.type in ("text", "code_inline"))
        slug = github_slug(text)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def links(markdown: str) -> list[str]:
    """The targets of every link and image of a page (not the text inside code)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    targets = []
    for child in _inline_children(tokens):
        if child.type == "link_open":
            targets.append(str(child.attrs["href"]))
        elif child.type == "image":
            targets.append(str(child.attrs["src"]))
    return targets


def broken_links(page: Path) -> list[str]:
    """Each relative link of `page` whose file is missing or whose #anchor names no heading there."""
    broken = []
    for target in links(page.read_text(encoding="utf-8")):
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            continue  # the web: not checked here (no network)
        path = page.parent / unquote(parts.path) if parts.path else page
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif parts.fragment and (
            path.suffix != ".md" or unquote(parts.fragment) not in anchors(path.read_text(encoding="utf-8"))
        ):
            broken.append(f"{target}: no heading with that anchor in {path.name}")
    return broken


def documentation() -> list[Path]:
    """README.md and every page under docs/."""
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


@pytest.mark.parametrize("page", documentation(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_of_the_documentation_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_the_readme_links_to_every_page_under_docs() -> None:
    targets = {urlsplit(t).path for t in links((REPO / "README.md").read_text(encoding="utf-8"))}
    assert {f"docs/{p.name}" for p in documentation()[1:]} <= targets


def test_headings_become_anchors_by_githubs_rules() -> None:
    page = "\n".join(
        [
            "# Similarity %, the audit",
            "## `match --json` and the exit status",
            "## Full runs of bench/run.py",
            "## 나랑 닮은 연예인은 누구?",
            "## Steps",
            "## Steps",
            "```sh",
            "# a comment in code, not a heading",
            "```",
        ]
    )
    assert anchors(page) == {
        "similarity--the-audit",  # "%" and "," dropped, both spaces kept
        "match---json-and-the-exit-status",
        "full-runs-of-benchrunpy",
        "나랑-닮은-연예인은-누구",
        "steps",
        "steps-1",
    }


def test_a_missing_file_or_anchor_is_reported_and_code_is_not_read_as_links(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## Its part\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n"
        "[ok](other.md#its-part) [ok](#page) [ok](other.md) [web](https://example.org/#nowhere)\n"
        "[gone](missing.md) [bad](other.md#no-such-part) [bad here](#nowhere)\n\n"
        "```\n[in code](also-missing.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#no-such-part: no heading with that anchor in other.md",
        "#nowhere: no heading with that anchor in page.md",
    ]
