#!/usr/bin/python3
"""The engine's synthetic datasets (engine/dataset*.c, engine/rng.c) in Python.

Sample `index` of a dataset of seed `seed` here is the same picture, to the
bit, as `iodine_dataset_get` draws: the same xoshiro256** stream seeded from
(seed, index), the same draws in the same order, the same float32/float64
arithmetic, glibc's libm through `math`. So a segment of a run trained with
the PyTorch reference (train_ref.py, on a lent GPU) sees the data the C
trainer would have seen. `tests/test-dataset.c` checks the C generators
against the golden file this script writes:

    /usr/bin/python3 tests/reference/datasets_ref.py --write-golden tests/data/golden/datasets.safetensors

Numpy only; no torch needed for generating.
"""

import argparse
import math
import os
import sys

import numpy as np

MASK = (1 << 64) - 1
G_PI = 3.14159265358979323846


# ------------------------------------------------------------ engine/rng.c

def _splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return x, z ^ (z >> 31)


class Rng:
    """xoshiro256** as iodine_rng_*."""

    def __init__(self, seed, index=None):
        if index is not None:  # iodine_rng_seed2
            _, z = _splitmix64(seed & MASK)
            seed = z ^ ((index * 0xD1342543DE82EF95 + 0x2545F4914F6CDD1D) & MASK)
        x = seed & MASK
        s = []
        for _ in range(4):
            x, z = _splitmix64(x)
            s.append(z)
        self.s = s

    def u64(self):
        s0, s1, s2, s3 = self.s
        r = ((s1 * 5) & MASK)
        r = (((r << 7) | (r >> 57)) & MASK) * 9 & MASK
        t = (s1 << 17) & MASK
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = ((s3 << 45) | (s3 >> 19)) & MASK
        self.s = [s0, s1, s2, s3]
        return r

    def uniform(self):
        return (self.u64() >> 11) * 2.0 ** -53

    def below(self, n):
        return ((self.u64() >> 32) * n) >> 32

    def normal(self):
        u1 = 1.0 - self.uniform()
        u2 = self.uniform()
        return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def _clamp(x, lo, hi):
    """GLib's CLAMP, elementwise."""
    return np.where(x > hi, hi, np.where(x < lo, lo, x))


def hsv_to_rgb(h, s, v):
    hh = h * 6.0
    i = int(math.floor(hh)) % 6
    f = hh - math.floor(hh)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    rgb = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
    return np.array(rgb, np.float32)


def all_visible(labels, n, min_visible):
    counts = np.bincount(labels.ravel(), minlength=256)
    return all(counts[s] >= min_visible for s in range(1, n + 1))


def _heart(u, v):
    x = u * 1.2
    y = -v * 1.2 + 0.12
    a = x * x + y * y - 1.0
    return a * a * a - x * x * y * y * y <= 0.0


def _object_frame(n, cx, cy, r, ca, sa):
    """Pixel window of an object and its (u, v) coordinates, as the C loops."""
    x0, x1 = max(0, int(math.floor(cx - 1.5 * r))), min(n - 1, int(math.ceil(cx + 1.5 * r)))
    y0, y1 = max(0, int(math.floor(cy - 1.5 * r))), min(n - 1, int(math.ceil(cy + 1.5 * r)))
    ys, xs = np.mgrid[y0:y1 + 1, x0:x1 + 1].astype(np.float64)
    dx, dy = xs + 0.5 - cx, ys + 0.5 - cy
    u = (ca * dx + sa * dy) / r
    v = (-sa * dx + ca * dy) / r
    return (slice(y0, y1 + 1), slice(x0, x1 + 1)), u, v


# ------------------------------------------------------------ engine/dataset_tetrominoes.c

