"""PyTorch reference of the IODINE model contract (shared/iodine-spec.md).

This file is the executable form of the spec: the C engine (libiodine) is
tested against golden files written from it (make_golden.py). It favours
clarity over speed; every numeric choice below is one the C side mirrors.

Layout: NCHW inside; images come in and go out as [H, W, 3] / [B, H, W, 3]
(channels last, as the spec's tensors). Everything works in float32 or,
after model.double(), in float64 (used to measure the float32 spread).

Usable as a module:
    import iodine_ref as ir
    cfg = ir.preset("tetrominoes")
    model = ir.Iodine(cfg); ir.reference_init_(model, seed=0)
    out = ir.decompose(model, image)              # spec §6 tensors
    loss = ir.train_loss(model, images, K, T, eps)
    ir.save_weights(model, "w.safetensors"); model = ir.load_weights("w.safetensors")
"""

import json
import math
import struct
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

LN_EPS = 1e-5


# --------------------------------------------------------------------------
# Configuration (spec §4)
# --------------------------------------------------------------------------

@dataclass
class Config:
    height: int
    width: int
    slots: int          # K (default at run time)
    iterations: int     # T (default at run time)
    latent: int         # M
    dec_layers: int
    dec_channels: int
    dec_kernel: int
    ref_layers: int
    ref_channels: int
    ref_kernel: int
    mlp: List[int] = field(default_factory=lambda: [128])
    lstm_hidden: int = 0          # 0: no LSTM
    coords: str = "cos3"          # 'cos3' | 'linear'
    pixel_scale: float = 0.03

    @property
    def n_coords(self) -> int:
        return 8 if self.coords == "cos3" else 2

    @property
    def refine_inputs(self) -> int:
        # image 3, means 3, logits 1, mask 1, posterior 1,
        # LN grad means 3, LN grad logits 1, LN log p 1, LN leave-one-out 1
        return 15 + self.n_coords

    @property
    def flat_size(self) -> int:
        return self.mlp[-1] + 4 * self.latent


PRESETS: Dict[str, Config] = {
    "tetrominoes": Config(height=35, width=35, slots=4, iterations=5, latent=32,
                          dec_layers=4, dec_channels=32, dec_kernel=5,
                          ref_layers=3, ref_channels=32, ref_kernel=5,
                          mlp=[128], lstm_hidden=0, coords="cos3"),
    "multi-dsprites": Config(height=64, width=64, slots=6, iterations=5, latent=16,
                             dec_layers=4, dec_channels=32, dec_kernel=5,
                             ref_layers=3, ref_channels=32, ref_kernel=5,
                             mlp=[128], lstm_hidden=128, coords="cos3"),
    "clevr": Config(height=128, width=128, slots=7, iterations=5, latent=64,
                    dec_layers=4, dec_channels=64, dec_kernel=3,
                    ref_layers=4, ref_channels=64, ref_kernel=3,
                    mlp=[256, 256], lstm_hidden=256, coords="linear"),
}

# The tiny configurations of the training-gradient goldens.
TINY = {
    "train-tiny": Config(height=8, width=8, slots=2, iterations=2, latent=4,
                         dec_layers=2, dec_channels=8, dec_kernel=3,
                         ref_layers=2, ref_channels=8, ref_kernel=3,
                         mlp=[16], lstm_hidden=8, coords="cos3"),
    "train-tiny-nolstm": Config(height=8, width=8, slots=2, iterations=2, latent=4,
                                dec_layers=2, dec_channels=8, dec_kernel=3,
                                ref_layers=2, ref_channels=8, ref_kernel=3,
                                mlp=[16, 16], lstm_hidden=0, coords="linear"),
}


def preset(name: str) -> Config:
    if name in PRESETS:
        return replace(PRESETS[name], mlp=list(PRESETS[name].mlp))
    if name in TINY:
        return replace(TINY[name], mlp=list(TINY[name].mlp))
    raise KeyError(f"unknown configuration '{name}' (known: {', '.join(list(PRESETS) + list(TINY))})")


