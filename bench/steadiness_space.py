"""Gallery-side ways to steady a single selfie's #1, nearly free at query time, by leave-people-out.

    uv run python bench/steadiness_space.py [--splits 40] [--json]
    uv run python bench/steadiness_space.py --sticky    # the remembered-answer measurement only

bench/steadiness.py measures query-side changes (mirror, jitter: too slow) and bench/calibration.py the
per-celebrity rules in dlib's own space. This one changes the *space* the gallery is ranked in, fitted on
the gallery alone (a 128x128 linear map: one more small matrix-vector product per query), and the rule:

- space "dlib": dlib's embeddings as they are (today);
- "WCCN a=rule": within-class covariance normalisation: the within-celebrity scatter S_w (photo-to-photo
  variation of the gallery's celebrities with >= 2 photos) shrunk toward isotropic,
  S = (1 - a) S_w + a tr(S_w)/128 I with a = 128 / (128 + dof) (dof = photos - celebrities: the fewer
  photos, the closer to dlib's space), then x -> S^(-1/2) x; "WCCN a=0.5" a fixed shrinkage;
- "WCCN^1/2": partial whitening, x -> S^(-1/4) x (same rule for a);
- "LDA": WCCN, then the between-celebrity scatter of the whitened centres; only its top
  min(celebrities - 1, 127) directions are kept (classic LDA projection);
- "centred cosine": x - gallery mean, scaled to unit length (cosine around the gallery's centre).

Rules per celebrity (in the chosen space): nearest photo; CSLS (cross-domain similarity local scaling, a
hubness reduction: each photo's squared distance less half the mean squared distance to its 5 nearest
photos of other celebrities, a per-photo offset); centroid; blend (mean of the two distances); soft-min
-tau log mean_j exp(-d_j^2 / tau), tau = the gallery's mean squared same-person distance (x0.5, x1, x2).

Nothing is tuned on splits: shrinkage and tau come from the gallery by the rules above.

Protocols (embeddings: ../shared/data/embeddings-dev.npz, 18 East-Asian, 20 Western people):
- "thirds": as bench/calibration.py, per kind: two thirds of the people form the gallery (12-13), the rest
  are strangers; from each gallery person with >= 2 photos 1-2 photos are held out as top-1 queries.
- "pooled": both kinds in one gallery: a third of each kind are strangers, the other ~25 people form one
  gallery (a kind's faces then meet the other kind's celebrities as extra distractors); figures per kind
  of query face.
- "all-but-one": each person in turn is the stranger, the 37 others form the gallery (one held-out photo
  each for top-1): the largest galleries these data allow.

Steadiness: for each stranger, every pair of their photos: the same #1? Top-1: the held-out photo's own
celebrity ranked first. "hub": the share of strangers' photos given the most common #1, times the
number of celebrities (1 = no celebrity attracts strangers more than chance): a rule can be steady for
the wrong reason by sending everyone to one celebrity. Each figure comes with its difference from today's
(dlib space, nearest photo) on the same splits and that difference's standard error over the splits.
A table goes to stderr; --json one object to stdout. About 6 minutes for everything.

Measured (2026-12, --splits 40; gallery sizes: thirds 12 East-Asian / 13 Western celebrities, pooled 25
of both kinds, all-but-one 37). Steadiness, difference from today ± standard error, East-Asian / Western;
top-1 is 100 % for every row of every protocol (these data cannot show a loss there):

| space, rule            | thirds EA / W           | pooled EA / W          | all-but-one EA / W    |
|------------------------|-------------------------|------------------------|-----------------------|
| dlib, nearest (today)  | 62.0 % / 55.0 %         | 60.0 % / 50.0 %        | 56.8 % / 44.8 %       |
| dlib, centroid         | +2.5±1.4 / +1.7±1.0     | +1.6±1.4 / +1.3±1.4    | +0.5±4.3 / -4.4±6.4   |
| dlib, soft-min         | +1.9±1.4 / +4.9±1.7     | +2.5±1.1 / +0.4±1.4    | +4.3±4.0 / -3.2±6.7   |
| dlib, CSLS             | -0.8±1.1 / +4.1±1.3     | -4.2±1.5 / +3.2±1.5    | -1.1±4.4 / +2.7±6.8   |
| WCCN a=rule, nearest   | -4.3±1.3 / +2.3±1.5     | -4.0±1.4 / +2.2±1.7    | -3.4±3.9 / +7.8±5.2   |
| WCCN a=rule, soft-min  | -2.2±1.4 / +4.3±1.9     | -4.5±1.5 / +1.9±2.0    | -3.9±4.8 / +8.6±7.3   |
| WCCN^1/2, soft-min     | -0.0±1.2 / +4.2±1.4     | +0.5±1.3 / +1.7±1.7    | +4.5±4.3 / -1.0±6.9   |
| LDA, nearest           | -1.6±1.5 / +4.0±1.9     | -4.7±1.6 / +3.7±1.8    | -5.5±4.6 / +5.0±6.7   |
| centred cosine, CSLS   | -2.7±1.5 / +7.5±1.6     | -5.1±1.6 / +7.6±1.6    | -1.4±4.8 / +10.1±8.0  |

What it says: no space and no rule gains the +5 points on both kinds that would be worth a change, let
alone the issue's >= 55 % at 45-49 celebrities. Every fully fitted space (WCCN, LDA, centring) trades one kind
for the other: it steadies Western strangers by 2-8 points and unsteadies East-Asian ones by 2-9 — the
within-celebrity directions it damps carry part of what tells East-Asian faces apart, where dlib already
packs them closer (mean different-people distance 0.66 against 0.86). The rules in dlib's own space move
1-5 points, inside two standard errors on the larger galleries, and soft-min also raises the hub figure
(strangers sent to the same few celebrities more often). Shrinkage (rule against 0.5) and soft-min's
tau (x0.5 to x2) change little. Steadiness falls as the gallery grows (62 → 57 % EA, 55 → 45 % W from 12
to 37 celebrities): more celebrities, more near-ties for a stranger's face. Nothing here was adopted.

What does move it is not a better ranking but a memory (--sticky; "thirds" galleries over 40 splits, and
"all-but-one"): keep a user's previous #1 when it is within a margin of the new #1's distance, as the bot
does (engine.ranking.keep_previous on the top five, margin TIE_MARGIN = 0.03). Two selfies of a stranger
then share their #1, East-Asian / Western:

| margin | thirds (12-13 celebrities) | all-but-one (37) | kept answer's % below the nearest, median (max) |
|--------|----------------------------|------------------|-------------------------------------------------|
| none   | 59.6 % / 55.5 %            | 56.8 % / 44.8 %  |                                                 |
| 0.02   | 73.0 % / 71.2 %            | 74.1 % / 61.6 %  | thirds 3.0 / 2.3 (16); all-but-one 2.2 / 1.4 (7) |
| 0.03   | 78.8 % / 77.1 %            | 79.4 % / 69.6 %  | thirds 4.4 / 3.5 (22); all-but-one 2.9 / 2.9 (9) |
| 0.04   | 83.4 % / 83.1 %            | 81.9 % / 77.1 %  | thirds 5.9 / 4.7 (27); all-but-one 3.2 / 3.6 (14) |

Top-1 stays 100 % at every margin even when the previous answer was each other celebrity in turn (a
friend's face sent before): a person's own photos are nearer than that margin on these data. The bot
adopted 0.03 (README, "Steadier answers"): the kept answer then shows its own, lower %, and the caption
says why; the memory is each private chat's last #1, a name, for 10 minutes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from engine.calibration import fit  # noqa: E402
from engine.ranking import Hit, keep_previous  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "embeddings-dev.npz"
KINDS = ("east_asian", "western")
DIM = 128

# Spaces


def within_scatter(x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, int]:
    """The pooled within-celebrity covariance of celebrities with >= 2 photos, and its degrees of freedom."""
    scatter = np.zeros((x.shape[1], x.shape[1]))
    dof = 0
    for name in np.unique(labels):
        rows = x[labels == name]
        if len(rows) < 2:
            continue
        centred = rows - rows.mean(0)
        scatter += centred.T @ centred
        dof += len(rows) - 1
    return scatter / max(dof, 1), dof


def shrunk(scatter: np.ndarray, shrinkage: float) -> np.ndarray:
    level = np.trace(scatter) / len(scatter)
    return (1.0 - shrinkage) * scatter + shrinkage * level * np.eye(len(scatter))


def power(matrix: np.ndarray, exponent: float) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.maximum(values, 1e-12) ** exponent) @ vectors.T


def rule_shrinkage(dof: int) -> float:
    return DIM / (DIM + dof)


Space = Callable[[np.ndarray], np.ndarray]


def fit_space(name: str, x: np.ndarray, labels: np.ndarray) -> Space:
    """A map fitted on the gallery (x, labels), applied to gallery rows and queries alike."""
    if name == "dlib":
        return lambda v: v
    if name == "centred cosine":
        mean = x.mean(0)
        return lambda v: (v - mean) / np.linalg.norm(v - mean, axis=-1, keepdims=True)
    scatter, dof = within_scatter(x, labels)
    shrinkage = 0.5 if "a=0.5" in name else rule_shrinkage(dof)
    s = shrunk(scatter, shrinkage)
    exponent = -0.25 if "^1/2" in name else -0.5
    t = power(s, exponent)
    if name.startswith("LDA"):
        z = x @ t
        centres = np.array([z[labels == c].mean(0) for c in np.unique(labels)])
        between = np.cov(centres.T)
        _, vectors = np.linalg.eigh(between)
        keep = min(len(centres) - 1, DIM - 1)
        t = t @ vectors[:, ::-1][:, :keep]
    return lambda v: v @ t


SPACES = ("dlib", "WCCN a=rule", "WCCN a=0.5", "WCCN^1/2 a=rule", "LDA a=rule", "centred cosine")
ACTIVE = list(SPACES)  # --space narrows it

# Rules: per-celebrity score from the squared distances to each of its photos (and its centroid)


class Ranked:
    """A gallery in one space, laid out for ranking many queries: one matrix, each celebrity's rows together."""

    def __init__(self, gallery: dict[str, np.ndarray]) -> None:
        self.names = list(gallery)
        self.matrix = np.concatenate([gallery[n] for n in self.names])
        self.starts = np.cumsum([0] + [len(gallery[n]) for n in self.names])[:-1]
        self.centres = np.array([gallery[n].mean(0) for n in self.names])
        self.counts = np.array([len(gallery[n]) for n in self.names])
        self.offsets = self._local_scale()

    def _local_scale(self, k: int = 5) -> np.ndarray:
        """Half the mean squared distance from each photo to its k nearest photos of other celebrities
        (CSLS's hubness penalty, in squared-distance terms: d^2 - r/2)."""
        m = self.matrix
        owner = np.repeat(np.arange(len(self.names)), self.counts)
        d2 = np.sum((m[:, None, :] - m[None, :, :]) ** 2, axis=2)
        d2[owner[:, None] == owner[None, :]] = np.inf
        k = min(k, len(m) - int(self.counts.max()))
        return np.sort(d2, axis=1)[:, :k].mean(1) / 2

    def first(self, query: np.ndarray, rule: str, tau: float) -> str:
        """The #1 celebrity for `query` under `rule` (soft-min at temperature `tau`)."""
        d2 = np.sum((self.matrix - query) ** 2, axis=1)
        if rule == "nearest":
            score = np.minimum.reduceat(d2, self.starts)
        elif rule == "CSLS":
            score = np.minimum.reduceat(d2 - self.offsets, self.starts)
        elif rule == "centroid":
            score = np.sum((self.centres - query) ** 2, axis=1)
        elif rule == "blend":
            score = np.sqrt(np.minimum.reduceat(d2, self.starts)) + np.linalg.norm(
                self.centres - query, axis=1
            )
        else:  # soft-min: -tau log mean_j exp(-d_j^2 / tau), shifted by the overall minimum for stability
            factor = float(rule.split("x")[0]) if "x" in rule else 1.0
            t = tau * factor
            low = d2.min()
            score = -t * np.log(np.add.reduceat(np.exp(-(d2 - low) / t), self.starts) / self.counts)
        return self.names[int(np.argmin(score))]