TET_GRID, TET_BLOCK, TET_PIECES = 7, 5, 3
TET_SHAPES = [
    [(0, 0), (0, 1), (0, 2), (0, 3)], [(0, 0), (1, 0), (2, 0), (3, 0)],
    [(0, 0), (0, 1), (1, 0), (1, 1)],
    [(0, 0), (0, 1), (0, 2), (1, 1)], [(0, 1), (1, 0), (1, 1), (2, 1)],
    [(0, 1), (1, 0), (1, 1), (1, 2)], [(0, 0), (1, 0), (1, 1), (2, 0)],
    [(0, 1), (0, 2), (1, 0), (1, 1)], [(0, 0), (1, 0), (1, 1), (2, 1)],
    [(0, 0), (0, 1), (1, 1), (1, 2)], [(0, 1), (1, 0), (1, 1), (2, 0)],
    [(0, 0), (1, 0), (1, 1), (1, 2)], [(0, 0), (0, 1), (1, 0), (2, 0)],
    [(0, 0), (0, 1), (0, 2), (1, 2)], [(0, 1), (1, 1), (2, 0), (2, 1)],
    [(0, 2), (1, 0), (1, 1), (1, 2)], [(0, 0), (1, 0), (2, 0), (2, 1)],
    [(0, 0), (0, 1), (0, 2), (1, 0)], [(0, 0), (0, 1), (1, 1), (2, 1)],
]
TET_SHADING = np.array([[191, 255, 255, 255, 223], [127, 159, 159, 159, 191],
                        [127, 159, 159, 159, 191], [127, 159, 159, 159, 191],
                        [95, 63, 63, 63, 127]], np.float32)
TET_COLOURS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]],
                       np.float32)


def _tet_scene_is(grid, colour, want):
    """scene_is: "any", "same-colour" (two pieces share a colour) or
    "touching" (two pieces of one colour share a block edge)."""
    if want == "any":
        return True
    same = len(set(colour.values())) < len(colour)
    touching = False
    for r in range(TET_GRID):
        for c in range(TET_GRID):
            p = grid[r, c]
            if p == 0:
                continue
            for q in (grid[r, c + 1] if c + 1 < TET_GRID else 0,
                      grid[r + 1, c] if r + 1 < TET_GRID else 0):
                touching = touching or (q != 0 and q != p and colour[q] == colour[p])
    return touching if want == "touching" else same


def tetrominoes(rng, want="any"):
    while True:
        grid, colour = _tet_place(rng)
        if _tet_scene_is(grid, colour, want):
            break
    labels = np.kron(grid, np.ones((TET_BLOCK, TET_BLOCK), np.uint8))
    shade = np.tile(TET_SHADING / np.float32(255.0), (TET_GRID, TET_GRID))
    image = np.zeros(labels.shape + (3,), np.float32)
    for p, c in colour.items():
        m = labels == p
        image[m] = shade[m][:, None] * TET_COLOURS[c]
    return image, labels


def _tet_place(rng):
    grid = np.zeros((TET_GRID, TET_GRID), np.uint8)
    colour = {}
    for p in range(1, TET_PIECES + 1):
        while True:
            cells = TET_SHAPES[rng.below(19)]
            c = rng.below(6)
            h = max(r for r, _ in cells) + 1
            w = max(q for _, q in cells) + 1
            r0 = rng.below(TET_GRID - h + 1)
            c0 = rng.below(TET_GRID - w + 1)
            if all(grid[r0 + r, c0 + q] == 0 for r, q in cells):
                for r, q in cells:
                    grid[r0 + r, c0 + q] = p
                colour[p] = c
                break
    return grid, colour


# ------------------------------------------------------------ engine/dataset_dsprites.c

DS_N = 64
DS_HALF_SIZE = 0.18 * DS_N


def _dsprites_inside(shape, u, v):
    if shape == 0:
        return (np.abs(u) <= 1.0) & (np.abs(v) <= 1.0)
    if shape == 1:
        return (u * u) / (1.2 * 1.2) + (v * v) / (0.7 * 0.7) <= 1.0
    return _heart(u, v)


def _dsprites_try(rng, binarized):
    n = 2 + rng.below(2) if binarized else 2 + rng.below(4)
    bg = np.float32(0.0 if binarized else rng.uniform())
    image = np.full((DS_N, DS_N, 3), bg, np.float32)
    labels = np.zeros((DS_N, DS_N), np.uint8)
    for s in range(1, n + 1):
        shape = rng.below(3)
        scale = 0.5 + 0.1 * rng.below(6)
        angle = 2.0 * G_PI * rng.below(40) / 40.0
        px = rng.below(32) / 31.0
        py = rng.below(32) / 31.0
        rgb = np.ones(3, np.float32)
        if not binarized:
            h = rng.uniform()
            sat = rng.uniform()
            val = rng.uniform()
            rgb = hsv_to_rgb(h, sat, val)
        cx, cy = (0.1 + 0.8 * px) * DS_N, (0.1 + 0.8 * py) * DS_N
        r = DS_HALF_SIZE * scale
        win, u, v = _object_frame(DS_N, cx, cy, r, math.cos(angle), math.sin(angle))
        m = _dsprites_inside(shape, u, v)
        image[win][m] = rgb
        labels[win][m] = s
    return image, labels, all_visible(labels, n, 10)