def config_metadata(cfg: Config) -> Dict[str, str]:
    """The spec §5 metadata, plus the architecture keys that rebuild the model."""
    return {
        "format": "iodine",
        "format_version": "1",
        "latent_dim": str(cfg.latent),
        "slots": str(cfg.slots),
        "iterations": str(cfg.iterations),
        "height": str(cfg.height),
        "width": str(cfg.width),
        "pixel_scale": repr(float(cfg.pixel_scale)),
        "coords": cfg.coords,
        "dec_layers": str(cfg.dec_layers),
        "dec_channels": str(cfg.dec_channels),
        "dec_kernel": str(cfg.dec_kernel),
        "ref_layers": str(cfg.ref_layers),
        "ref_channels": str(cfg.ref_channels),
        "ref_kernel": str(cfg.ref_kernel),
        "mlp": ",".join(str(m) for m in cfg.mlp),
        "lstm_hidden": str(cfg.lstm_hidden),
    }


def config_from_metadata(md: Dict[str, str]) -> Config:
    if md.get("format") != "iodine":
        raise ValueError(f"metadata format is {md.get('format')!r}, expected 'iodine'")
    if md.get("format_version") != "1":
        raise ValueError(f"unsupported format_version {md.get('format_version')!r}")
    return Config(height=int(md["height"]), width=int(md["width"]),
                  slots=int(md["slots"]), iterations=int(md["iterations"]),
                  latent=int(md["latent_dim"]),
                  dec_layers=int(md["dec_layers"]), dec_channels=int(md["dec_channels"]),
                  dec_kernel=int(md["dec_kernel"]),
                  ref_layers=int(md["ref_layers"]), ref_channels=int(md["ref_channels"]),
                  ref_kernel=int(md["ref_kernel"]),
                  mlp=[int(s) for s in md["mlp"].split(",") if s.strip()],
                  lstm_hidden=int(md["lstm_hidden"]), coords=md["coords"],
                  pixel_scale=float(md["pixel_scale"]))


# --------------------------------------------------------------------------
# Modules. Registration order = state_dict order = spec §5 order.
# --------------------------------------------------------------------------

class InitLambda(nn.Module):
    """Holds `init.lambda` [2M] ('lambda' is a keyword, hence the indirection)."""

    def __init__(self, latent: int):
        super().__init__()
        self.register_parameter("lambda", nn.Parameter(torch.zeros(2 * latent)))

    @property
    def value(self) -> torch.Tensor:
        return getattr(self, "lambda")


class Affine(nn.Module):
    """Per-channel (or per-element) affine of a layer norm."""

    def __init__(self, n: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n))