RULES = ("nearest", "CSLS", "centroid", "blend", "0.5x soft-min", "soft-min", "2x soft-min")


def same_person_tau(gallery: dict[str, np.ndarray]) -> float:
    d2 = [
        float(np.sum((a - b) ** 2))
        for photos in gallery.values()
        for a, b in itertools.combinations(photos, 2)
    ]
    return float(np.mean(d2)) if d2 else 1.0


# Protocols: each yields (gallery people, held-out queries per gallery person, strangers' photos)


def hold_out(rows: np.ndarray, most: int) -> tuple[np.ndarray, np.ndarray]:
    """(held-out rows, gallery rows): up to `most` held out, at least one left in the gallery."""
    held = min(most, len(rows) - 1)
    return rows[:held], rows[held:]


def evaluate(
    x: np.ndarray,
    y: np.ndarray,
    kind: np.ndarray,
    members: list[str],
    strangers: list[str],
    rng: np.random.Generator,
    most_held: int,
) -> dict:
    """Every space and rule on one split; per kind of face: lists of 0/1 outcomes and the hub figure."""
    gallery_rows, held = {}, {}
    for name in members:
        rows = np.flatnonzero(y == name)
        rng.shuffle(rows)
        held[name], gallery_rows[name] = hold_out(rows, most_held)
    g_rows = np.concatenate(list(gallery_rows.values()))
    out: dict = {}
    for space_name in ACTIVE:
        space = fit_space(space_name, x[g_rows], y[g_rows])
        gallery = {name: space(x[rows]) for name, rows in gallery_rows.items()}
        tau = same_person_tau(gallery)
        ranked = Ranked(gallery)
        for rule in RULES:
            key = f"{space_name} | {rule}"
            per_kind: dict = {k: {"top1": [], "steady": [], "tops": []} for k in KINDS}
            for name, rows in held.items():
                k = kind[rows[0]] if len(rows) else None
                for r in rows:
                    per_kind[k]["top1"].append(ranked.first(space(x[r]), rule, tau) == name)
            for name in strangers:
                rows = np.flatnonzero(y == name)
                tops = [ranked.first(space(x[r]), rule, tau) for r in rows]
                k = kind[rows[0]]
                per_kind[k]["steady"] += [a == b for a, b in itertools.combinations(tops, 2)]
                per_kind[k]["tops"] += tops
            for figures in per_kind.values():
                tops = figures.pop("tops")
                figures["hub"] = (
                    [max(tops.count(t) for t in set(tops)) / len(tops) * len(gallery)] if tops else []
                )
            out[key] = per_kind
    return out