def dsprites(rng, binarized=False):
    while True:
        image, labels, ok = _dsprites_try(rng, binarized)
        if ok:
            return image, labels


# ------------------------------------------------------------ engine/dataset_scenes.c

SC_N, SC_MAX = 64, 5


def _random_colour(rng):
    h = rng.uniform()
    s = rng.uniform()
    v = 0.15 + 0.85 * rng.uniform()
    return hsv_to_rgb(h, s, v)


def _background(rng):
    a = _random_colour(rng)
    b = _random_colour(rng)
    kind = rng.below(3)
    angle = 2 * G_PI * rng.uniform()
    ca, sa = math.cos(angle), math.sin(angle)
    amp = 0.08 + 0.12 * rng.uniform()
    waves = []
    for _ in range(3):
        fx = (rng.uniform() * 2 - 1) * 3.0 * 2 * G_PI / SC_N
        fy = (rng.uniform() * 2 - 1) * 3.0 * 2 * G_PI / SC_N
        ph = 2 * G_PI * rng.uniform()
        waves.append((fx, fy, ph))
    if kind == 0:
        return np.broadcast_to(a, (SC_N, SC_N, 3)).copy()
    ys, xs = np.mgrid[0:SC_N, 0:SC_N].astype(np.float64)
    a64 = a.astype(np.float64)
    if kind == 1:
        t = _clamp(0.5 + ((xs + 0.5 - SC_N / 2.0) * ca + (ys + 0.5 - SC_N / 2.0) * sa) / (1.42 * SC_N),
                   0.0, 1.0)
        # b[c] - a[c] is a float subtraction in C
        return (a64 + (b - a).astype(np.float64) * t[..., None]).astype(np.float32)
    wave = np.zeros((SC_N, SC_N))
    for fx, fy, ph in waves:
        # libm's sin, pixel by pixel, as the C loop (numpy's may differ in the last bit)
        for y in range(SC_N):
            for x in range(SC_N):
                wave[y, x] += math.sin(fx * x + fy * y + ph) / 3.0
    factor = np.array([1.0, 0.8, 0.6])
    return _clamp(a64 + amp * wave[..., None] * factor, 0.0, 1.0).astype(np.float32)


def _polyomino(rng):
    grid = np.zeros((6, 6), bool)
    cells = 3 + rng.below(4)
    have = 1
    grid[2, 2] = True
    while have < cells:
        y = rng.below(6)
        x = rng.below(6)
        if grid[y, x]:
            continue
        if ((y > 0 and grid[y - 1, x]) or (y < 5 and grid[y + 1, x])
                or (x > 0 and grid[y, x - 1]) or (x < 5 and grid[y, x + 1])):
            grid[y, x] = True
            have += 1
    return grid


def _scenes_inside(shape, u, v, aspect, grid):
    if shape == 0:
        return (np.abs(u) <= 0.8) & (np.abs(v) <= 0.8)
    if shape == 1:
        return (np.abs(u) <= 1.0) & (np.abs(v) <= aspect)
    if shape == 2:
        return u * u + (v * v) / (aspect * aspect) <= 1.0
    if shape == 3:
        return u * u + v * v <= 0.85
    if shape == 4:
        return (v <= 0.8) & (np.abs(u) <= (v + 0.9) / 1.7)
    if shape == 5:
        return _heart(u, v)
    gx = np.floor((u + 1.0) * 3.0).astype(np.int64)
    gy = np.floor((v + 1.0) * 3.0).astype(np.int64)
    ok = (gx >= 0) & (gx < 6) & (gy >= 0) & (gy < 6)
    return ok & grid[np.clip(gy, 0, 5), np.clip(gx, 0, 5)]


