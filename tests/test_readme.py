"""The README's front door: its first command works in a clone that has no ../shared beside it.

The command is read from README.md (the first `uv run` line of the quick start), run from a copy of the
repository's files in a folder with nothing beside it, with `uv run` standing for this environment's
python; its output must be the one the README shows.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

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
