#!/usr/bin/python3
"""Minimal trainer of the PyTorch reference (spec §1, §4); writes spec §5 weights.

    /usr/bin/python3 tests/reference/train_ref.py --config tetrominoes --steps 1000 \\
        --out runs/tetro.safetensors [--data images.npy] [--device cuda] [--resume]

Data: --data FILE.npy ([N, H, W, 3], uint8 0..255 or float 0..1), or, without
it, a built-in Tetrominoes generator that draws what engine/dataset_tetrominoes.c
draws (35×35, three of the 19 fixed tetrominoes on a 7×7 grid of 5×5 blocks,
each block shaded with the same bevel pattern times one of 6 saturated
colours, on black), so that a GPU segment of a run trains on the project's
own data distribution.

A checkpoint of the C trainer (iodine-train --checkpoint) resumes here and
back: its train.* metadata is carried through, with train.step updated, so
that `iodine-train --resume` continues from what this script wrote. A C run
with GECO (train.geco_*) goes on with GECO here, as engine/train.c does it:
the NLL weighted by λ = max(1, softplus(ζ)), ζ stepped on the EMA of
NLL_T − target, the state written back for the C trainer.
--seconds bounds a segment by wall time (for a device lent for minutes).
Optimiser: Adam (β1 0.95, β2 0.999, ε 1e-8), global gradient-norm clipping at
5.0, noise ε ~ N(0, I) every step. Stops on a non-finite loss, keeping the last
good checkpoint. The checkpoint is one safetensors file: the spec's weights
plus adam.m.<name>, adam.v.<name> and metadata (train_steps, adam_step, ...);
--resume continues from it.
"""

import argparse
import csv
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iodine_ref as ir  # noqa: E402

DEFAULT_BATCH = {"tetrominoes": 32, "multi-dsprites": 16, "clevr": 32}


# ------------------------------------------------------------ data

def _fixed_tetrominoes():
    """The 19 fixed tetrominoes (rotations of the 7 free ones), as cell sets."""
    free = [[(0, 0), (0, 1), (0, 2), (0, 3)], [(0, 0), (0, 1), (1, 0), (1, 1)],
            [(0, 0), (0, 1), (0, 2), (1, 1)], [(0, 1), (0, 2), (1, 0), (1, 1)],
            [(0, 0), (0, 1), (1, 1), (1, 2)], [(0, 0), (1, 0), (2, 0), (2, 1)],
            [(0, 1), (1, 1), (2, 1), (2, 0)]]
    shapes = set()
    for cells in free:
        for _ in range(4):
            cells = [(c, -r) for r, c in cells]
            r0 = min(r for r, _ in cells)
            c0 = min(c for _, c in cells)
            shapes.add(tuple(sorted((r - r0, c - c0) for r, c in cells)))
    return sorted(shapes)


# engine/dataset_tetrominoes.c: the 19 orientations in its order, its
# shading and colours
SHAPES = [
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
assert sorted(tuple(sorted(c)) for c in SHAPES) == _fixed_tetrominoes()
SHADING = np.array([[191, 255, 255, 255, 223], [127, 159, 159, 159, 191],
                    [127, 159, 159, 159, 191], [127, 159, 159, 159, 191],
                    [95, 63, 63, 63, 127]], np.float32) / np.float32(255.0)
COLOURS = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]], np.float32)
GRID, BLOCK = 7, 5


def tetrominoes_batch(rng: np.random.Generator, n: int, objects: int = 3) -> np.ndarray:
    """[n, 35, 35, 3] float32, as engine/dataset_tetrominoes.c draws them: each
    piece a random orientation and colour at a random grid position, drawn
    again while it overlaps one placed before."""
    out = np.zeros((n, GRID * BLOCK, GRID * BLOCK, 3), np.float32)
    tile = np.tile(SHADING, (GRID, GRID))
    for i in range(n):
        grid = np.zeros((GRID, GRID), np.int32)
        colour = {}
        for p in range(1, objects + 1):
            while True:
                cells = SHAPES[rng.integers(len(SHAPES))]
                c = int(rng.integers(len(COLOURS)))
                h = max(r for r, _ in cells) + 1
                w = max(q for _, q in cells) + 1
                r0 = int(rng.integers(0, GRID - h + 1))
                c0 = int(rng.integers(0, GRID - w + 1))
                if all(grid[r0 + r, c0 + q] == 0 for r, q in cells):
                    for r, q in cells:
                        grid[r0 + r, c0 + q] = p
                    colour[p] = c
                    break
        labels = np.kron(grid, np.ones((BLOCK, BLOCK), np.int32))
        for p, c in colour.items():
            m = labels == p
            out[i][m] = tile[m][:, None] * COLOURS[c]
    return out