def thirds(x, y, kind, rng) -> list[dict]:
    """One split per kind, as bench/calibration.py: a gallery of two thirds of that kind's people."""
    results = []
    for k in KINDS:
        people = np.array(sorted(set(y[kind == k].tolist())))
        rng.shuffle(people)
        cut = round(len(people) * 2 / 3)
        results.append(evaluate(x, y, kind, list(people[:cut]), list(people[cut:]), rng, 2))
    return results


def pooled(x, y, kind, rng) -> list[dict]:
    members, strangers = [], []
    for k in KINDS:
        people = np.array(sorted(set(y[kind == k].tolist())))
        rng.shuffle(people)
        cut = round(len(people) * 2 / 3)
        members += list(people[:cut])
        strangers += list(people[cut:])
    return [evaluate(x, y, kind, members, strangers, rng, 1)]


def all_but_one(x, y, kind, rng) -> list[dict]:
    people = sorted(set(y.tolist()))
    return [evaluate(x, y, kind, [p for p in people if p != s], [s], rng, 1) for s in people]


PROTOCOLS = {"thirds": thirds, "pooled": pooled, "all-but-one": all_but_one}


BASELINE = "dlib | nearest"


def summarise(splits: list[dict], hub: bool = True) -> dict:
    """Per space|rule and kind: each figure pooled over the splits, and for steadiness and top-1 the
    difference from today's (dlib space, nearest photo) on the same splits, with its standard error over
    the splits (the pairs are the same for both, so the difference is much surer than either figure)."""
    figures: dict = {}
    for key in splits[0]:
        figures[key] = {}
        for k in KINDS:
            entry: dict = {}
            for fig in ("top1", "steady", "hub"):
                values = [v for s in splits for v in s[key][k][fig]]
                entry[fig] = float(np.mean(values)) if values and (hub or fig != "hub") else float("nan")
                entry[f"{fig}_n"] = len(values)
                if fig == "hub":
                    continue
                base = [v for s in splits for v in s[BASELINE][k][fig]]
                diffs = [
                    np.mean(s[key][k][fig]) - np.mean(s[BASELINE][k][fig]) for s in splits if s[key][k][fig]
                ]
                entry[f"{fig}_delta"] = float(np.mean(values) - np.mean(base)) if values else float("nan")
                entry[f"{fig}_se"] = float(np.std(diffs) / np.sqrt(len(diffs))) if diffs else float("nan")
            figures[key][k] = entry
    return figures


