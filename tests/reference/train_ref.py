#!/usr/bin/python3
"""Minimal trainer of the PyTorch reference (spec §1, §4); writes spec §5 weights.

    /usr/bin/python3 tests/reference/train_ref.py --config tetrominoes --steps 1000 \\
        --out runs/tetro.safetensors [--data images.npy] [--device cuda] [--resume]

Data: one of the engine's datasets, drawn by datasets_ref.py as
engine/dataset*.c draws it (bit for bit; tests/test-dataset.c checks), at
the model's training size, by --workers processes ahead of the GPU; or
--data FILE.npy ([N, H, W, 3], uint8 0..255 or float 0..1). A resumed C
run goes on with its own dataset, seed and learning-rate schedule.

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
import datasets_ref as ds  # noqa: E402
import iodine_ref as ir  # noqa: E402

DEFAULT_BATCH = {"tetrominoes": 32, "multi-dsprites": 16, "clevr": 32}


# ------------------------------------------------------------ data

class GeneratedData:
    """Batches of one of the engine's datasets (datasets_ref.py draws each
    sample as iodine_dataset_get does), made ahead by worker processes.
    Batch j of a segment that starts at step `start` holds the samples
    FIRST_INDEX + (start + j)·B …: disjoint from the C trainer's, which are
    step·batch < 2^40, and from other segments' of the same batch size."""

    FIRST_INDEX = 1 << 40

    def __init__(self, name, seed, start, batch, height, width, workers):
        import multiprocessing as mp
        self.args = (name, seed, height, width, batch)
        self.next = start
        self.pool = mp.get_context("fork").Pool(workers) if workers > 1 else None
        self.pending = []
        self.depth = 2 * workers if self.pool else 0

    def _job(self, j):
        name, seed, h, w, b = self.args
        return (name, seed, self.FIRST_INDEX + j * b, b, h, w)

    def batch(self, rng, n):
        assert n == self.args[4]
        if self.pool is None:
            x = ds.batch(*self._job(self.next))
            self.next += 1
            return x
        while len(self.pending) < self.depth + 1:
            self.pending.append(self.pool.apply_async(ds.batch, self._job(self.next + len(self.pending))))
        x = self.pending.pop(0).get()
        self.next += 1
        return x


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
    ap.add_argument("--data", help="images .npy [N, H, W, 3] instead of a generated dataset")
    ap.add_argument("--dataset", help="tetrominoes, multi-dsprites, multi-dsprites-binarized or scenes "
                    "(default: a resumed C run's, else the config's), at the model's training size")
    ap.add_argument("--workers", type=int, default=max(1, min(15, (os.cpu_count() or 2) - 1)),
                    help="processes that generate batches ahead (default: the cores but one, at most 15)")
    ap.add_argument("--steps", type=int, default=100, help="total steps (a resumed run stops here too)")
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--lr", type=float, help="constant learning rate (default: a resumed C run's "
                    "schedule, train.lr with its warm-up and half-life at the run's step; else 3e-4)")
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
    def learning_rate(step):
        """engine/train.c's learning_rate() of a resumed C run, else --lr."""
        if args.lr is not None or "train.lr" not in carried:
            return args.lr if args.lr is not None else 3e-4
        lr = float(carried["train.lr"])
        warmup = int(carried.get("train.warmup_steps", "0"))
        half_life = float(carried.get("train.decay_half_life", "0"))
        if warmup > 0 and step < warmup:
            lr *= step / warmup
        if half_life > 0:
            lr *= 0.5 ** (step / half_life)
        return lr

    opt = torch.optim.Adam(model.parameters(), lr=learning_rate(start), betas=(0.95, 0.999), eps=1e-8)
    if "adam.m.init.lambda" in tensors:
        # the C trainer's Adam step is its train.step (it does not update adam_step)
        adam_step = int(md.get("train.step", md.get("adam_step", start)))
        for name, p in model.named_parameters():
            opt.state[p] = {"step": torch.tensor(float(adam_step)),
                            "exp_avg": torch.from_numpy(tensors["adam.m." + name]).to(dev),
                            "exp_avg_sq": torch.from_numpy(tensors["adam.v." + name]).to(dev)}

    K, T, M = cfg.slots, cfg.iterations, cfg.latent
    B = args.batch or DEFAULT_BATCH.get(args.config, 16)
    # a C run's data: its dataset and seed, so that the samples are of its stream
    data_seed = int(carried.get("train.seed", args.seed))
    dataset = args.dataset or carried.get("train.dataset") or carried.get("dataset") or args.config
    if args.data:
        data = NpyData(args.data)
        dataset = args.data
    elif dataset in ds.NATIVE:
        data = GeneratedData(dataset, data_seed, start, B, cfg.height, cfg.width, args.workers)
    else:
        sys.exit(f"dataset {dataset}: not generated here ({', '.join(ds.NATIVE)}); give --data")
    # a different stream per resumed segment, reproducible from (seed, start)
    rng = np.random.default_rng([args.seed, start])
    gen = torch.Generator(device=dev).manual_seed(args.seed * 1_000_003 + start)
    provenance = {"dataset": dataset, "train_seed": str(args.seed),
                  "trainer": "tests/reference/train_ref.py", "lr": repr(learning_rate(start)), "batch": str(B),
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
        x = data.batch(rng, B)
        for group in opt.param_groups:
            group["lr"] = learning_rate(step)
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
                seg = (f"steps {start}-{step} batch {B} lr {learning_rate(start):g} on {dev} "
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
