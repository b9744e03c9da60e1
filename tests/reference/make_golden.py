#!/usr/bin/python3
"""Writes the golden files the C tests compare against (tests/data/golden/).

    /usr/bin/python3 tests/reference/make_golden.py [--out DIR] [--check-only]

Decomposition goldens (deterministic, ε = 0), per configuration:
    <config>-weights.safetensors   reference init (seeded), refine.update.weight × UPDATE_SCALE
    <config>-T<T>.safetensors      spec §6 tensors for T = 1, 2, 5 (no masks_per_iteration)
Training-gradient goldens (one self-contained file each):
    train-tiny.safetensors, train-tiny-nolstm.safetensors

Every golden value is computed in float64 from the float32 weights and image
(the exact values of the file), then stored as float32. The float32 run of the
same reference is compared with it; the spreads are printed and written into
spreads.json next to this script (README.md quotes them).
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
from torch.nn.utils import stateless

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import iodine_ref as ir  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "data", "golden"))

UPDATE_SCALE = 0.1
SEEDS = {"tetrominoes": 1, "multi-dsprites": 2, "train-tiny": 3, "train-tiny-nolstm": 4}
GOLDEN_T = (1, 2, 5)
TINY_BATCH = 2


# ---------------------------------------------------------------- scenes

TETROMINOES = {  # a few of the 19 fixed tetrominoes, as (row, col) cells
    "T": [(0, 0), (0, 1), (0, 2), (1, 1)],
    "L": [(0, 0), (1, 0), (2, 0), (2, 1)],
    "S": [(0, 1), (0, 2), (1, 0), (1, 1)],
    "I": [(0, 0), (0, 1), (0, 2), (0, 3)],
}


def tetrominoes_scene() -> np.ndarray:
    """35×35, black background, three tetrominoes of 5-px blocks."""
    img = np.zeros((35, 35, 3), np.float32)
    for shape, (r0, c0), colour in [("T", (2, 3), (0.9, 0.2, 0.2)),
                                    ("L", (14, 22), (0.2, 0.85, 0.3)),
                                    ("S", (24, 5), (0.25, 0.4, 0.95))]:
        for r, c in TETROMINOES[shape]:
            img[r0 + 5 * r:r0 + 5 * r + 5, c0 + 5 * c:c0 + 5 * c + 5] = colour
    return img


def dsprites_scene() -> np.ndarray:
    """64×64, grey background, an occluding square, ellipse and triangle."""
    img = np.full((64, 64, 3), 0.5, np.float32)
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float32)
    square = (np.abs(yy - 20) <= 9) & (np.abs(xx - 22) <= 9)
    ellipse = ((yy - 30) / 12.0) ** 2 + ((xx - 38) / 8.0) ** 2 <= 1.0
    triangle = (yy >= 38) & (yy <= 58) & (np.abs(xx - 16) <= (yy - 38) * 0.6)
    img[square] = (0.95, 0.75, 0.1)
    img[ellipse] = (0.1, 0.6, 0.9)
    img[triangle] = (0.85, 0.15, 0.7)
    return img


def tiny_images() -> np.ndarray:
    """[2, 8, 8, 3]: two small scenes, one on black, one on grey."""
    imgs = np.zeros((2, 8, 8, 3), np.float32)
    imgs[0, 1:4, 1:4] = (0.9, 0.1, 0.1)
    imgs[0, 4:7, 3:7] = (0.1, 0.8, 0.2)
    imgs[1] = 0.5
    imgs[1, 2:6, 2:5] = (0.2, 0.3, 0.95)
    imgs[1, 5:8, 0:2] = (1.0, 1.0, 0.0)
    return imgs


# ---------------------------------------------------------------- helpers

def new_model(name: str, update_scale: float) -> ir.Iodine:
    model = ir.Iodine(ir.preset(name))
    ir.reference_init_(model, seed=SEEDS[name], update_scale=update_scale)
    return model


def as_double(model: ir.Iodine) -> ir.Iodine:
    m = ir.Iodine(model.cfg)
    m.load_state_dict(model.state_dict())
    return m.double()


def max_abs(a, b) -> float:
    return float((torch.as_tensor(a).double() - torch.as_tensor(b).double()).abs().max())


def decomposition_spread(model32, image, T, K, eps=None):
    """float32 and float64 runs of the same weights, image and noise."""
    r32 = ir.decompose(model32, torch.from_numpy(image), K, T, eps)
    r64 = ir.decompose(as_double(model32), torch.from_numpy(image).double(), K, T,
                       None if eps is None else eps.double())
    keys = ["masks", "mask_logits", "means", "lambda"]
    spread = {k: max_abs(r32[k], r64[k]) for k in keys}
    spread["loss_rel"] = float(((r32["loss"].double() - r64["loss"]).abs() / r64["loss"].abs()).max())
    return r32, r64, spread


def golden_eps(cfg, T, seed):
    g = torch.Generator().manual_seed(500 + seed)
    return torch.randn(T + 1, cfg.slots, cfg.latent, generator=g, dtype=torch.float64).float()


# ---------------------------------------------------------------- decomposition goldens

def make_decomposition(name: str, out_dir: str, write: bool, report: dict):
    cfg = ir.preset(name)
    image = tetrominoes_scene() if name == "tetrominoes" else dsprites_scene()
    model = new_model(name, UPDATE_SCALE)
    K = cfg.slots
    wfile = f"{name}-weights.safetensors"
    if write:
        ir.save_weights(model, os.path.join(out_dir, wfile), {
            "dataset": "none (random reference init, golden test)",
            "train_steps": "0", "train_seed": str(SEEDS[name]),
            "init": "reference", "update_scale": repr(UPDATE_SCALE)})
    rep = report.setdefault(name, {})
    runs = [(T, None) for T in GOLDEN_T] + [(5, golden_eps(cfg, 5, SEEDS[name]))]
    for T, eps in runs:
        r32, r64, spread = decomposition_spread(model, image, T, K, eps)
        # how far the refinement moves things, to show the test is not vacuous
        moved = {"masks": max_abs(r64["masks"], r64["masks_per_iteration"][0]),
                 "lambda": max_abs(r64["lambda"], model.init.value.detach().expand(K, -1)),
                 "masks_min": float(r64["masks"].min()), "masks_max": float(r64["masks"].max())}
        tag = f"T{T}" + ("" if eps is None else "-eps")
        rep[tag] = {"spread_f32_f64": spread, "refinement": moved}
        print(f"{name} {tag}: f32-f64 spread " +
              " ".join(f"{k}={v:.2e}" for k, v in spread.items()) +
              f" | refinement moved masks by {moved['masks']:.2e}, lambda by {moved['lambda']:.2e};"
              f" masks in [{moved['masks_min']:.3f}, {moved['masks_max']:.3f}]")
        if write:
            tensors = {k: r64[k] for k in ["image", "masks", "mask_logits", "means", "lambda",
                                            "loss", "nll", "kl"]}
            tensors["image"] = torch.from_numpy(image)
            md = {"weights": wfile, "slots": str(K), "iterations": str(T), "seed": "0",
                  "deterministic": "true" if eps is None else "false", "computed_in": "float64"}
            if eps is not None:
                tensors["eps"] = eps
                md["seed"] = "none: the noise is the tensor eps [T+1, K, M]"
            ir.save_safetensors(os.path.join(out_dir, f"{name}-{tag}.safetensors"), tensors, md)
    # for the record: the same spread without the contractive scaling
    raw = new_model(name, 1.0)
    _, _, s = decomposition_spread(raw, image, 5, K, golden_eps(cfg, 5, SEEDS[name]))
    rep["T5-eps_update_scale_1"] = s
    print(f"{name} T5-eps with update_scale 1.0 (not used): masks spread {s['masks']:.2e}")


# ---------------------------------------------------------------- training goldens

def tiny_eps(cfg, seed):
    g = torch.Generator().manual_seed(1000 + seed)
    e = torch.randn(cfg.iterations + 1, TINY_BATCH, cfg.slots, cfg.latent, generator=g, dtype=torch.float64)
    return e.float()


def loss_and_grads(model, images, eps):
    T, K = model.cfg.iterations, model.cfg.slots
    model.zero_grad(set_to_none=True)
    loss, per_iter = ir.train_loss(model, images, K, T, eps, return_iterations=True)
    names = [n for n, _ in model.named_parameters()]
    grads = torch.autograd.grad(loss, [p for _, p in model.named_parameters()])
    return loss.detach(), per_iter.detach(), dict(zip(names, grads))


def gradcheck_tiny(model64, images, eps, rep):
    """gradcheck of the SG semantics: record the stop-gradient inputs of the
    base point, then check (a) the backward of the real training loss equals
    the autograd gradient of a forward in which those inputs are frozen
    constants, and (b) that frozen forward's gradient against central
    differences (torch.autograd.gradcheck) for a subset of parameters."""
    cfg = model64.cfg
    T, K = cfg.iterations, cfg.slots
    images = torch.from_numpy(images).double()
    eps = eps.double()
    rec = []
    _, _, g_real = loss_and_grads_rec(model64, images, eps, rec)
    fixed = [tuple(x.detach() for x in item) for item in rec]
    _, _, g_frozen = loss_and_grads_rec(model64, images, eps, None, fixed)
    agree = max(max_abs(g_real[n], g_frozen[n]) for n in g_real)
    subset = ["init.lambda", "decoder.conv.1.bias", f"decoder.conv.{cfg.dec_layers}.bias",
              "refine.conv.1.bias", "refine.mlp.0.bias", "refine.update.bias",
              "refine.norm.grad_means.weight", "refine.norm.leave_one_out.bias",
              "refine.norm.grad_lambda.weight"]
    if cfg.lstm_hidden:
        subset.append("refine.lstm.bias")
    params = dict(model64.named_parameters())
    base = {n: p.detach() for n, p in params.items()}

    def f(*xs):
        ps = dict(base)
        ps.update(zip(subset, xs))
        return _loss_with(model64, ps, images, K, T, eps, fixed)

    inputs = tuple(base[n].clone().requires_grad_(True) for n in subset)
    ok = torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, raise_exception=False)
    # (c) the SG inputs matter: finite differences of the loss with the SG
    # inputs recomputed (not frozen) disagree with the backward.
    d = torch.zeros_like(base["refine.update.bias"]).normal_(generator=torch.Generator().manual_seed(0))
    h = 1e-5
    def full(delta):
        ps = dict(base)
        ps["refine.update.bias"] = base["refine.update.bias"] + delta
        with torch.enable_grad():
            return _loss_with(model64, ps, images, K, T, eps, None).item()
    fd_full = (full(h * d) - full(-h * d)) / (2 * h)
    bw = float((g_real["refine.update.bias"] * d).sum())
    rep["gradcheck"] = {"passed": bool(ok), "params": subset,
                        "backward_vs_frozen_forward_max_abs": agree,
                        "directional_refine.update.bias": {"backward": bw, "fd_without_sg": fd_full}}
    print(f"  gradcheck (frozen SG inputs, float64, {len(subset)} params): {'passed' if ok else 'FAILED'};"
          f" backward vs frozen-forward grads max diff {agree:.1e};"
          f" directional derivative backward {bw:.4f} vs finite differences without SG {fd_full:.4f}")
    return ok


def _loss_with(model, params, images, K, T, eps, fixed):
    """The training loss with the model's parameters replaced by params."""
    return stateless.functional_call(_Wrapper(model, K, T, fixed),
                                     {"m." + n: p for n, p in params.items()}, (images, eps))


