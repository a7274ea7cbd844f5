"""`lookalike audit`: suspect photos and double names, and the admin's decisions on them; and how the
similarity calibration is described (`list`, `import`, `/stats`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from cli.console import EXIT_OK, CliError, print_json
from engine.calibration import Calibration
from store.audit import audit_gallery
from store.calibrate import refit
from store.curate import Outcome
from store.gallery import Gallery, GalleryError


def calibration_line(calibration: Calibration) -> str:
    """One line saying how similarity % is computed on this gallery."""
    if calibration.fitted:
        return (
            f"similarity %: {calibration.reason}; 50 % at distance "
            f"{calibration.half_point:.3f}, same-person boundary {calibration.boundary:.3f}"
        )
    return f"similarity %: dlib's fixed curve (50 % at distance 0.6): {calibration.reason}"


def calibration_json(calibration: Calibration) -> dict:
    return {
        "fitted": calibration.fitted,
        "reason": calibration.reason,
        "half_point": round(calibration.half_point, 4),
        "boundary": calibration.boundary,
        "celebrities": calibration.celebrities,
        "photos": calibration.photos,
    }


def print_suspects(outcomes: list[Outcome]) -> None:
    """The warnings of photos added far from their celebrity's other photos."""
    for o in outcomes:
        print(
            f"  warning {o.source}: far from {o.name}'s other photos (median distance {o.outlier:.3f}); "
            f"photo {o.photo_id} was added: check it with `lookalike audit`"
        )


async def cmd_audit(args: argparse.Namespace, db: Path) -> int:
    if not db.is_file():
        raise CliError(f"no gallery at {db}", 1)
    gallery = await Gallery.open(db)
    try:
        if args.keep or args.drop or args.distinct:
            return await _decide(args, gallery)
        report = await audit_gallery(gallery)
    finally:
        await gallery.close()
    if args.json:
        for finding in report.outliers:
            print_json(finding.to_json())
        for double in report.doubles:
            print_json(double.to_json())
        return EXIT_OK
    print(
        f"suspect photos: {len(report.outliers)} (median distance to the celebrity's other photos "
        f"above {report.outlier_line:.3f})"
    )
    for s in report.outliers:
        print(f"  photo {s.photo_id}\t{s.name}\t{s.distance:.3f}\t{s.source}")
    print(
        f"probably one person: {len(report.doubles)} pairs (median distance below {report.same_person_line:.3f})"
    )
    for d in report.doubles:
        print(f"  {d.names[0]} = {d.names[1]}\t{d.distance:.3f}")
    if report.outliers or report.doubles:
        print(
            "decide: --keep PHOTO_ID (right photo), --drop PHOTO_ID (remove it), "
            "--distinct NAME OTHER (different people), or `lookalike alias` / `remove` to merge names"
        )
    return EXIT_OK


async def _decide(args: argparse.Namespace, gallery: Gallery) -> int:
    """Record one admin decision: keep a photo, drop it, or declare two names different people."""
    if args.keep:
        if not await gallery.keep_photo(args.keep):
            raise CliError(f"no photo {args.keep}", 1)
        print(f"photo {args.keep} kept: the audit will not report it again")
    elif args.drop:
        name = await gallery.remove_photo(args.drop)
        if name is None:
            raise CliError(f"no photo {args.drop}", 1)
        await refit(gallery)
        print(f"photo {args.drop} of {name} removed")
    else:
        first, second = args.distinct
        try:
            await gallery.mark_distinct(first, second)
        except GalleryError as exc:
            raise CliError(str(exc), 1) from None
        print(f"{first} and {second} are different people: the audit will not pair them again")
    return EXIT_OK