def table(name: str, figures: dict) -> str:
    head = "".join(
        f"{label + ' top-1':>10}{label + ' same #1':>12}{'Δ ± se':>13}{'hub':>6}" for label in ("EA", "W")
    )
    lines = [f"== {name}", f"{'space | rule':<28}{head}"]
    for key, per_kind in figures.items():
        cells = []
        for k in KINDS:
            f = per_kind[k]
            delta = f"{f['steady_delta'] * 100:+.1f} ± {f['steady_se'] * 100:.1f}"
            hub = "—" if np.isnan(f["hub"]) else f"{f['hub']:.2f}"
            cells.append(f"{f['top1']:>10.1%}{f['steady']:>12.1%}{delta:>13}{hub:>6}")
        lines.append(f"{key:<28}" + "".join(cells))
    return "\n".join(lines)


# A different lever, measured for the record: remembering a user's last answer


MARGINS = (0.0, 0.02, 0.03, 0.04)


def nearest_each(photos: list[np.ndarray], query: np.ndarray) -> np.ndarray:
    """The distance from `query` to each celebrity's nearest photo."""
    return np.array([np.linalg.norm(p - query, axis=1).min() for p in photos])


def answer(d: np.ndarray, previous: int, margin: float) -> int:
    """The bot's #1 (engine.ranking.keep_previous on its top five): the previous answer if it is within
    `margin` of the nearest celebrity, else the nearest."""
    top = [Hit(int(i), int(i), float(d[i])) for i in np.argsort(d, kind="stable")[:5]]
    return keep_previous(top, previous, lambda hit: hit.celebrity_id, margin)[0].celebrity_id