class NpyData:
    def __init__(self, path: str):
        a = np.load(path, mmap_mode="r")
        if a.ndim != 4 or a.shape[-1] != 3:
            raise ValueError(f"{path}: expected [N, H, W, 3], got {a.shape}")
        self.a = a

    def batch(self, rng, n):
        idx = np.sort(rng.choice(self.a.shape[0], n, replace=False))
        x = np.asarray(self.a[idx])
        return x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)


# ------------------------------------------------------------ checkpoints

def save_checkpoint(path, model, opt, step, extra_md, carried_md=None):
    tensors = {k: v.detach().float().cpu() for k, v in model.state_dict().items()}
    adam_step = 0
    for name, p in model.named_parameters():
        st = opt.state.get(p, {})
        if "exp_avg" in st:
            tensors["adam.m." + name] = st["exp_avg"].float().cpu()
            tensors["adam.v." + name] = st["exp_avg_sq"].float().cpu()
            adam_step = int(st["step"])
    md = dict(carried_md or {})
    md.update(ir.config_metadata(model.cfg))
    md.update(extra_md)
    md.update({"train_steps": str(step), "adam_step": str(adam_step)})
    if "train.step" in md:  # a C trainer's checkpoint: iodine-train --resume continues
        md["train.step"] = str(step)
    tmp = path + ".tmp"
    ir.save_safetensors(tmp, tensors, md)
    os.replace(tmp, path)


def load_checkpoint(path, device):
    tensors, md = ir.load_safetensors(path)
    model = ir.load_weights(path).to(device)
    return model, tensors, md


