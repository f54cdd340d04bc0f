#!/usr/bin/env python3
"""famsim vs PyTorch on the same checkpoint, input and machine.

Times three operations end to end — load the weights, run one forward pass
on one W+ latent, write the result — once through PyTorch (the fixture
scripts' reference modules, sized from the checkpoint) and once through the
famsim binary (`famsim render`, `famsim genes encode`, `famsim genes decode`
on the imported weights directory), and prints the time ratio of each.
Each is run --repeat times; the best time counts. It also checks that both
computed the same numbers. With --e4e (the e4e checkpoint imported into the
weights directory) a fourth row times `famsim invert` on a 256 px photo.

    cargo build --release
    famsim weights import --stylegan2 G.pt --stylegene M.ckpt --out weights/x
    python3 tools/bench_vs_torch.py --weights weights/x --stylegan2 G.pt --stylegene M.ckpt

PyTorch runs on the CPU with its default thread count, like famsim's default
`--device cpu`. Needs torch and numpy (developer tools, never a famsim
runtime dependency).

Throughput on a GPU (no checkpoint files needed: random config-f weights):

    cargo bench --features cuda --bench generator --no-run   # prints the binary
    python3 tools/bench_vs_torch.py --throughput --device cuda --size 1024 \
        --batch 8 --famsim-bench target/release/deps/generator-HASH

times PyTorch eager (float32, the reference port's grouped modulated convs)
and famsim's `synthesis_cuda` criterion bench on the same machine, and prints
images per second for each and their ratio.
"""

import argparse
import math
import os
import platform
import re
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
import e4e_fixture as e4e  # noqa: E402


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


CONFIG_F = {4: 512, 8: 512, 16: 512, 32: 512, 64: 512, 128: 256, 256: 128, 512: 64, 1024: 32}


def torch_throughput(size, batch, device, iters=10):
    """Images per second of PyTorch eager synthesis, random config-f weights."""
    sg.SIZE, sg.STYLE_DIM, sg.N_MLP = size, 512, 8
    sg.CHANNELS = {r: c for r, c in CONFIG_F.items() if r <= size}
    torch.manual_seed(0)
    g = sg.Generator().to(device).eval()
    latent = torch.randn(batch, g.n_latent, 512, device=device)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    with torch.no_grad():
        for _ in range(3):
            g.synthesis(latent)
        sync()
        t = time.perf_counter()
        for _ in range(iters):
            g.synthesis(latent)
        sync()
    return batch * iters / (time.perf_counter() - t)


def famsim_throughput(bench_binary, batch):
    """Images per second from famsim's synthesis_cuda criterion bench (median time)."""
    out = subprocess.run(
        [bench_binary, "--bench", "synthesis_cuda", "--noplot"],
        check=True, capture_output=True, text=True,
    ).stdout
    print(out)
    m = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", out)
    scale = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6}[m.group(2)]
    return batch / (float(m.group(1)) * scale)


def throughput(args):
    t = torch_throughput(args.size, args.batch, args.device)
    print(f"pytorch eager {args.device}: {args.size} px batch {args.batch}: {t:.1f} images/s "
          f"(torch {torch.__version__}, {torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor()})")
    if args.famsim_bench:
        f = famsim_throughput(args.famsim_bench, args.batch)
        print(f"famsim: {f:.1f} images/s; famsim/pytorch throughput {f / t:.2f}")


def invert_row(args, tmp, n, width):
    """famsim invert vs e4e in PyTorch on one random 256 px photo."""
    e4e.INPUT_SIZE, e4e.STEM = 256, 64
    e4e.STAGES = [(64, 64, 3), (64, 128, 4), (128, 256, 14), (256, 512, 3)]
    rgb = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    e4e.write_png(tmp / "face.png", rgb)
    photo = (torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255.0 - 0.5) / 0.5

    def torch_invert():
        ckpt = torch.load(args.e4e, weights_only=False)
        enc = e4e.Encoder4Editing(n, width)
        prefix = "encoder."
        enc.load_state_dict({k[len(prefix):]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)})
        enc.eval()
        with torch.no_grad():
            return enc(photo) + ckpt["latent_avg"]

    t_torch, latent = best_of(args.repeat, torch_invert)
    t_famsim = famsim_time(
        args.famsim,
        ["invert", "--weights", args.weights, "--photo", str(tmp / "face.png"), "--out", str(tmp / "p.npy")],
        args.repeat,
    )
    err = np.abs(np.load(tmp / "p.npy") - latent.numpy()).max()
    return ("invert", t_torch, t_famsim, err)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--throughput", action="store_true", help="GPU/CPU images per second instead")
    ap.add_argument("--device", default="cpu", help="torch device for --throughput")
    ap.add_argument("--size", type=int, default=1024, help="resolution for --throughput")
    ap.add_argument("--batch", type=int, default=8, help="batch for --throughput")
    ap.add_argument("--famsim-bench", help="famsim's generator bench binary (cuda feature)")
    ap.add_argument("--weights", help="directory written by famsim weights import")
    ap.add_argument("--stylegan2")
    ap.add_argument("--stylegene")
    ap.add_argument("--e4e", help="e4e checkpoint imported into --weights: also time `invert`")
    ap.add_argument("--famsim", default="target/release/famsim")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.throughput:
        return throughput(args)
    if not (args.weights and args.stylegan2 and args.stylegene):
        ap.error("--weights, --stylegan2 and --stylegene are needed (or --throughput)")

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

        if args.e4e:
            rows.append(invert_row(args, tmp, n, width))

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    print(f"model: {sg.SIZE} px, W+ [{n}, {width}]; best of {args.repeat}, load + one forward pass + write")
    print(f"{'op':<8}{'pytorch s':>12}{'famsim s':>12}{'famsim/pytorch':>16}{'max |diff|':>12}")
    for name, tt, tf, err in rows:
        ratio = tf / tt if tt > 0 else math.inf
        print(f"{name:<8}{tt:>12.3f}{tf:>12.3f}{ratio:>16.2f}{err:>12.2e}")


if __name__ == "__main__":
    main()
