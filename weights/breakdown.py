#!/usr/bin/python3
"""Where a model loses its FG-ARI: the per-scene scores of `iodine eval
--scores`, grouped by what makes a scene hard.

    weights/breakdown.py [--dataset tetrominoes|multi-dsprites] [--weights W]
        [--count N] [--seed S] [--iterations T] [--restarts R] [--scores CSV]
        [--build DIR]

Every scene is regenerated bit for bit by tests/reference/datasets_ref.py
(needs numpy: Debian's python3-numpy) and put in one group.

Tetrominoes, by how the three pieces' colours lie:
  three colours          every piece has its own colour
  a colour twice, apart  two (or three) pieces share a colour, but no two
                         of them share a block edge
  a colour twice, touching
                         two pieces of one colour share an edge: the bevel
                         that marks a block's edge is the same inside a
                         piece and between the two, so only the pieces'
                         shapes tell them apart

Multi-dSprites, by the closest colours a slot has to tell apart (RGB
distance below 0.15, of a possible 1.73), and again by the number of sprites:
  distinct colours       every sprite stands out from the background and
                         from the sprites it touches
  near the background    a sprite's colour is close to the background's
  touching, near colours two sprites that share an edge have close colours
                         (and none is near the background)

For each group: its share of the scenes, mean and median FG-ARI, the share
of scenes below 0.9, and what it costs the mean ("lost": the group's summed
1 − FG-ARI over all scenes). With --scores the CSV is read instead of
running `iodine eval` (it must be of the same dataset and seed)."""
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

GROUPS = {
    "tetrominoes": ("three colours", "a colour twice, apart", "a colour twice, touching"),
    "multi-dsprites": ("distinct colours", "near the background", "touching, near colours"),
}
NEAR = 0.15


def contacts(labels):
    """The pairs (p, q) of objects whose pixels share an edge."""
    pairs = set()
    for a, b in ((labels[:, :-1], labels[:, 1:]), (labels[:-1, :], labels[1:, :])):
        contact = (a != 0) & (b != 0) & (a != b)
        pairs.update(zip(a[contact].tolist(), b[contact].tolist()))
    return pairs


def tetrominoes_group(image, labels):
    block = datasets_ref.TET_BLOCK
    colour = {p: tuple(image[labels == p].max(0)) for p in np.unique(labels) if p}
    if len(set(colour.values())) == len(colour):
        return "three colours"
    if any(colour[p] == colour[q] for p, q in contacts(labels[::block, ::block])):
        return "a colour twice, touching"
    return "a colour twice, apart"


def dsprites_group(image, labels):
    # sprites are flat: any pixel of one is its colour
    colour = {p: image[labels == p][0] for p in np.unique(labels) if p}
    background = image[labels == 0][0] if (labels == 0).any() else None
    if background is not None and any(np.linalg.norm(c - background) < NEAR
                                      for c in colour.values()):
        return "near the background"
    if any(np.linalg.norm(colour[p] - colour[q]) < NEAR for p, q in contacts(labels)):
        return "touching, near colours"
    return "distinct colours"


def scene_groups(dataset, seed, index):
    """The scene's group, and its number of objects."""
    image, labels = datasets_ref.sample(dataset, seed, index)
    group = tetrominoes_group if dataset == "tetrominoes" else dsprites_group
    return group(image, labels), int(labels.max())


def run_eval(args, path):
    cmd = [os.path.join(args.build, "engine", "iodine"), "eval", "--weights", args.weights,
           "--dataset", args.dataset, "--count", str(args.count), "--seed", str(args.seed),
           "--scores", path]
    if args.iterations:
        cmd += ["--iterations", str(args.iterations)]
    if args.restarts > 1:
        cmd += ["--restarts", str(args.restarts)]
    subprocess.run(cmd, check=True, stdout=sys.stderr)


def print_table(title, groups, scores, n):
    print(f"| {title} | share | FG-ARI mean | median | below 0.9 | lost |")
    print("|---|---|---|---|---|---|")
    for g in groups:
        v = np.array(scores.get(g, []))
        if len(v) == 0:
            print(f"| {g} | 0 | — | — | — | 0 |")
            continue
        print(f"| {g} | {len(v) / n:.1%} | {v.mean():.4f} | {np.median(v):.4f} | "
              f"{np.mean(v < 0.9):.1%} | {(1 - v).sum() / n:.4f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", choices=sorted(GROUPS), default="tetrominoes")
    ap.add_argument("--weights", help="default: weights/DATASET.safetensors")
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--iterations", type=int, default=0, help="T (default: the weights')")
    ap.add_argument("--restarts", type=int, default=1, help="inference runs, the lowest loss kept")
    ap.add_argument("--scores", help="an existing `iodine eval --scores` CSV of this seed")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()
    args.weights = args.weights or os.path.join(ROOT, "weights", f"{args.dataset}.safetensors")
    with tempfile.TemporaryDirectory() as tmp:
        path = args.scores or os.path.join(tmp, "scores.csv")
        if not args.scores:
            run_eval(args, path)
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["fg_ari"] != ""]
    if not rows:
        sys.exit(f"{path}: no scene with an FG-ARI")
    by_group, by_count = {}, {}
    for r in rows:
        group, count = scene_groups(args.dataset, args.seed, int(r["scene"]))
        by_group.setdefault(group, []).append(float(r["fg_ari"]))
        by_count.setdefault(count, []).append(float(r["fg_ari"]))
    n = len(rows)
    every = np.array([s for v in by_group.values() for s in v])
    print(f"{n} {args.dataset} scenes (seed {args.seed}): FG-ARI {every.mean():.4f}, "
          f"{np.mean(every < 0.9):.1%} below 0.9")
    print_table("scenes", GROUPS[args.dataset], by_group, n)
    if len(by_count) > 1:
        print()
        print_table("objects", sorted(by_count), by_count, n)


if __name__ == "__main__":
    main()
