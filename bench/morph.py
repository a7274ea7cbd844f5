"""The morph measured: is it a face between the user's and the celebrity's (the project's own encoder), and
what does it cost next to one answer's analysis — side by side in one run.

    uv run python bench/morph.py              # every shared person morphed with every other, 20 timing rounds
    uv run python bench/morph.py --rounds 40 --json

Quality (tests/morph_faces.py): each person's selfie is morphed with each other person's gallery photo
(its 256 px face thumbnail, as the gallery keeps it), at mix 0.25, 0.5 and 0.75; the picture (a JPEG) is
embedded and its distances to both photos are compared with the distance between the photos. A pair
passes when at 0.5 both distances are under `WELL_UNDER` × that distance and differ by less than
`ABOUT_EQUAL` × it, and the distance to the user grows from 0.25 to 0.5 to 0.75. The same is measured for
two pictures that must fail: a crossfade of the crops without alignment, and the user's own crop.

Speed: `render_morph` (mix 0.5, footer, JPEG) against `FaceModels.analyze` of the selfie (what every answer
costs), interleaved rounds in random order (`bench.common.interleaved`); medians in ms and their ratio.
Progress and tables go to stderr; with --json the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import interleaved, log, machine, median_ms  # noqa: E402
from engine.faces import FaceModels  # noqa: E402
from engine.images import decode_photo  # noqa: E402
from engine.landmarks import Landmarker  # noqa: E402
from engine.morph import render_morph  # noqa: E402
from tests import morph_faces  # noqa: E402
from tests.morph_faces import ABOUT_EQUAL, PEOPLE, WELL_UNDER, Person, crossfade, measure, morph, own_photo  # noqa: E402
from tests.paths import face  # noqa: E402

MIXES = (0.25, 0.5, 0.75)
METHODS = {"morph": morph, "crossfade (no alignment)": crossfade, "the user's own photo": own_photo}


def quality(models: FaceModels, people: dict[str, Person]) -> dict[str, dict]:
    """Per method: pairs passing, faces found, and the median distances (÷ user-celebrity) at each mix."""
    pairs = list(itertools.permutations(people, 2))
    report = {}
    for label, method in METHODS.items():
        log(f"quality: {label}, {len(pairs)} pairs")
        by_mix = {
            mix: [measure(models, method, people[a], people[b], mix) for a, b in pairs] for mix in MIXES
        }
        failed = []
        for i in range(len(pairs)):
            quarter, half, three = (by_mix[mix][i] for mix in MIXES)
            steady = quarter.found and three.found and quarter.to_user < half.to_user < three.to_user  # type: ignore[operator]
            if not (half.between_both() and half.balanced() and steady):
                failed.append(" → ".join(pairs[i]))
        report[label] = {
            "pairs": len(pairs),
            "passed": len(pairs) - len(failed),
            "failed": failed,
            "faces_found": sum(d.found for d in by_mix[0.5]),
            **{f"mix_{mix}": _medians(by_mix[mix]) for mix in MIXES},
        }
    return report


def _medians(rows: list) -> dict:
    """Median distance to the user and to the celebrity, each ÷ the user-celebrity distance."""
    found = [d for d in rows if d.found]
    if not found:
        return {"to_user": None, "to_celebrity": None}
    return {
        "to_user": round(statistics.median(d.to_user / d.between for d in found), 3),
        "to_celebrity": round(statistics.median(d.to_celebrity / d.between for d in found), 3),
    }


def speed(models: FaceModels, landmarker: Landmarker, people: dict[str, Person], rounds: int) -> dict:
    """Median ms, interleaved: one morph drawn; the two landmark steps it needs (keeping the selfie's face,
    finding a gallery thumbnail's landmarks); one selfie's analysis; and the ratios to the analysis."""
    names = list(people)
    selfies = [face(PEOPLE[name][0]).read_bytes() for name in names]
    pixels = [decode_photo(data).pixels for data in selfies]
    boxes = [models.analyze(data).faces[0].box for data in selfies]
    thumbnails = [people[name].celebrity.crop for name in names]
    footer = ["You 50% · 아이유 50%", "Photo of 아이유: CC BY-SA 4.0 · someone"]

    def draw(r: int) -> None:
        render_morph(
            people[names[r % len(names)]].user, people[names[(r + 1) % len(names)]].celebrity, 0.5, footer
        )

    contenders = {
        "morph": draw,
        "keep_selfie": lambda r: landmarker.keep(pixels[r % len(names)], boxes[r % len(names)]),
        "thumbnail_landmarks": lambda r: landmarker.keep_thumbnail(thumbnails[r % len(names)]),
        "analysis": lambda r: models.analyze(selfies[r % len(selfies)]),
    }
    for r in range(2):  # warm-up: fonts, first decodes
        for run in contenders.values():
            run(r)
    times = interleaved(contenders, rounds)
    ms = {name: median_ms(samples) for name, samples in times.items()}
    return {
        **{f"{name}_ms": value for name, value in ms.items()},
        "morph_vs_analysis": round(ms["morph"] / ms["analysis"], 2),
        "morph_with_landmarks_vs_analysis": round(
            (ms["morph"] + ms["keep_selfie"] + ms["thumbnail_landmarks"]) / ms["analysis"], 2
        ),
    }


def print_tables(report: dict) -> None:
    log(f"\npass: at 0.5 both distances < {WELL_UNDER}·d(user, celebrity) and within {ABOUT_EQUAL}·d of each")
    log("other; the distance to the user grows from mix 0.25 to 0.5 to 0.75")
    log("| picture | pairs passing | faces found | 0.25: to user / to celeb | 0.5 | 0.75 |")
    log("|---|---|---|---|---|---|")
    for label, row in report["quality"].items():
        cells = [f"{row[f'mix_{m}']['to_user']} / {row[f'mix_{m}']['to_celebrity']}" for m in MIXES]
        log(
            f"| {label} | {row['passed']}/{row['pairs']} | {row['faces_found']}/{row['pairs']} | "
            + " | ".join(cells)
            + " |"
        )
    log(f"morph pairs failing: {', '.join(report['quality']['morph']['failed']) or 'none'}")
    s = report["speed"]
    log(
        f"\nmorph {s['morph_ms']} ms, keeping the selfie's face {s['keep_selfie_ms']} ms, a thumbnail's "
        f"landmarks {s['thumbnail_landmarks_ms']} ms; one selfie's analysis {s['analysis_ms']} ms: "
        f"morph {s['morph_vs_analysis']}x, all three {s['morph_with_landmarks_vs_analysis']}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="timing rounds (default 20)")
    parser.add_argument("--json", action="store_true", help="one JSON object as stdout's last line")
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    models, landmarker = FaceModels(), Landmarker()
    people = {name: morph_faces.load_person(name, models, landmarker) for name in PEOPLE}
    report = {"quality": quality(models, people), "speed": speed(models, landmarker, people, args.rounds)}
    report["machine"] = machine(load_start, rounds=args.rounds)
    print_tables(report)
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