# ------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="tetrominoes")
    ap.add_argument("--data", help="images .npy [N, H, W, 3]; default: built-in Tetrominoes generator")
    ap.add_argument("--steps", type=int, default=100, help="total steps (a resumed run stops here too)")
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--out", required=True, help="checkpoint / weights .safetensors")
    ap.add_argument("--resume", action="store_true", help="continue from --out")
    ap.add_argument("--save-every", type=int, default=500)
    ap.add_argument("--log", help="CSV of step, loss, nll_T, kl_T, grad_norm, seconds")
    ap.add_argument("--seconds", type=float, default=0,
                    help="stop (and save) after this much wall time; 0: no bound")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)

    start = 0
    carried = {}
    if args.resume and os.path.exists(args.out):
        model, tensors, md = load_checkpoint(args.out, dev)
        start = int(md.get("train_steps", "0"))
        cfg = model.cfg
        if "train.step" in md:
            carried = {k: v for k, v in md.items() if k.startswith("train") or k == "dataset"}
    else:
        cfg = ir.preset(args.config)
        torch.manual_seed(args.seed)
        model = ir.reference_init_(ir.Iodine(cfg), seed=args.seed).to(dev)
        tensors = {}
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.95, 0.999), eps=1e-8)
    if "adam.m.init.lambda" in tensors:
        # the C trainer's Adam step is its train.step (it does not update adam_step)
        adam_step = int(md.get("train.step", md.get("adam_step", start)))
        for name, p in model.named_parameters():
            opt.state[p] = {"step": torch.tensor(float(adam_step)),
                            "exp_avg": torch.from_numpy(tensors["adam.m." + name]).to(dev),
                            "exp_avg_sq": torch.from_numpy(tensors["adam.v." + name]).to(dev)}

    K, T, M = cfg.slots, cfg.iterations, cfg.latent
    B = args.batch or DEFAULT_BATCH.get(args.config, 16)
    data = NpyData(args.data) if args.data else None
    if data is None and (cfg.height, cfg.width) != (35, 35):
        sys.exit("the built-in generator makes 35×35 Tetrominoes; give --data for this configuration")
    # a different stream per resumed segment, reproducible from (seed, start)
    rng = np.random.default_rng([args.seed, start])
    gen = torch.Generator(device=dev).manual_seed(args.seed * 1_000_003 + start)
    provenance = {"dataset": args.data or "tetrominoes", "train_seed": str(args.seed),
                  "trainer": "tests/reference/train_ref.py", "lr": repr(args.lr), "batch": str(B),
                  "init": "reference"}
    if carried:
        # resumed from the C trainer: its provenance stays, and each segment
        # trained here is listed (completed when the checkpoint is written)
        provenance = {"train_ref_segments": carried.pop("train_ref_segments", "")}
    # a C run with GECO (train.geco_*) goes on with GECO, its state carried
    geco = None
    if "train.geco_target" in carried:
        geco = {"target": float(carried["train.geco_target"]),
                "alpha": float(carried["train.geco_alpha"]),
                "step": float(carried["train.geco_step"]),
                "zeta": float(carried["train.geco_zeta"]),
                "ema": float(carried["train.geco_c_ema"]),
                "started": carried.get("train.geco_started") == "1"}
    log = None
    if args.log:
        new = not os.path.exists(args.log)
        log = open(args.log, "a", newline="")
        w = csv.writer(log)
        if new:
            w.writerow(["step", "loss", "nll_T", "kl_T", "grad_norm", "seconds"])
    t0 = time.time()
    step = start
    while step < args.steps:
        x = data.batch(rng, B) if data else tetrominoes_batch(rng, B)
        x = torch.from_numpy(x).to(dev)
        eps = torch.randn(T + 1, B, K, M, generator=gen, device=dev)
        opt.zero_grad(set_to_none=True)
        r = ir.run(model, x, K, T, eps, train=True)
        w_t = torch.arange(T + 1, dtype=x.dtype, device=dev) / T
        if geco:
            # GECO as engine/train.c: the NLL weighted by λ = max(1, softplus(ζ))
            lam = max(1.0, float(torch.nn.functional.softplus(torch.tensor(geco["zeta"],
                                                                           dtype=torch.float64))))
            loss = (w_t * (lam * r["nll"] + r["kl"]).mean(dim=1)).sum()
        else:
            loss = (w_t * r["loss"].mean(dim=1)).sum()
        if not torch.isfinite(loss):
            print(f"step {step}: non-finite loss; stopping (last checkpoint kept)", file=sys.stderr)
            sys.exit(1)
        loss.backward()
        gnorm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip))
        if not math.isfinite(gnorm):
            print(f"step {step}: non-finite gradient; stopping", file=sys.stderr)
            sys.exit(1)
        opt.step()
        step += 1
        nll_T, kl_T = float(r["nll"][-1].mean()), float(r["kl"][-1].mean())
        if geco:
            c = nll_T - geco["target"]
            geco["ema"] = geco["alpha"] * geco["ema"] + (1 - geco["alpha"]) * c if geco["started"] else c
            geco["started"] = True
            geco["zeta"] += geco["step"] * geco["ema"]
            carried.update({"train.geco_zeta": repr(geco["zeta"]), "train.geco_c_ema": repr(geco["ema"]),
                            "train.geco_started": "1"})
        if log:
            csv.writer(log).writerow([step, f"{float(loss):.3f}", f"{nll_T:.3f}", f"{kl_T:.3f}",
                                      f"{gnorm:.4f}", f"{time.time() - t0:.1f}"])
            log.flush()
        if step % 10 == 0 or step == args.steps:
            print(f"step {step} loss {float(loss):.2f} nll_T {nll_T:.2f} kl_T {kl_T:.2f} "
                  f"|g| {gnorm:.2f} ({(time.time() - t0) / (step - start):.3f} s/step)", flush=True)
        out_of_time = args.seconds and time.time() - t0 >= args.seconds
        if step % args.save_every == 0 or step == args.steps or out_of_time:
            if carried:
                done = provenance["train_ref_segments"].strip("; ")
                seg = (f"steps {start}-{step} batch {B} lr {args.lr:g} on {dev} "
                       f"({time.time() - t0:.0f} s)")
                carried["train_ref_segments"] = (done + "; " if done else "") + seg
            save_checkpoint(args.out, model, opt, step, provenance if not carried else {}, carried)
        if out_of_time:
            print(f"step {step}: --seconds {args.seconds:g} reached; checkpoint written", flush=True)
            break
    if log:
        log.close()


if __name__ == "__main__":
    main()
