#!/usr/bin/python3
"""FG-ARI of a model on the bundled sample (tests/data/sample.png), against
its ground truth (tests/gimp/make-sample.sh --labels): how well the weights
split the picture the plug-in's tests and README use into its four shapes.

    weights/sample-fgari.py WEIGHTS [--slots K] [--iterations T] [--restarts R] [--seed N] [--build DIR]

Runs `iodine decompose --deterministic` (the picture resized to the weights'
training size), takes each pixel's most probable slot and compares it with
the label under the pixel's centre, background ignored as in the paper.
Prints the FG-ARI and, per shape, the slot that holds most of it and that
share. Standard library only, so that it runs without numpy."""
import argparse
import array
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = {1: "red disc", 2: "green square", 3: "yellow triangle", 4: "blue rounded rectangle"}


def read_masks(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    t = header["masks"]
    k, h, w = t["shape"]
    start, end = t["data_offsets"]
    data = array.array("f")
    data.frombytes(blob[8 + n + start:8 + n + end])
    if sys.byteorder != "little":
        data.byteswap()
    return k, h, w, data


def labels_at(h, w, work):
    png = os.path.join(work, "labels.png")
    subprocess.run(["sh", os.path.join(ROOT, "tests/gimp/make-sample.sh"), "--labels", png], check=True)
    raw = subprocess.run(["convert", png, "-colorspace", "gray", "-depth", "8", "gray:-"],
                         check=True, capture_output=True).stdout
    W, H = 320, 240
    assert len(raw) == W * H, "unexpected label map size"
    out = []
    for y in range(h):
        sy = min(H - 1, int((y + 0.5) * H / h))
        for x in range(w):
            sx = min(W - 1, int((x + 0.5) * W / w))
            out.append(raw[sy * W + sx])
    return out


def ari(a, b):
    n = len(a)
    if n < 2:
        return float("nan")
    comb = lambda v: v * (v - 1) / 2
    pairs = Counter(zip(a, b))
    sum_ij = sum(comb(v) for v in pairs.values())
    sum_a = sum(comb(v) for v in Counter(a).values())
    sum_b = sum(comb(v) for v in Counter(b).values())
    expected = sum_a * sum_b / comb(n)
    top = (sum_a + sum_b) / 2
    if top == expected:
        return 1.0
    return (sum_ij - expected) / (top - expected)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("weights")
    p.add_argument("--slots", type=int)
    p.add_argument("--iterations", type=int, help="refinement iterations (default: the weights')")
    p.add_argument("--restarts", type=int, help="inference runs, the lowest loss kept (default 1)")
    p.add_argument("--seed", type=int, help="posterior samples' seed (default: --deterministic)")
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as work:
        out = os.path.join(work, "d.safetensors")
        cmd = [os.path.join(a.build, "engine/iodine"), "decompose", "--weights", a.weights,
               "--output", out, os.path.join(ROOT, "tests/data/sample.png")]
        if a.slots:
            cmd += ["--slots", str(a.slots)]
        if a.iterations:
            cmd += ["--iterations", str(a.iterations)]
        if a.restarts:
            cmd += ["--restarts", str(a.restarts)]
        cmd += ["--seed", str(a.seed)] if a.seed is not None else ["--deterministic"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        k, h, w, m = read_masks(out)
        labels = labels_at(h, w, work)
    P = h * w
    best = [max(range(k), key=lambda s: m[s * P + i]) for i in range(P)]
    fg = [i for i in range(P) if labels[i] > 0]
    score = ari([labels[i] for i in fg], [best[i] for i in fg])
    print(f"sample FG-ARI {score:.4f} ({k} slots, {w}×{h})")
    for obj in sorted(NAMES):
        px = [best[i] for i in fg if labels[i] == obj]
        if not px:
            continue
        slot, count = Counter(px).most_common(1)[0]
        print(f"  {NAMES[obj]:24s} slot {slot}: {count / len(px):.0%} of its {len(px)} pixels")
    if math.isnan(score):
        sys.exit(1)


if __name__ == "__main__":
    main()