def sticky_splits(
    y: np.ndarray, kind: np.ndarray, protocol: str, splits: int, rng: np.random.Generator
) -> Iterator[tuple[list[str], list[str]]]:
    """(gallery people, strangers) per split: "thirds" per kind as bench/calibration.py, or
    "all-but-one" (each person in turn the stranger, the 37 others of both kinds the gallery)."""
    if protocol == "all-but-one":
        people = sorted(set(y.tolist()))
        for stranger in people:
            yield [p for p in people if p != stranger], [stranger]
        return
    for _ in range(splits):
        for k in KINDS:
            shuffled = np.array(sorted(set(y[kind == k].tolist())))
            rng.shuffle(shuffled)
            cut = round(len(shuffled) * 2 / 3)
            yield list(shuffled[:cut]), list(shuffled[cut:])


def sticky(
    x: np.ndarray, y: np.ndarray, kind: np.ndarray, protocol: str, splits: int, rng: np.random.Generator
) -> dict:
    """Keep the user's previous #1 when it is within `margin` (distance) of the new #1 (dlib space, nearest
    photo). Per kind of stranger and margin: steadiness over ordered pairs of a stranger's photos; top-1 of
    a held-out photo when the previous answer was each other celebrity in turn (the worst case: a friend's
    face sent before); and how many % points below the new #1 the kept answer shows (fitted calibration)."""
    out: dict[str, dict[float, dict[str, list[float]]]] = {
        k: {m: {"steady": [], "top1": [], "points": []} for m in MARGINS} for k in KINDS
    }
    for members, strangers in sticky_splits(y, kind, protocol, splits, rng):
        gallery, held = {}, {}
        for name in members:
            rows = np.flatnonzero(y == name)
            rng.shuffle(rows)
            held[name], gallery[name] = hold_out(rows, 1)
        names = list(gallery)
        rows = np.concatenate([gallery[n] for n in names])
        calibration = fit(x[rows], y[rows])

        photos = [x[gallery[n]] for n in names]
        for name in strangers:
            stranger_rows = np.flatnonzero(y == name)
            figures = out[kind[stranger_rows[0]]]
            per_photo = [nearest_each(photos, x[r]) for r in stranger_rows]
            for a, b in itertools.permutations(range(len(per_photo)), 2):
                previous, d = int(np.argmin(per_photo[a])), per_photo[b]
                for m in MARGINS:
                    kept = answer(d, previous, m)
                    figures[m]["steady"].append(kept == previous)
                    if kept != int(np.argmin(d)):
                        figures[m]["points"].append(
                            calibration.similarity(d.min()) - calibration.similarity(d[kept])
                        )
        if protocol == "all-but-one" and len(strangers) == 1:
            # one held-out photo per gallery person is plenty over 38 galleries: take the stranger's kind
            held = {n: r for n, r in held.items() if kind[r[0]] == kind[np.flatnonzero(y == strangers[0])[0]]}
        for name, rows_held in held.items():
            d, own = nearest_each(photos, x[rows_held[0]]), names.index(name)
            figures = out[kind[rows_held[0]]]
            for previous in (i for i in range(len(names)) if i != own):
                for m in MARGINS:
                    figures[m]["top1"].append(answer(d, previous, m) == own)
    return {
        k: {
            f"{m:.2f}": {
                "steady": float(np.mean(v["steady"])),
                "pairs": len(v["steady"]),
                "top1": float(np.mean(v["top1"])),
                "overridden_points_median": float(np.median(v["points"])) if v["points"] else 0.0,
                "overridden_points_max": float(np.max(v["points"])) if v["points"] else 0.0,
            }
            for m, v in per_margin.items()
        }
        for k, per_margin in out.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=40, help="splits of the random protocols")
    parser.add_argument("--protocol", choices=list(PROTOCOLS), action="append")
    parser.add_argument("--space", choices=SPACES, action="append", help="only these spaces (dlib always)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sticky", action="store_true", help="only the remembered-answer measurement")
    args = parser.parse_args()
    if args.space:
        ACTIVE[:] = dict.fromkeys(["dlib", *args.space])
    data = np.load(DATA)
    x = np.concatenate([data[k] for k in KINDS]).astype(np.float64)
    y = np.concatenate([data[f"{k}_labels"] for k in KINDS])
    kind = np.concatenate([[k] * len(data[k]) for k in KINDS])
    results: dict = {}
    if args.sticky:
        for name in args.protocol or ["thirds", "all-but-one"]:
            results[name] = sticky(x, y, kind, name, args.splits, np.random.default_rng(7))
            for k, m, f in ((k, m, f) for k, fs in results[name].items() for m, f in fs.items()):
                print(
                    f"{name:<11} {k:<11} margin {m}: same #1 {f['steady']:.1%} of {f['pairs']} pairs, "
                    f"top-1 after any other answer "
                    f"{f['top1']:.1%}, kept answer shows {f['overridden_points_median']:.1f} "
                    f"(max {f['overridden_points_max']:.1f}) points below the new #1",
                    file=sys.stderr,
                )
        if args.json:
            print(json.dumps(results))
        return
    for name in args.protocol or list(PROTOCOLS):
        rng = np.random.default_rng(7)
        rounds = 1 if name == "all-but-one" else args.splits
        splits = [s for _ in range(rounds) for s in PROTOCOLS[name](x, y, kind, rng)]
        # all-but-one: one split per stranger, each with its own gallery: no hub figure across them
        results[name] = summarise(splits, hub=name != "all-but-one")
        print(table(name, results[name]), file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
