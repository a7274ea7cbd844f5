"""Smoke test of bench/collage_gallery.py: a short run prints every figure as JSON, with warm caches hit."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.paths import REPO


@pytest.mark.timeout(300)
def test_a_short_gallery_bench_prints_old_cold_and_warm_with_hit_rates() -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "collage_gallery.py"),
            *("--celebrities", "12", "--rounds", "3", "--warmup", "40", "--json"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for phase in ("cold", "warm"):
        assert report[phase]["old_ms"] > 0 and report[phase]["new_ms"] > 0
        assert report[phase]["new_vs_old"] == round(report[phase]["new_ms"] / report[phase]["old_ms"], 3)
    # 12 celebrities x 3 photos fit in the caches: after the warm-up nearly every lookup hits.
    assert report["hit_rate"]["photos"] > 0.5 and report["hit_rate"]["masks"] > 0.5
    assert 0 < report["cache_bytes"]["photos"] <= report["photo_cache_bytes"]
    assert {"load_avg_start", "load_avg_end"} <= set(report["machine"])
