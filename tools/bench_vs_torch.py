#!/usr/bin/env python3
"""famsim vs PyTorch on the same checkpoint, input and machine.

Times three operations end to end — load the weights, run one forward pass
on one W+ latent, write the result — once through PyTorch (the fixture
scripts' reference modules, sized from the checkpoint) and once through the
famsim binary (`famsim render`, `famsim genes encode`, `famsim genes decode`
on the imported weights directory), and prints the time ratio of each.
Each is run --repeat times; the best time counts. It also checks that both
computed the same numbers.

    cargo build --release
    famsim weights import --stylegan2 G.pt --stylegene M.ckpt --out weights/x
    python3 tools/bench_vs_torch.py --weights weights/x --stylegan2 G.pt --stylegene M.ckpt

PyTorch runs on the CPU with its default thread count, like famsim's default
`--device cpu`. Needs torch and numpy (developer tools, never a famsim
runtime dependency).
"""

import argparse
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
import stylegan2_fixture as sg  # noqa: E402
import stylegene_fixture as sgene  # noqa: E402


def generator_from(path):
    """The reference generator, sized from the checkpoint's shapes."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    sd = ckpt["g_ema"]
    sg.STYLE_DIM = sd["style.1.weight"].shape[0]
    sg.N_MLP = sum(1 for k in sd if k.startswith("style.") and k.endswith(".weight"))
    blocks = sum(1 for k in sd if k.startswith("to_rgbs.") and k.endswith(".conv.weight"))
    sg.SIZE = 4 << blocks
    sg.CHANNELS = {4: sd["input.input"].shape[1]}
    for b in range(blocks):
        sg.CHANNELS[8 << b] = sd[f"convs.{2 * b}.conv.weight"].shape[1]
    g = sg.Generator()
    g.load_state_dict(sd)
    return g.eval()


def mappings_from(path):
    """The reference mappings, sized from the checkpoint's shapes."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    sd = ckpt.get("state_dict", ckpt)
    sd = {k: v for k, v in sd.items() if k.startswith(("w2sub34.", "sub2w."))}
    tokens, n = sd["w2sub34.layer.1.weight"].shape
    enc = sum(1 for k in sd if k.startswith("w2sub34.layer.") and k.endswith(".0.norm.weight"))
    head = sum(1 for k in sd if k.startswith("w2sub34.mu_fc.") and k.endswith(".0.norm.weight"))
    dec = sum(1 for k in sd if k.startswith("sub2w.layer.") and k.endswith(".0.norm.weight"))
    width = sd["sub2w.layer.%d.weight" % (dec + 1)].shape[0]
    inner = sd["w2sub34.layer.3.0.fn.0.weight"].shape[0]
    m = sgene.Mappings(n, width, enc, head, dec, token_expansion=(inner + 0.5) / tokens)
    m.load_state_dict(sd)
    return m.eval(), n, width


def best_of(repeat, fn):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def famsim_time(binary, args, repeat):
    def run():
        subprocess.run([binary, *args], check=True, capture_output=True)

    return best_of(repeat, run)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", required=True, help="directory written by famsim weights import")
    ap.add_argument("--stylegan2", required=True)
    ap.add_argument("--stylegene", required=True)
    ap.add_argument("--famsim", default="target/release/famsim")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        g = generator_from(args.stylegan2)
        n, width = g.n_latent, g.style_dim
        latent = (0.5 * torch.randn(1, n, width)).float()
        np.save(tmp / "w.npy", latent.numpy())
        genes = torch.randn(1, n, sgene.REGIONS, width)
        np.save(tmp / "g.npy", genes.numpy())
        del g

        rows = []

        def torch_render():
            gen = generator_from(args.stylegan2)
            with torch.no_grad():
                return gen.synthesis(latent)

        t_torch, image = best_of(args.repeat, torch_render)
        t_famsim = famsim_time(
            args.famsim,
            ["render", "--weights", args.weights, "--latent", str(tmp / "w.npy"),
             "--out", str(tmp / "x.png"), "--raw", str(tmp / "x.npy")],
            args.repeat,
        )
        err = np.abs(np.load(tmp / "x.npy") - image.numpy()).max()
        rows.append(("render", t_torch, t_famsim, err))

        def torch_encode():
            m, _, _ = mappings_from(args.stylegene)
            with torch.no_grad():
                return m.w2sub34(latent)

        t_torch, (mean, _) = best_of(args.repeat, torch_encode)
        t_famsim = famsim_time(
            args.famsim,
            ["genes", "encode", "--weights", args.weights, "--latent", str(tmp / "w.npy"), "--out", str(tmp / "genes")],
            args.repeat,
        )
        err = np.abs(np.load(tmp / "genes" / "mean.npy") - mean.numpy()).max()
        rows.append(("encode", t_torch, t_famsim, err))

        def torch_decode():
            m, _, _ = mappings_from(args.stylegene)
            with torch.no_grad():
                return m.sub2w(genes)

        t_torch, decoded = best_of(args.repeat, torch_decode)
        t_famsim = famsim_time(
            args.famsim,
            ["genes", "decode", "--weights", args.weights, "--genome", str(tmp / "g.npy"), "--out", str(tmp / "d.npy")],
            args.repeat,
        )
        err = np.abs(np.load(tmp / "d.npy") - decoded.numpy()).max()
        rows.append(("decode", t_torch, t_famsim, err))

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    print(f"model: {sg.SIZE} px, W+ [{n}, {width}]; best of {args.repeat}, load + one forward pass + write")
    print(f"{'op':<8}{'pytorch s':>12}{'famsim s':>12}{'famsim/pytorch':>16}{'max |diff|':>12}")
    for name, tt, tf, err in rows:
        ratio = tf / tt if tt > 0 else math.inf
        print(f"{name:<8}{tt:>12.3f}{tf:>12.3f}{ratio:>16.2f}{err:>12.2e}")


if __name__ == "__main__":
    main()
