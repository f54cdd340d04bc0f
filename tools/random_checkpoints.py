#!/usr/bin/env python3
"""Random-weight checkpoints in the official layout at real sizes, for speed
and memory measurements when the official files are not at hand.

    python3 tools/random_checkpoints.py --size 256 --out /tmp/ckpt256 [--e4e]
    famsim weights import --stylegan2 /tmp/ckpt256/stylegan2.pt \\
        --stylegene /tmp/ckpt256/stylegene.ckpt [--e4e /tmp/ckpt256/e4e.pt] --out /tmp/ckpt256/weights
    python3 tools/bench_vs_torch.py --weights /tmp/ckpt256/weights \\
        --stylegan2 /tmp/ckpt256/stylegan2.pt --stylegene /tmp/ckpt256/stylegene.ckpt \\
        [--e4e /tmp/ckpt256/e4e.pt]

Channel widths are config-f's (512 up to 64 px, then halving), the style width
512, 8 mapping layers, N = 2·log2(size) − 2 W+ layers, and the official mixer
depths (8 encoder blocks, 2-block heads, 6 decoder blocks). With --e4e, also
e4e_ffhq_encode.pt's encoder: IR-SE-50 (3, 4, 14, 3 units of 64, 128, 256, 512
channels) on 256 px photos, one style block per W+ layer. The faces are
noise, not faces: the point is the arithmetic. Developer tool only.
"""

import argparse
import math
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
import stylegan2_fixture as sg  # noqa: E402
import stylegene_fixture as sgene  # noqa: E402
import e4e_fixture as e4e  # noqa: E402

CONFIG_F = {4: 512, 8: 512, 16: 512, 32: 512, 64: 512, 128: 256, 256: 128, 512: 64, 1024: 32}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256, choices=[32, 64, 128, 256, 512, 1024])
    ap.add_argument("--out", required=True)
    ap.add_argument("--e4e", action="store_true", help="also write e4e.pt (IR-SE-50, 256 px photos)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)

    sg.SIZE, sg.STYLE_DIM, sg.N_MLP = args.size, 512, 8
    sg.CHANNELS = {r: c for r, c in CONFIG_F.items() if r <= args.size}
    g = sg.Generator(sg.SIZE, sg.STYLE_DIM, sg.N_MLP, sg.CHANNELS)
    sg.randomize(g)
    torch.save({"g_ema": g.state_dict(), "latent_avg": torch.randn(512)}, out / "stylegan2.pt")

    n = 2 * int(math.log2(args.size)) - 2
    m = sgene.Mappings(n, 512, 8, 2, 6)
    sgene.randomise_norms(m, torch.Generator().manual_seed(1))
    torch.save({"state_dict": m.state_dict(), "epoch": 0}, out / "stylegene.ckpt")
    print(f"wrote {out}/stylegan2.pt and {out}/stylegene.ckpt ({args.size} px, N = {n})")
    if args.e4e:
        e4e.INPUT_SIZE, e4e.STEM = 256, 64
        e4e.STAGES = [(64, 64, 3), (64, 128, 4), (128, 256, 14), (256, 512, 3)]
        enc = e4e.Encoder4Editing(n, 512)
        e4e.randomise(enc, torch.Generator().manual_seed(2), residual_gain=0.1)
        torch.save(e4e.checkpoint(enc, g.state_dict(), torch.randn(512)), out / "e4e.pt")
        print(f"wrote {out}/e4e.pt (IR-SE-50, 256 px photos, N = {n})")


if __name__ == "__main__":
    main()
