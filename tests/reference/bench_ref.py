#!/usr/bin/python3
"""Times the PyTorch reference on the work the C benchmark does.

    /usr/bin/python3 tests/reference/bench_ref.py tetrominoes --threads 2 [--batch B] [--reps N]

Prints one JSON object: inference seconds per image (one image, deterministic,
the configuration's K and T) and training images per second at the given
batch (forward + backward + Adam step, sampled ε).
"""

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iodine_ref as ir  # noqa: E402

DEFAULT_BATCH = {"tetrominoes": 32, "multi-dsprites": 16, "clevr": 32}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=0, help="training batch (default: the spec's)")
    ap.add_argument("--reps", type=int, default=3, help="timed repetitions (after one warm-up)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = ir.preset(args.config)
    K, T, M = cfg.slots, cfg.iterations, cfg.latent
    batch = args.batch or DEFAULT_BATCH.get(args.config, 4)
    model = ir.reference_init_(ir.Iodine(cfg), seed=args.seed)
    g = torch.Generator().manual_seed(args.seed)
    image = torch.rand(cfg.height, cfg.width, 3, generator=g)

    ir.decompose(model, image)                       # warm-up
    t0 = time.perf_counter()
    for _ in range(args.reps):
        ir.decompose(model, image)
    infer = (time.perf_counter() - t0) / args.reps

    opt = torch.optim.Adam(model.parameters(), lr=3e-4, betas=(0.95, 0.999), eps=1e-8)
    images = torch.rand(batch, cfg.height, cfg.width, 3, generator=g)

    def step():
        eps = torch.randn(T + 1, batch, K, M, generator=g)
        opt.zero_grad(set_to_none=True)
        loss = ir.train_loss(model, images, K, T, eps)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()

    step()                                           # warm-up
    t0 = time.perf_counter()
    for _ in range(args.reps):
        step()
    train_step = (time.perf_counter() - t0) / args.reps

    print(json.dumps({
        "engine": "pytorch-reference", "torch": torch.__version__, "config": args.config,
        "threads": args.threads, "slots": K, "iterations": T,
        "height": cfg.height, "width": cfg.width,
        "inference_seconds_per_image": round(infer, 5),
        "train_batch": batch, "train_seconds_per_step": round(train_step, 5),
        "train_images_per_second": round(batch / train_step, 3),
        "reps": args.reps,
    }))


if __name__ == "__main__":
    main()