def _scenes_try(rng):
    image = _background(rng)
    labels = np.zeros((SC_N, SC_N), np.uint8)
    n = 1 + rng.below(SC_MAX)
    for s in range(1, n + 1):
        shape = rng.below(7)
        grid = _polyomino(rng)
        rad = 3.0 + 17.0 * math.pow(rng.uniform(), 1.5)
        aspect = 0.4 + 0.6 * rng.uniform()
        angle = 2 * G_PI * rng.uniform()
        cx = SC_N * (0.1 + 0.8 * rng.uniform())
        cy = SC_N * (0.1 + 0.8 * rng.uniform())
        c0 = _random_colour(rng)
        surface = rng.below(3)
        if surface == 1:
            c1 = c0 * np.float32(0.45)
        else:
            c1 = _clamp(c0 * np.float32(0.7) + np.float32(0.3) * (np.float32(1.0) - c0),
                        np.float32(0), np.float32(1))
        light = 2 * G_PI * rng.uniform()
        stripe = 2.0 + 3.0 * rng.uniform()
        lc, ls = math.cos(light), math.sin(light)
        win, u, v = _object_frame(SC_N, cx, cy, rad, math.cos(angle), math.sin(angle))
        m = _scenes_inside(shape, u, v, aspect, grid)
        if surface == 1:
            t = _clamp(0.5 + 0.5 * (u * lc + v * ls), 0.0, 1.0)
        elif surface == 2:
            t = np.fmod(np.floor((u + 2.0) * stripe), 2.0)
        else:
            t = np.zeros_like(u)
        colour = (c0.astype(np.float64) + (c1 - c0).astype(np.float64) * t[..., None]).astype(np.float32)
        image[win][m] = colour[m]
        labels[win][m] = s
    if rng.below(2):
        sigma = 0.04 * rng.uniform()
        flat = image.ravel()
        vals = flat.astype(np.float64).tolist()
        for i in range(len(vals)):
            vals[i] = vals[i] + sigma * rng.normal()
        flat[:] = _clamp(np.array(vals), 0.0, 1.0).astype(np.float32)
    return image, labels, all_visible(labels, n, 12)


def scenes(rng):
    while True:
        image, labels, ok = _scenes_try(rng)
        if ok:
            return image, labels


# ------------------------------------------------------------ engine/image_io.c resize

def _axis_taps(n_in, n_out):
    scale = n_in / n_out
    taps = []
    for j in range(n_out):
        if n_out < n_in:
            a, b = j * scale, (j + 1) * scale
            i0, i1 = int(math.floor(a)), min(n_in, int(math.ceil(b)))
            taps.append((i0, [np.float32(max(0.0, min(b, i + 1.0) - max(a, float(i))) / scale)
                              for i in range(i0, i1)]))
        else:
            src = min(max((j + 0.5) * scale - 0.5, 0.0), n_in - 1.0)
            i0 = int(math.floor(src))
            f = src - i0
            if i0 + 1 < n_in and f > 0:
                taps.append((i0, [np.float32(1 - f), np.float32(f)]))
            else:
                taps.append((i0, [np.float32(1.0)]))
    return taps


def resize(image, height, width):
    """iodine_image_resize: area when shrinking, bilinear when growing; float32
    weights and pixels, each output sample summed in float64 in the C loops'
    order and rounded to float32 once per pass."""
    ih, iw, _ = image.shape
    image = image.astype(np.float64)
    tmp = np.zeros((ih, width, 3), np.float64)
    for x, (first, w) in enumerate(_axis_taps(iw, width)):
        for k, wk in enumerate(w):
            tmp[:, x] += np.float64(wk) * image[:, first + k]
    tmp = tmp.astype(np.float32).astype(np.float64)
    out = np.zeros((height, width, 3), np.float64)
    for y, (first, w) in enumerate(_axis_taps(ih, height)):
        for k, wk in enumerate(w):
            out[y] += np.float64(wk) * tmp[first + k]
    return out.astype(np.float32)


def resize_labels(labels, height, width):
    nh, nw = labels.shape
    sy = np.minimum(nh - 1, ((np.arange(height) + 0.5) * nh / height).astype(np.int64))
    sx = np.minimum(nw - 1, ((np.arange(width) + 0.5) * nw / width).astype(np.int64))
    return labels[sy][:, sx]