class LSTMCell(nn.Module):
    """gates = W_ih x + W_hh h + b, split (i, f, g, o); one bias vector."""

    def __init__(self, n_in: int, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.weight_ih = nn.Parameter(torch.zeros(4 * hidden, n_in))
        self.weight_hh = nn.Parameter(torch.zeros(4 * hidden, hidden))
        self.bias = nn.Parameter(torch.zeros(4 * hidden))

    def forward(self, x, h, c):
        gates = x @ self.weight_ih.t() + h @ self.weight_hh.t() + self.bias
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


class Decoder(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        k = cfg.dec_kernel
        chans = [cfg.latent + 2] + [cfg.dec_channels] * cfg.dec_layers + [4]
        self.conv = nn.ModuleList(
            nn.Conv2d(chans[i], chans[i + 1], k, stride=1, padding=k // 2)
            for i in range(len(chans) - 1))

    def forward(self, z, height, width):
        """z [N, M] -> mask logits [N, H, W], means [N, 3, H, W]."""
        n, m = z.shape
        y = torch.linspace(-1.0, 1.0, height, dtype=z.dtype, device=z.device)
        x = torch.linspace(-1.0, 1.0, width, dtype=z.dtype, device=z.device)
        yy = y.view(height, 1).expand(height, width)
        xx = x.view(1, width).expand(height, width)
        coords = torch.stack([yy, xx]).unsqueeze(0).expand(n, 2, height, width)
        h = torch.cat([z.view(n, m, 1, 1).expand(n, m, height, width), coords], dim=1)
        for i, conv in enumerate(self.conv):
            h = conv(h)
            if i < len(self.conv) - 1:
                h = F.elu(h)
        return h[:, 0], h[:, 1:4]


NORM_NAMES = ("grad_means", "grad_mask_logits", "log_likelihood", "leave_one_out", "grad_lambda")


class Refine(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        k = cfg.ref_kernel
        chans = [cfg.refine_inputs] + [cfg.ref_channels] * cfg.ref_layers
        self.conv = nn.ModuleList(
            nn.Conv2d(chans[i], chans[i + 1], k, stride=2, padding=k // 2)
            for i in range(len(chans) - 1))
        sizes = [chans[-1]] + list(cfg.mlp)
        self.mlp = nn.ModuleList(nn.Linear(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1))
        n_flat = cfg.flat_size
        if cfg.lstm_hidden > 0:
            self.lstm = LSTMCell(n_flat, cfg.lstm_hidden)
            n_upd = cfg.lstm_hidden
        else:
            self.lstm = None
            n_upd = n_flat
        self.update = nn.Linear(n_upd, 2 * cfg.latent)
        self.norm = nn.ModuleDict({
            "grad_means": Affine(3),
            "grad_mask_logits": Affine(1),
            "log_likelihood": Affine(1),
            "leave_one_out": Affine(1),
            "grad_lambda": Affine(2 * cfg.latent),
        })

    def forward(self, spatial, grad_lambda_ln, lam, state):
        """spatial [N, C, H, W]; grad_lambda_ln, lam [N, 2M]; state (h, c) or None.
        Returns the update of λ [N, 2M] and the new state."""
        h = spatial
        for conv in self.conv:
            h = F.elu(conv(h))
        h = h.mean(dim=(2, 3))
        for i, lin in enumerate(self.mlp):
            h = lin(h)
            if i < len(self.mlp) - 1:
                h = F.elu(h)
        flat = torch.cat([h, grad_lambda_ln, lam], dim=1)
        if self.lstm is not None:
            hs, cs = self.lstm(flat, state[0], state[1])
            return self.update(hs), (hs, cs)
        return self.update(flat), state


class Iodine(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        self.add_module("init", InitLambda(cfg.latent))
        self.decoder = Decoder(cfg)
        self.refine = Refine(cfg)


# --------------------------------------------------------------------------
# Reference initialisation (spec §1)
# --------------------------------------------------------------------------

def _trunc_normal_(t: torch.Tensor, std: float, gen: torch.Generator):
    """Normal(0, std) truncated at ±2 std, by rejection (exact distribution)."""
    out = torch.empty(t.numel(), dtype=torch.float64)
    filled = 0
    while filled < out.numel():
        cand = torch.randn(2 * (out.numel() - filled) + 16, generator=gen, dtype=torch.float64)
        cand = cand[cand.abs() <= 2.0]
        n = min(cand.numel(), out.numel() - filled)
        out[filled:filled + n] = cand[:n]
        filled += n
    with torch.no_grad():
        t.copy_((out * std).view_as(t))


def reference_init_(model: Iodine, seed: int = 0, update_scale: float = 1.0) -> Iodine:
    """Spec §1 initialisation, seeded. update_scale multiplies refine.update.weight
    (0.1 for the golden weights, so that the refinement is contractive)."""
    gen = torch.Generator().manual_seed(seed)
    cfg = model.cfg
    M = cfg.latent
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name == "init.lambda":
                a = math.sqrt(3.0 / (2 * M))
                p.copy_((torch.rand(p.shape, generator=gen, dtype=torch.float64) * 2 - 1) * a)
            elif name.startswith("refine.norm."):
                p.fill_(1.0 if name.endswith(".weight") else 0.0)
            elif name in ("refine.lstm.weight_ih", "refine.lstm.weight_hh"):
                fan_in = model.refine.lstm.weight_ih.shape[1] + cfg.lstm_hidden
                _trunc_normal_(p, 1.0 / math.sqrt(fan_in), gen)
            elif name == "refine.lstm.bias":
                p.zero_()
                Hl = cfg.lstm_hidden
                p[Hl:2 * Hl] = 1.0          # forget gate (order i, f, g, o)
            elif name.endswith(".weight"):
                fan_in = p[0].numel()       # C_in·k·k for a conv, in for a linear
                _trunc_normal_(p, 1.0 / math.sqrt(fan_in), gen)
            elif name.endswith(".bias"):
                p.zero_()
            else:
                raise AssertionError(f"parameter {name} has no initialisation rule")
        model.refine.update.weight.mul_(update_scale)
    return model


# --------------------------------------------------------------------------
# Likelihood, layer norm, coordinates
# --------------------------------------------------------------------------

def logistic_log_density(x, mean, scale: float):
    """log Logistic(x; mean, s) = -u - log s - 2 softplus(-u), u = (x - mean)/s."""
    u = (x - mean) / scale
    return -u - math.log(scale) - 2.0 * F.softplus(-u)


def layer_norm(x, weight, bias, eps: float = LN_EPS):
    """x [N, C, ...]: normalise each row over all its values (biased variance),
    then the affine per channel C (per element for a [N, C] input)."""
    dims = tuple(range(1, x.dim()))
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    y = (x - mean) / torch.sqrt(var + eps)
    shape = (1, -1) + (1,) * (x.dim() - 2)
    return y * weight.view(shape) + bias.view(shape)


def refine_coords(coords: str, height: int, width: int, dtype, device) -> torch.Tensor:
    """[C, H, W] coordinate channels of the refinement input."""
    if coords == "cos3":
        u = torch.linspace(0.0, 1.0, width, dtype=dtype, device=device).view(1, width)
        v = torch.linspace(0.0, 1.0, height, dtype=dtype, device=device).view(height, 1)
        chans = []
        for fy in range(3):
            for fx in range(3):
                if fy == 0 and fx == 0:
                    continue
                chans.append(torch.cos(math.pi * fy * v) * torch.cos(math.pi * fx * u))
        return torch.stack(chans)
    if coords == "linear":
        y = torch.linspace(-1.0, 1.0, height, dtype=dtype, device=device)
        x = torch.linspace(-1.0, 1.0, width, dtype=dtype, device=device)
        return torch.stack([y.view(height, 1).expand(height, width),
                            x.view(1, width).expand(height, width)])
    raise ValueError(f"unknown coords '{coords}'")


def leave_one_out(mask_logits, ll, log_p):
    """log p(x_i|z) - log p(x_i|z_{≠k}) for every k; inputs [B, K, H, W], log_p [B, H, W].
    log p(x_i|z_{≠k}) = logsumexp_{j≠k}(m̂_j + ll_j) - logsumexp_{j≠k} m̂_j
    (the K-1 remaining logits renormalised)."""
    K = mask_logits.shape[1]
    eye = torch.eye(K, dtype=torch.bool, device=mask_logits.device).view(1, K, K, 1, 1)
    a = (mask_logits + ll).unsqueeze(1).expand(-1, K, -1, -1, -1)      # [B, k, j, H, W]
    b = mask_logits.unsqueeze(1).expand(-1, K, -1, -1, -1)
    a = a.masked_fill(eye, float("-inf"))
    b = b.masked_fill(eye, float("-inf"))
    log_p_without = torch.logsumexp(a, dim=2) - torch.logsumexp(b, dim=2)   # [B, K, H, W]
    return log_p.unsqueeze(1) - log_p_without


# --------------------------------------------------------------------------
# The inference / training loop (spec §3)
# --------------------------------------------------------------------------

def run(model: Iodine, images: torch.Tensor, K: int, T: int, eps: Optional[torch.Tensor] = None,
        train: bool = False, sg_record: Optional[list] = None, sg_fixed: Optional[list] = None,
        keep_masks: bool = False) -> dict:
    """Runs the loop on images [B, H, W, 3]. eps: [T+1, B, K, M] or None (ε = 0).

    train=False: each iteration starts from a detached λ (no graph across
    iterations). train=True: full backpropagation through time; the SG inputs
    are detached. sg_record: a list that receives the SG inputs of every
    iteration; sg_fixed: use these instead of computing them (for gradcheck:
    makes the forward treat them as the constants the backward assumes).

    Returns per-iteration loss/nll/kl [T+1, B] and the final decode."""
    cfg = model.cfg
    if K < 2:
        raise ValueError("K must be at least 2")
    p0 = model.init.value
    dtype, device = p0.dtype, p0.device
    x = images.to(dtype=dtype, device=device).permute(0, 3, 1, 2)    # [B, 3, H, W]
    B, _, H, W = x.shape
    M = cfg.latent
    sx = cfg.pixel_scale
    coords = refine_coords(cfg.coords, H, W, dtype, device)
    norm = model.refine.norm

    lam = p0.view(1, 1, 2 * M).expand(B, K, 2 * M)
    state = None
    if model.refine.lstm is not None:
        z0 = torch.zeros(B * K, cfg.lstm_hidden, dtype=dtype, device=device)
        state = (z0, z0)
    losses, nlls, kls, masks_it = [], [], [], []
    out = {}
    for t in range(T + 1):
        if not train or not lam.requires_grad:
            lam = lam.detach().requires_grad_(True)
            if state is not None and not train:
                state = (state[0].detach(), state[1].detach())
        mu, s = lam[..., :M], lam[..., M:]
        var = F.softplus(s)
        z = mu
        if eps is not None:
            z = mu + torch.sqrt(var) * eps[t].to(dtype=dtype, device=device)
        mlog, means = model.decoder(z.reshape(B * K, M), H, W)
        mlog = mlog.view(B, K, H, W)
        means = means.view(B, K, 3, H, W)
        ll = logistic_log_density(x.unsqueeze(1), means, sx).sum(dim=2)     # [B, K, H, W]
        log_masks = F.log_softmax(mlog, dim=1)
        log_p = torch.logsumexp(log_masks + ll, dim=1)                       # [B, H, W]
        nll = -log_p.sum(dim=(1, 2))
        kl = 0.5 * (mu ** 2 + var - 1.0 - torch.log(var)).sum(dim=(1, 2))
        loss = nll + kl
        losses.append(loss)
        nlls.append(nll)
        kls.append(kl)
        masks = torch.softmax(mlog, dim=1)
        if keep_masks:
            masks_it.append(masks.detach())
        if t == T:
            out.update(masks=masks, mask_logits=mlog, means=means, lam=lam)
            break

        # Stop-gradient inputs: gradients of the per-image L_t (sum over the
        # batch keeps them per image), and log p / leave-one-out, all constants.
        if sg_fixed is not None:
            g_means, g_mlog, g_lam, lp_sg, loo = sg_fixed[t]
        else:
            g_means, g_mlog, g_lam = torch.autograd.grad(loss.sum(), [means, mlog, lam],
                                                        retain_graph=True)
            lp_sg = log_p.detach()
            loo = leave_one_out(mlog.detach(), ll.detach(), lp_sg)
            if sg_record is not None:
                sg_record.append((g_means, g_mlog, g_lam, lp_sg, loo))

        N = B * K
        posterior = torch.softmax(ll, dim=1)
        spatial = torch.cat([
            x.unsqueeze(1).expand(B, K, 3, H, W).reshape(N, 3, H, W),
            means.reshape(N, 3, H, W),
            mlog.reshape(N, 1, H, W),
            masks.reshape(N, 1, H, W),
            posterior.reshape(N, 1, H, W),
            layer_norm(g_means.reshape(N, 3, H, W), norm["grad_means"].weight, norm["grad_means"].bias),
            layer_norm(g_mlog.reshape(N, 1, H, W), norm["grad_mask_logits"].weight,
                       norm["grad_mask_logits"].bias),
            layer_norm(lp_sg.unsqueeze(1).expand(B, K, H, W).reshape(N, 1, H, W),
                       norm["log_likelihood"].weight, norm["log_likelihood"].bias),
            layer_norm(loo.reshape(N, 1, H, W), norm["leave_one_out"].weight, norm["leave_one_out"].bias),
            coords.unsqueeze(0).expand(N, -1, H, W),
        ], dim=1)
        g_lam_ln = layer_norm(g_lam.reshape(N, 2 * M), norm["grad_lambda"].weight, norm["grad_lambda"].bias)
        with torch.set_grad_enabled(train):        # inference needs no graph here
            delta, state = model.refine(spatial, g_lam_ln, lam.reshape(N, 2 * M), state)
            lam = lam + delta.view(B, K, 2 * M)

    out.update(loss=torch.stack(losses), nll=torch.stack(nlls), kl=torch.stack(kls))
    if keep_masks:
        out["masks_per_iteration"] = torch.stack(masks_it, dim=1)     # [B, T+1, K, H, W]
    return out


def decompose(model: Iodine, image, K: Optional[int] = None, T: Optional[int] = None,
              eps=None) -> Dict[str, torch.Tensor]:
    """Spec §6 tensors for one image [H, W, 3] (values in [0, 1]).
    eps: None (deterministic, ε = 0) or [T+1, K, M]."""
    cfg = model.cfg
    K = cfg.slots if K is None else K
    T = cfg.iterations if T is None else T
    p0 = model.init.value
    img = torch.as_tensor(np.asarray(image) if not torch.is_tensor(image) else image)
    img = img.to(dtype=p0.dtype, device=p0.device)
    if eps is not None:
        eps = torch.as_tensor(eps).to(dtype=p0.dtype, device=p0.device).unsqueeze(1)
    with torch.enable_grad():
        r = run(model, img.unsqueeze(0), K, T, eps, train=False, keep_masks=True)
    d = lambda t: t.detach()[0]
    return {
        "image": img.detach(),
        "masks": d(r["masks"]),
        "mask_logits": d(r["mask_logits"]),
        "means": d(r["means"]).permute(0, 2, 3, 1).contiguous(),        # [K, H, W, 3]
        "lambda": d(r["lam"]).contiguous(),
        "masks_per_iteration": d(r["masks_per_iteration"]),
        "loss": r["loss"].detach()[:, 0],
        "nll": r["nll"].detach()[:, 0],
        "kl": r["kl"].detach()[:, 0],
    }


def train_loss(model: Iodine, images, K: int, T: int, eps, return_iterations: bool = False,
               sg_record=None, sg_fixed=None):
    """Training loss: mean over the batch of Σ_t (t/T) L_t. images [B, H, W, 3],
    eps [T+1, B, K, M] (None: ε = 0). With return_iterations, also the
    batch-mean L_t [T+1]."""
    p0 = model.init.value
    images = torch.as_tensor(images).to(dtype=p0.dtype, device=p0.device)
    if eps is not None:
        eps = torch.as_tensor(eps).to(dtype=p0.dtype, device=p0.device)
    r = run(model, images, K, T, eps, train=True, sg_record=sg_record, sg_fixed=sg_fixed)
    w = torch.arange(T + 1, dtype=p0.dtype, device=p0.device) / T
    per_iter = r["loss"].mean(dim=1)                     # [T+1]
    loss = (w * per_iter).sum()
    if return_iterations:
        return loss, per_iter
    return loss


# --------------------------------------------------------------------------
# safetensors (struct + json; Debian 12 has no python3-safetensors)
# --------------------------------------------------------------------------

def save_safetensors(path: str, tensors: Dict[str, object], metadata: Optional[Dict[str, str]] = None):
    """Writes F32 tensors in the given order; header padded with spaces so the
    data area starts 8-byte aligned."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        if torch.is_tensor(t):
            t = t.detach().cpu().numpy()
        a = np.ascontiguousarray(np.asarray(t, dtype="<f4"))
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    hb = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hb += b" " * ((8 - (8 + len(hb)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for b in blobs:
            f.write(b)


def load_safetensors(path: str) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, info in header.items():
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}, expected F32")
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[base + a:base + b], dtype="<f4").copy()
        out[name] = arr.reshape(info["shape"])
    return out, metadata


def save_weights(model: Iodine, path: str, extra_metadata: Optional[Dict[str, str]] = None,
                 extra_tensors: Optional[Dict[str, object]] = None):
    md = config_metadata(model.cfg)
    if extra_metadata:
        md.update({k: str(v) for k, v in extra_metadata.items()})
    tensors = {k: v.float() for k, v in model.state_dict().items()}
    if extra_tensors:
        tensors.update(extra_tensors)
    save_safetensors(path, tensors, md)


def load_weights(path: str, dtype=torch.float32) -> Iodine:
    tensors, md = load_safetensors(path)
    cfg = config_from_metadata(md)
    model = Iodine(cfg)
    sd = model.state_dict()
    missing = [k for k in sd if k not in tensors]
    if missing:
        raise ValueError(f"{path}: missing tensors {missing}")
    new = {}
    for k, v in sd.items():
        if tuple(tensors[k].shape) != tuple(v.shape):
            raise ValueError(f"{path}: tensor {k} has shape {tensors[k].shape}, expected {tuple(v.shape)}")
        new[k] = torch.from_numpy(tensors[k])
    model.load_state_dict(new)
    model.metadata = md
    return model.to(dtype)
