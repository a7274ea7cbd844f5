"""The face analysis as it was at a commit, loaded from git beside today's: what tests and benches compare
the new code with, in the same process."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]

# The commit before issue #20 (a third of the CPU per photo): numpy encoder, HOG on a copy of <= 1024 px.
BEFORE_ISSUE_20 = "3a90a12"


def _load(commit: str, relative: str, name: str, replace: dict[str, str]) -> ModuleType:
    """`relative` as it was at `commit`, with each `replace` key swapped for its value, imported as `name`."""
    source = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{commit}:{relative}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for old, new in replace.items():
        if old not in source:
            raise RuntimeError(f"{relative} at {commit} has no {old!r}")
        source = source.replace(old, new)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return module


@cache
def faces_at(commit: str = BEFORE_ISSUE_20) -> ModuleType:
    """`engine/faces.py` at `commit`, running `engine/encoder.py` and `engine/images.py` of that commit too."""
    tag = commit[:10]
    encoder = _load(commit, "engine/encoder.py", f"encoder_{tag}", {})
    images = _load(commit, "engine/images.py", f"images_{tag}", {})
    return _load(
        commit,
        "engine/faces.py",
        f"faces_{tag}",
        {
            "from engine.encoder import": f"from {encoder.__name__} import",
            "from engine.images import": f"from {images.__name__} import",
        },
    )


# Main's drawing code when the collage caches (engine/pictures/reuse.py) were started.
BEFORE_COLLAGE_CACHE = "2650e364f3868312c17847fdea0ef62da51ef41b"


@cache
def pictures_at(commit: str = BEFORE_COLLAGE_CACHE) -> ModuleType:
    """The package `engine/pictures` at `commit`, imported whole as `pictures_<commit>` (its modules import
    each other under that name)."""
    name = f"pictures_{commit[:10]}"
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-tree", "--name-only", f"{commit}:engine/pictures"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    with tempfile.TemporaryDirectory() as folder:
        package = Path(folder) / name
        package.mkdir()
        for file in (f for f in listed if f.endswith(".py")):
            source = subprocess.run(
                ["git", "-C", str(REPO), "show", f"{commit}:engine/pictures/{file}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            (package / file).write_text(source.replace("engine.pictures", name), encoding="utf-8")
        sys.path.insert(0, folder)
        try:
            return importlib.import_module(name)  # imports every module of the package (its __init__ does)
        finally:
            sys.path.remove(folder)


@cache
def render_at(commit: str = BEFORE_COLLAGE_CACHE) -> ModuleType:
    """`service/render.py` at `commit`, drawing with `pictures_at(commit)`."""
    pictures = pictures_at(commit)
    return _load(
        commit,
        "service/render.py",
        f"render_{commit[:10]}",
        {"from engine.pictures import": f"from {pictures.__name__} import"},
    )
