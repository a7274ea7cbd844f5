"""`lookalike morph PHOTO [--with NAME] [--mix M] [--out PATH] [--json]`: the largest face of PHOTO blended
with a photo of its #1 lookalike (or of NAME) into a square JPEG with the photo's credit (engine/morph.py).

Exit status as `match`: 3 no face, 4 unreadable photo, 2 bad usage (a mix outside 0..1, an unknown NAME),
1 when no photo of the celebrity may be changed (store/derivatives.py says why).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from cli.console import EXIT_FAILURE, EXIT_NO_FACE, EXIT_OK, EXIT_UNREADABLE, EXIT_USAGE, CliError, print_json

if TYPE_CHECKING:  # the models and the gallery are imported when the command runs: `--help` stays fast
    import numpy as np

    from store.derivatives import MorphSource
    from store.gallery import Gallery


def add_morph_command(commands: argparse._SubParsersAction) -> None:
    """Register `morph` on the CLI's sub-commands (its family in cli/main.py runs `cmd_morph`)."""
    morph = commands.add_parser("morph", help="your face blended with your lookalike's (or NAME's)")
    morph.add_argument("photo", metavar="PHOTO")
    morph.add_argument(
        "--with", dest="celebrity", metavar="NAME", help="this celebrity (name or alias), not the #1"
    )
    morph.add_argument(
        "--mix",
        type=mix_value,
        default=0.5,
        metavar="M",
        help="0 is your face, 1 the celebrity's (default 0.5: halfway)",
    )
    morph.add_argument("--out", metavar="PATH", help="the picture (default PHOTO_STEM.morph.jpg)")
    morph.add_argument("--json", action="store_true", help="one JSON object")


def mix_value(text: str) -> float:
    """'0.3' → 0.3; anything not a number from 0 to 1 is bad usage."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, got {text}")
    return value


def footer_lines(source: MorphSource, mix: float) -> list[str]:
    """The credit drawn on the picture: who is blended how much, the photo's licence and author (the licence
    first: a long author is what the width cuts), and the morph's own licence when the photo's is
    share-alike."""
    author = source.credit.author.strip() or "author not recorded"
    license_name = source.credit.license.strip()
    lines = [
        f"You {round((1 - mix) * 100)}% · {source.name} {round(mix * 100)}%",
        f"Photo of {source.name}: {license_name or 'licence not recorded'} · {author}",
    ]
    if source.morph_license:
        lines.append(f"This morph is shared under {source.morph_license}")
    return lines


def output_path(photo: str, out: str | None) -> Path:
    """Where the picture goes: --out (a folder gets PHOTO_STEM.morph.jpg inside), else that name here."""
    name = f"{Path(photo).stem}.morph.jpg"
    if out is None:
        return Path(name)
    target = Path(out)
    return target / name if target.is_dir() else target


def _fail(args: argparse.Namespace, code: str, message: str, status: int) -> CliError:
    """The error for one line on stderr; with --json, its object on stdout too (as `match` does)."""
    if args.json:
        print_json({"photo": args.photo, "error": {"code": code, "message": message}})
    return CliError(
        f"{args.photo}: {message}" if status in (EXIT_NO_FACE, EXIT_UNREADABLE) else message, status
    )


async def _celebrity(args: argparse.Namespace, gallery: Gallery, embedding: np.ndarray) -> str:
    """The name to morph with: --with NAME as stored (unknown → bad usage), else the #1 lookalike."""
    if args.celebrity is None:
        return gallery.rank(embedding, 1)[0].name
    name = await gallery.find(args.celebrity)
    if name is None:
        raise _fail(
            args,
            "unknown_name",
            f"--with {args.celebrity}: no such celebrity in the gallery (`lookalike list` names them)",
            EXIT_USAGE,
        )
    return name


async def cmd_morph(args: argparse.Namespace, db: Path) -> int:
    """Run `lookalike morph`; returns the exit status (failures raise `CliError`)."""
    from cli.galleries import readable_gallery
    from engine.faces import FaceModels
    from engine.images import ImageError, decode_photo, read_source
    from engine.landmarks import Landmarker
    from engine.morph import render_morph
    from store.derivatives import MorphRefused, morph_source

    models = FaceModels()
    try:
        data = read_source(args.photo)
        analysis = models.analyze(data, max_faces=1)
    except ImageError as exc:
        message = f"too large: {exc.message}" if exc.code == "too_large" else exc.message
        code = "bad_image" if exc.code == "too_large" else exc.code
        raise _fail(args, code, message, EXIT_UNREADABLE) from None
    if not analysis.faces:
        raise _fail(args, "no_face", "no face found", EXIT_NO_FACE)
    face = analysis.faces[0]
    landmarker = Landmarker()
    # Decoded again for the landmarks (a few ms): `analyze` keeps no pixels.
    user = landmarker.keep(decode_photo(data).pixels, face.box)
    async with readable_gallery(db) as gallery:
        name = await _celebrity(args, gallery, face.embedding)
        try:
            source = await morph_source(gallery, name, face.embedding)
        except MorphRefused as exc:
            raise _fail(args, "not_allowed", str(exc), EXIT_FAILURE) from None
    celebrity = landmarker.keep_thumbnail(source.thumbnail)
    target = output_path(args.photo, args.out)
    try:
        target.write_bytes(render_morph(user, celebrity, args.mix, footer_lines(source, args.mix)))
    except OSError as exc:
        raise _fail(
            args, "not_written", f"{target}: cannot write: {exc.strerror or exc}", EXIT_FAILURE
        ) from None
    _report(args, source, target)
    return EXIT_OK


def _report(args: argparse.Namespace, source: MorphSource, target: Path) -> None:
    """The JSON object, or a line for people (with the morph's own licence when share-alike)."""
    credit = source.credit
    if args.json:
        print_json(
            {
                "photo": args.photo,
                "celebrity": source.name,
                "celebrity_photo_id": source.photo_id,
                "mix": args.mix,
                "out": str(target),
                "credit": {"author": credit.author, "license": credit.license, "source": credit.source_page},
                "morph_license": source.morph_license or None,
            }
        )
        return
    print(
        f"morph: {target} ({args.photo} {round((1 - args.mix) * 100)}% · {source.name} "
        f"{round(args.mix * 100)}%, photo {source.photo_id} by {credit.author or 'unknown author'}, "
        f"{credit.license})"
    )
    if source.morph_license:
        print(f"  the morph is shared under {source.morph_license}, as the photo is")