# ------------------------------------------------------------ engine/dataset.c

NATIVE = {"tetrominoes": 35, "multi-dsprites": 64, "multi-dsprites-binarized": 64, "scenes": 64}


def sample(name, seed, index, height=0, width=0):
    """iodine_dataset_get of dataset `name` (seed `seed`) at `index`, at
    height × width (0: the native size): (image [H, W, 3] float32, labels [H, W] uint8)."""
    name, _, options = name.partition(":")
    if name not in NATIVE:
        raise ValueError(f"dataset {name}: not one of {', '.join(NATIVE)}")
    shares = {"touching": 0.0, "same-colour": 0.0}
    for item in filter(None, options.split(",")):
        key, _, value = item.partition("=")
        if name != "tetrominoes" or key not in shares:
            raise ValueError(f"dataset {name}: unknown option {item}")
        shares[key] = float(value)
    rng = Rng(seed, index)
    if name == "tetrominoes":
        want = "any"
        if shares["touching"] > 0 or shares["same-colour"] > 0:
            u = rng.uniform()
            if u < shares["touching"]:
                want = "touching"
            elif u < shares["touching"] + shares["same-colour"]:
                want = "same-colour"
        image, labels = tetrominoes(rng, want)
    elif name == "scenes":
        image, labels = scenes(rng)
    else:
        image, labels = dsprites(rng, name == "multi-dsprites-binarized")
    n = NATIVE[name]
    height, width = height or n, width or n
    if (height, width) != (n, n):
        image, labels = resize(image, height, width), resize_labels(labels, height, width)
    return image, labels


def batch(name, seed, first, count, height=0, width=0):
    """Samples first .. first+count−1, stacked: [count, H, W, 3] float32."""
    return np.stack([sample(name, seed, first + i, height, width)[0] for i in range(count)])


# ------------------------------------------------------------ golden file

# (dataset, seed, index, height, width): every generator at its native size,
# resized down (area) and up (bilinear), and scenes with and without noise
GOLDEN = [
    ("tetrominoes", 13, 0, 0, 0), ("tetrominoes", 13, 987654321, 0, 0),
    ("tetrominoes", 5, 3, 70, 70),
    ("tetrominoes:touching=0.4,same-colour=0.3", 13, 0, 0, 0),
    ("tetrominoes:touching=0.4,same-colour=0.3", 13, 1, 0, 0),
    ("tetrominoes:touching=0.4,same-colour=0.3", 13, 2, 0, 0),
    ("tetrominoes:touching=0.4,same-colour=0.3", 13, 3, 0, 0),
    ("multi-dsprites", 13, 0, 0, 0), ("multi-dsprites", 13, 4242, 0, 0),
    ("multi-dsprites", 12, 7, 32, 32), ("multi-dsprites", 5, 0, 24, 40),
    ("multi-dsprites-binarized", 13, 1, 0, 0),
    ("scenes", 13, 0, 0, 0), ("scenes", 13, 1, 0, 0), ("scenes", 13, 2, 0, 0),
    ("scenes", 13, 3, 0, 0), ("scenes", 13, 5, 48, 48),
]


def golden_name(entry):
    name, seed, index, h, w = entry
    return f"{name}.seed{seed}.index{index}.{h}x{w}"


def write_golden(path):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import iodine_ref as ir  # torch only for the writer it shares
    tensors = {}
    for entry in GOLDEN:
        image, labels = sample(*entry)
        tensors[golden_name(entry) + ".image"] = image
        tensors[golden_name(entry) + ".labels"] = labels.astype(np.float32)
    ir.save_safetensors(path, tensors, {"what": "tests/reference/datasets_ref.py samples "
                                                "(dataset.seedS.indexI.HxW; 0x0: native size)"})
    print(f"{path}: {len(GOLDEN)} samples")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write-golden", metavar="FILE")
    ap.add_argument("--time", metavar="DATASET", help="print the seconds one sample takes")
    a = ap.parse_args()
    if a.write_golden:
        write_golden(a.write_golden)
    if a.time:
        import time
        t0 = time.time()
        for i in range(20):
            sample(a.time, 1, i)
        print(f"{a.time}: {(time.time() - t0) / 20 * 1000:.1f} ms a sample")


if __name__ == "__main__":
    main()