class _Wrapper(torch.nn.Module):
    """Lets functional_call swap the model's parameters for given tensors."""

    def __init__(self, model, K, T, fixed):
        super().__init__()
        self.m = model
        self.K, self.T, self.fixed = K, T, fixed

    def forward(self, images, eps):
        return ir.train_loss(self.m, images, self.K, self.T, eps, sg_fixed=self.fixed)


def loss_and_grads_rec(model, images, eps, rec, fixed=None):
    T, K = model.cfg.iterations, model.cfg.slots
    loss, per_iter = ir.train_loss(model, images, K, T, eps, return_iterations=True,
                                   sg_record=rec, sg_fixed=fixed)
    names = [n for n, _ in model.named_parameters()]
    grads = torch.autograd.grad(loss, [p for _, p in model.named_parameters()])
    return loss.detach(), per_iter.detach(), dict(zip(names, grads))


def make_training(name: str, out_dir: str, write: bool, report: dict):
    cfg = ir.preset(name)
    model = new_model(name, 1.0)
    images = tiny_images()
    eps = tiny_eps(cfg, SEEDS[name])
    l32, it32, g32 = loss_and_grads(model, torch.from_numpy(images), eps)
    m64 = as_double(model)
    l64, it64, g64 = loss_and_grads(m64, torch.from_numpy(images).double(), eps.double())
    abs_spread = max(max_abs(g32[n], g64[n]) for n in g64)
    rel_spread = max(max_abs(g32[n], g64[n]) / max(float(g64[n].abs().max()), 1e-30) for n in g64)
    worst = max(g64, key=lambda n: max_abs(g32[n], g64[n]) / max(float(g64[n].abs().max()), 1e-30))
    rep = report.setdefault(name, {})
    rep.update({"train_loss_f64": float(l64), "train_loss_rel_spread": abs(float(l32 - l64)) / abs(float(l64)),
                "grad_max_abs_spread": abs_spread, "grad_max_rel_spread": rel_spread,
                "grad_worst_tensor": worst,
                "grad_max_abs": max(float(g.abs().max()) for g in g64.values())})
    print(f"{name}: loss {float(l64):.6f} (f32 rel spread {rep['train_loss_rel_spread']:.1e}); grads f32-f64 "
          f"max abs {abs_spread:.2e}, max rel-to-tensor-max {rel_spread:.2e} ({worst})")
    gradcheck_tiny(m64, images, eps, rep)
    if write:
        tensors = {k: v for k, v in model.state_dict().items()}
        tensors["images"] = torch.from_numpy(images)
        tensors["eps"] = eps
        tensors["train_loss"] = l64.view(1)
        tensors["loss_per_iteration"] = it64
        for n, g in g64.items():
            tensors["grad." + n] = g
        md = ir.config_metadata(cfg)
        md.update({"batch": str(TINY_BATCH), "train_seed": str(SEEDS[name]), "init": "reference",
                   "update_scale": "1.0", "computed_in": "float64",
                   "loss": "mean over batch of sum_t (t/T) L_t"})
        ir.save_safetensors(os.path.join(out_dir, f"{name}.safetensors"), tensors, md)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check-only", action="store_true", help="compute and report, write nothing")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    write = not args.check_only
    if write:
        os.makedirs(args.out, exist_ok=True)
    report = {"update_scale": UPDATE_SCALE}
    for name in ("tetrominoes", "multi-dsprites"):
        make_decomposition(name, args.out, write, report)
    ok = True
    for name in ("train-tiny", "train-tiny-nolstm"):
        make_training(name, args.out, write, report)
        ok &= report[name]["gradcheck"]["passed"]
    with open(os.path.join(HERE, "spreads.json"), "w") as f:
        json.dump(report, f, indent=1)
    if write:
        total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
        print(f"wrote {args.out} ({total / 1e6:.2f} MB)")
    if not ok:
        sys.exit("gradcheck failed")


if __name__ == "__main__":
    main()
