#!/usr/bin/python3
"""Where a Tetrominoes model loses its FG-ARI: the per-scene scores of
`iodine eval --scores`, grouped by how the scene's three pieces lie.

    weights/tetrominoes-breakdown.py [--weights W] [--count N] [--seed S]
        [--iterations T] [--scores CSV] [--build DIR]

Every scene is regenerated bit for bit by tests/reference/datasets_ref.py
(needs numpy: Debian's python3-numpy) and put in one group:
  three colours          every piece has its own colour
  a colour twice, apart  two (or three) pieces share a colour, but no two
                         of them share a block edge
  a colour twice, touching
                         two pieces of one colour share an edge: the bevel
                         that marks a block's edge is the same inside a
                         piece and between the two, so only the pieces'
                         shapes tell them apart
For each group: its share of the scenes, mean and median FG-ARI, the share
of scenes below 0.9, and what it costs the mean ("lost": the group's summed
1 − FG-ARI over all scenes). With --scores the CSV is read instead of
running `iodine eval` (it must be of the same seed)."""
import argparse
import csv
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import datasets_ref  # noqa: E402

GROUPS = ("three colours", "a colour twice, apart", "a colour twice, touching")


def scene_group(seed, index):
    image, labels = datasets_ref.sample("tetrominoes", seed, index)
    block = datasets_ref.TET_BLOCK
    grid = labels[::block, ::block]
    colour = {p: tuple(image[labels == p].max(0)) for p in np.unique(labels) if p}
    pairs = set()
    for a, b in ((grid[:, :-1], grid[:, 1:]), (grid[:-1, :], grid[1:, :])):
        contact = (a != 0) & (b != 0) & (a != b)
        pairs.update(zip(a[contact].tolist(), b[contact].tolist()))
    if len(set(colour.values())) == len(colour):
        return "three colours"
    if any(colour[p] == colour[q] for p, q in pairs):
        return "a colour twice, touching"
    return "a colour twice, apart"


def run_eval(args, path):
    cmd = [os.path.join(args.build, "engine", "iodine"), "eval", "--weights", args.weights,
           "--dataset", "tetrominoes", "--count", str(args.count), "--seed", str(args.seed),
           "--scores", path]
    if args.iterations:
        cmd += ["--iterations", str(args.iterations)]
    subprocess.run(cmd, check=True, stdout=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", default=os.path.join(ROOT, "weights", "tetrominoes.safetensors"))
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--iterations", type=int, default=0, help="T (default: the weights')")
    ap.add_argument("--scores", help="an existing `iodine eval --scores` CSV of this seed")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.scores or os.path.join(tmp, "scores.csv")
        if not args.scores:
            run_eval(args, path)
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["fg_ari"] != ""]
    if not rows:
        sys.exit(f"{path}: no scene with an FG-ARI")
    scores = {g: [] for g in GROUPS}
    for r in rows:
        scores[scene_group(args.seed, int(r["scene"]))].append(float(r["fg_ari"]))
    n = len(rows)
    every = np.array([s for g in GROUPS for s in scores[g]])
    print(f"{n} scenes (seed {args.seed}): FG-ARI {every.mean():.4f}, "
          f"{np.mean(every < 0.9):.1%} below 0.9")
    print("| scenes | share | FG-ARI mean | median | below 0.9 | lost |")
    print("|---|---|---|---|---|---|")
    for g in GROUPS:
        v = np.array(scores[g])
        if len(v) == 0:
            print(f"| {g} | 0 | — | — | — | 0 |")
            continue
        print(f"| {g} | {len(v) / n:.1%} | {v.mean():.4f} | {np.median(v):.4f} | "
              f"{np.mean(v < 0.9):.1%} | {(1 - v).sum() / n:.4f} |")


if __name__ == "__main__":
    main()
