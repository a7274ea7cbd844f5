"""What the bot's Morph button costs, through the bot's own pools (real worker processes), side by side in
one run:

- the anchor: `FacePool.analyze`, what every answer runs, the button on or off (an answer keeps only its
  selfie's file id for the button);
- `FacePool.analyze_keeping`: what a private answer ran while it kept the face itself for the button (the
  68 landmarks, the crop's JPEG, its trip back from the worker) — what a press runs now;
- per press: the selfie's face kept again (`analyze_keeping`), the photo's (`FacePool.keep_thumbnail`),
  then `DrawPool.run(service.morphs.render)` (the whole press, less the Telegram download, the gallery
  read and the upload).

    uv run python bench/morph_bot.py              # 30 interleaved rounds over the six shared selfies
    uv run python bench/morph_bot.py --rounds 60 --json

Progress and the table go to stderr; with --json the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import interleaved, log, machine, median_ms  # noqa: E402
from engine.pool import DrawPool, FacePool  # noqa: E402
from service.morphs import render  # noqa: E402
from tests.morph_faces import PEOPLE  # noqa: E402
from tests.paths import face  # noqa: E402

FOOTER = ["You 50% · 아이유 50%", "Photo of 아이유: CC BY-SA 4.0 · someone"]


def run(rounds: int) -> dict:
    """Median ms of each contender over `rounds` interleaved rounds, and the ratios to the anchor."""
    loop = asyncio.new_event_loop()
    pool = FacePool("process", 1)
    draw = DrawPool("process", 1, preload=("service.morphs", "engine.morph"))
    try:
        pool.warm_up()
        draw.warm_up()
        selfies = [face(PEOPLE[name][0]).read_bytes() for name in PEOPLE]
        kept = [
            loop.run_until_complete(pool.analyze_keeping(data)) for data in selfies
        ]  # loads the landmarker
        thumbnails = [analysis.faces[0].thumbnail for analysis, _ in kept]

        def press(r: int) -> bytes:
            _analysis, user = loop.run_until_complete(pool.analyze_keeping(selfies[r % len(selfies)]))
            assert user is not None
            celebrity = loop.run_until_complete(pool.keep_thumbnail(thumbnails[(r + 1) % len(thumbnails)]))
            return loop.run_until_complete(draw.run(render, user, celebrity, 0.5, FOOTER))

        contenders = {
            "analyze (anchor)": lambda r: loop.run_until_complete(pool.analyze(selfies[r % len(selfies)])),
            "analyze_keeping": lambda r: loop.run_until_complete(
                pool.analyze_keeping(selfies[r % len(selfies)])
            ),
            "press: both faces kept + morph": press,
        }
        for r in range(2):  # warm-up: fonts, first decodes
            for contender in contenders.values():
                contender(r)
        times = interleaved(contenders, rounds)
    finally:
        pool.close()
        draw.close()
        loop.close()
    ms = {name: median_ms(samples) for name, samples in times.items()}
    anchor = ms["analyze (anchor)"]
    return {"ms": ms, "vs_anchor": {name: round(value / anchor, 2) for name, value in ms.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="timing rounds (default 30)")
    parser.add_argument("--json", action="store_true", help="one JSON object as stdout's last line")
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    report = run(args.rounds)
    report["machine"] = machine(load_start, rounds=args.rounds)
    log("| through the bot's pools | median ms | ÷ analyze |")
    log("|---|---|---|")
    for name, value in report["ms"].items():
        log(f"| {name} | {value} | {report['vs_anchor'][name]}x |")
    log(f"machine: {report['machine']}")
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
