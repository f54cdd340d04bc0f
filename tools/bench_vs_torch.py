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

The photo pipeline (--photo): align + attributes + invert of one photo, famsim
vs the official demo's Python (dlib-bin's HOG detector and 68-point shape
predictor, FFHQ `image_align` from StyleGene's preprocess/face_alignment.py,
torchvision's ResNet-34 for FairFace, the e4e reference module), on the same
photo, weights and machine:

    cargo build --release --bin famsim --example photo_stages
    python3 tools/bench_vs_torch.py --photo --face-alignment path/to/face_alignment.py

See `photo_main` for exactly what each row times. By default the weights are
the committed fixtures (tests/fixtures: FairFace at its real ResNet-34 size,
a tiny e4e); `--e4e`, `--stylegan2`, `--stylegene` and `--fairface` take real
or real-size ones (tools/random_checkpoints.py --e4e writes an IR-SE-50 e4e).

Throughput on a GPU (no checkpoint files needed: random config-f weights):

    cargo bench --features cuda --bench generator --no-run   # prints the binary
    python3 tools/bench_vs_torch.py --throughput --device cuda --size 1024 \
        --batch 8 --famsim-bench target/release/deps/generator-HASH

times PyTorch eager (float32, the reference port's grouped modulated convs)
and famsim's `synthesis_cuda` criterion bench on the same machine, and prints
images per second for each and their ratio.
"""

import argparse
import importlib.util
import json
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
    g = sg.Generator(sg.SIZE, sg.STYLE_DIM, sg.N_MLP, sg.CHANNELS)
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
    g = sg.Generator(sg.SIZE, sg.STYLE_DIM, sg.N_MLP, sg.CHANNELS).to(device).eval()
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


# ----------------------------------------------------------------------------
# The photo pipeline (--photo)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
MODELS = Path.home() / ".cache" / "famsim-models"
LANDMARKS = (MODELS / "face_recognition_models-0.3.0" / "face_recognition_models" / "models"
             / "shape_predictor_68_face_landmarks.dat")


def seeta_model():
    """SeetaFace's model, as the rustface crate ships it (famsim's detector)."""
    src = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo")) / "registry" / "src"
    for index in src.iterdir():
        p = index / "rustface-0.1.7" / "model" / "seeta_fd_frontal_v1.0.bin"
        if p.is_file():
            return p
    sys.exit("seeta_fd_frontal_v1.0.bin not found: build famsim once (cargo fetch)")


def default_photos():
    """Real photos that ship inside packages: scikit-image's astronaut and
    face_recognition's test photos (unpacked by tools/eval_detectors.py)."""
    import skimage

    photos = [Path(skimage.__file__).parent / "data" / "astronaut.png"]
    fr = MODELS / "face_recognition-1.3.0" / "tests" / "test_images"
    photos += [fr / n for n in ("obama.jpg", "biden.jpg") if (fr / n).is_file()]
    return photos


class Reference:
    """The official demo's pipeline in Python, one stage per method; each
    `load_*` reads its model files, as a one-photo run must."""

    def __init__(self, args):
        import dlib
        import PIL.Image
        from PIL import ImageOps

        try:
            import torchvision
        except ImportError:
            # torchvision may be installed without its dependencies (it would
            # pull a second torch) into a folder of its own: /tmp/tv here.
            sys.path.insert(0, "/tmp/tv")
            import torchvision
        from torchvision import transforms

        if not hasattr(PIL.Image, "ANTIALIAS"):
            PIL.Image.ANTIALIAS = PIL.Image.LANCZOS
        spec = importlib.util.spec_from_file_location("face_alignment", args.face_alignment)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        self.image_align = module.image_align
        self.dlib, self.PIL, self.ImageOps = dlib, PIL, ImageOps
        self.torchvision, self.transforms = torchvision, transforms
        self.args = args

    def load_align(self):
        self.detector = self.dlib.get_frontal_face_detector()
        self.predictor = self.dlib.shape_predictor(str(self.args.landmarks))

    def align(self, photo):
        """demo align_face: EXIF-upright RGB, dlib HOG (upsampled once, as
        `detector(img, 1)`), the largest face, 68 points, image_align at 256 via 1024."""
        img = np.asarray(self.ImageOps.exif_transpose(self.PIL.Image.open(photo)).convert("RGB"))
        dets = self.detector(img, 1)
        largest = max(dets, key=lambda d: d.width() * d.height())
        shape = self.predictor(img, largest)
        lm = np.array([[p.x, p.y] for p in shape.parts()])
        return np.asarray(self.image_align(img, lm, output_size=256, transform_size=1024))

    def load_attributes(self):
        model = self.torchvision.models.resnet34(num_classes=18)
        model.load_state_dict(torch.load(self.args.fairface, map_location="cpu"))
        self.fairface = model.eval()

    def attributes(self, crop):
        """The official predict_race on an aligned crop: Resize(256), ToTensor,
        Normalize(0.5), interpolate to 224, back to [0, 1], ImageNet Normalize;
        softmax per head (race 7, gender 2, age 9)."""
        t = self.transforms
        load = t.Compose([t.Resize((256, 256)), t.ToTensor(), t.Normalize((0.5,) * 3, (0.5,) * 3)])
        x = load(self.PIL.Image.fromarray(crop)).unsqueeze(0)
        x = torch.nn.functional.interpolate(x, (224, 224))
        x = t.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])(x * 0.5 + 0.5)
        with torch.no_grad():
            logits = self.fairface(x)[0]
        return torch.cat([logits[:7].softmax(0), logits[7:9].softmax(0), logits[9:18].softmax(0)])

    def load_invert(self):
        self.e4e, self.latent_avg = e4e_from(self.args.e4e)

    def invert(self, crop):
        """e4e's inference: Resize to its input, ToTensor, Normalize(0.5), encoder + latent_avg."""
        side = e4e.INPUT_SIZE
        img = self.PIL.Image.fromarray(crop)
        if img.size != (side, side):
            img = img.resize((side, side), self.PIL.Image.BILINEAR)
        x = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)[None].float()
        x = (x / 255.0 - 0.5) / 0.5
        with torch.no_grad():
            return self.e4e(x) + self.latent_avg


def e4e_from(path):
    """The e4e reference module sized from a checkpoint's shapes: stem width,
    stages (a stage starts where a unit changes width, and at the first
    unit), input size (c3 is input/16, and style block 0 halves it to 1)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    prefix = "encoder."
    sd = {k[len(prefix):]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    e4e.STEM = sd["input_layer.0.weight"].shape[0]
    units = sum(1 for k in sd if k.startswith("body.") and k.endswith(".res_layer.1.weight"))
    stages = []
    for i in range(units):
        depth, in_c = sd[f"body.{i}.res_layer.1.weight"].shape[:2]
        if i == 0 or in_c != depth:
            stages.append([in_c, depth, 0])
        stages[-1][2] += 1
    e4e.STAGES = [tuple(s) for s in stages]
    pools = sum(1 for k in sd if k.startswith("styles.0.convs.") and k.endswith(".weight"))
    e4e.INPUT_SIZE = 16 * 2 ** pools
    count = sum(1 for k in sd if k.startswith("styles.") and k.endswith(".linear.weight"))
    width = sd["styles.0.linear.weight"].shape[0]
    enc = e4e.Encoder4Editing(count, width)
    enc.load_state_dict(sd)
    return enc.eval(), ckpt["latent_avg"]


def reference_once(args):
    """One photo through the whole reference pipeline in this fresh process
    (--reference-once): what a user of the Python demo waits for."""
    ref = Reference(args)
    ref.load_align()
    crop = ref.align(args.reference_once)
    ref.load_attributes()
    scores = ref.attributes(crop)
    ref.load_invert()
    latent = ref.invert(crop)
    np.save(args.out_npy, latent.numpy())
    print(json.dumps([float(v) for v in scores]))


def timed(repeat, fn, *a):
    """(first call, best of `repeat` more, the first's result)."""
    t = time.perf_counter()
    first = fn(*a)
    cold = time.perf_counter() - t
    return cold, best_of(repeat, lambda: fn(*a))[0], first


def photo_main(args):
    """Rows per photo:

    align       load the detector and the 68-point model, read the photo,
                detect, landmarks, FFHQ crop at 256 via 1024 (dlib's HOG
                detector vs SeetaFace, famsim's: each pipeline's own detector,
                see docs/detectors.md)
    attributes  load FairFace, predict on the crop (famsim's crop for both)
    invert      load e4e, encode the crop into W+
    total       the three stages' sum

    `cold` is the first call, which loads the stage's model files: what a
    one-photo run pays (PyTorch's and dlib's imports are not in it); `warm`
    is the best of --repeat further calls: the cost per photo after the
    first. famsim's figures come from the photo_stages example, which makes
    the same calls `famsim invert` makes. A last row times whole processes
    for one photo: `famsim invert PHOTO --weights W --out x.npy` vs this
    script running the Python pipeline once in a fresh interpreter (start-up
    and imports included), best of --repeat."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    stages = args.stages or str(target / "release" / "examples" / "photo_stages")
    famsim = args.famsim if args.famsim != "target/release/famsim" else str(target / "release" / "famsim")
    ref = Reference(args)
    photos = [Path(p) for p in args.photos] or default_photos()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
          f"torchvision {ref.torchvision.__version__}, dlib {ref.dlib.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        weights = tmp / "weights"
        imported = subprocess.run(
            [famsim, "weights", "import", "--stylegan2", str(args.stylegan2), "--stylegene",
             str(args.stylegene), "--e4e", str(args.e4e), "--fairface", str(args.fairface),
             "--landmarks", str(args.landmarks), "--detector", str(seeta_model()),
             "--out", str(weights)],
            capture_output=True, text=True,
        )
        if imported.returncode != 0:
            sys.exit(f"famsim weights import failed: {imported.stderr}")
        print(f"weights: e4e {args.e4e}, FairFace {args.fairface}, landmarks {args.landmarks}; "
              f"cold = first call with its model loading, warm = best of {args.repeat} more")
        head = (f"{'photo':<14}{'stage':<11}{'py cold s':>10}{'famsim':>9}{'ratio':>7}"
                f"{'py warm s':>11}{'famsim':>9}{'ratio':>7}  check")
        print(head)
        for photo in photos:
            crop_png = tmp / "crop.png"
            out = subprocess.run([stages, str(weights), str(photo), str(args.repeat), str(crop_png)],
                                 check=True, capture_output=True, text=True).stdout
            fam = json.loads(out)
            crop = np.asarray(ref.PIL.Image.open(crop_png).convert("RGB"))
            py = {}
            t = time.perf_counter()
            ref.load_align()
            load = time.perf_counter() - t
            c, w, _ = timed(args.repeat, ref.align, photo)
            py["align"] = (load + c, w)
            t = time.perf_counter()
            ref.load_attributes()
            load = time.perf_counter() - t
            c, w, scores = timed(args.repeat, ref.attributes, crop)
            py["attributes"] = (load + c, w)
            t = time.perf_counter()
            ref.load_invert()
            load = time.perf_counter() - t
            c, w, latent = timed(args.repeat, ref.invert, crop)
            py["invert"] = (load + c, w)
            famsim_scores = fam["scores"]
            checks = {
                "align": "",
                "attributes": f"max |p diff| {np.abs(np.array(famsim_scores) - scores.numpy()).max():.1e}",
                "invert": (f"max |W+ diff| {np.abs(np.array(fam['latent']) - latent.numpy().ravel()).max():.1e}"
                           if crop.shape[0] == e4e.INPUT_SIZE else
                           f"(crop resized to {e4e.INPUT_SIZE} px differently: not compared)"),
            }
            rows = [(s, py[s][0], fam[s]["cold"], py[s][1], fam[s]["warm"]) for s in ("align", "attributes", "invert")]
            rows.append(("total", *[sum(r[i] for r in rows) for i in range(1, 5)]))
            for stage, pc, fc, pw, fw in rows:
                print(f"{photo.name:<14}{stage:<11}{pc:>10.3f}{fc:>9.3f}{fc / pc:>7.2f}"
                      f"{pw:>11.3f}{fw:>9.3f}{fw / pw:>7.2f}  {checks.get(stage, '')}")

            def python_process():
                subprocess.run([sys.executable, __file__, "--reference-once", str(photo),
                                "--out-npy", str(tmp / "py.npy"), "--face-alignment", args.face_alignment,
                                "--e4e", str(args.e4e), "--fairface", str(args.fairface),
                                "--landmarks", str(args.landmarks)],
                               check=True, capture_output=True)

            def famsim_process():
                subprocess.run([famsim, "invert", str(photo), "--weights", str(weights),
                                "--out", str(tmp / "famsim.npy")], check=True, capture_output=True)

            tp = best_of(args.repeat, python_process)[0]
            tf = best_of(args.repeat, famsim_process)[0]
            print(f"{photo.name:<14}{'process':<11}{tp:>10.3f}{tf:>9.3f}{tf / tp:>7.2f}"
                  f"{'':>27}  one-photo run, start-up and imports included")


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
    ap.add_argument("--photo", action="store_true", help="the photo pipeline: align + attributes + invert")
    ap.add_argument("--face-alignment", help="StyleGene's preprocess/face_alignment.py (for --photo)")
    ap.add_argument("--fairface", default=str(FIXTURES / "fairface" / "fairface_views.pt"))
    ap.add_argument("--landmarks", default=str(LANDMARKS), help="shape_predictor_68_face_landmarks.dat")
    ap.add_argument("--stages", help="the photo_stages example binary (default: target/release/examples)")
    ap.add_argument("--photos", nargs="*", default=[], help="photos for --photo (default: packaged ones)")
    ap.add_argument("--reference-once", help=argparse.SUPPRESS)
    ap.add_argument("--out-npy", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.throughput:
        return throughput(args)
    if args.photo or args.reference_once:
        if not args.face_alignment:
            ap.error("--photo needs --face-alignment path/to/face_alignment.py")
        args.e4e = args.e4e or str(FIXTURES / "e4e" / "e4e.pt")
        args.stylegan2 = args.stylegan2 or str(FIXTURES / "stylegan2" / "tiny.pt")
        args.stylegene = args.stylegene or str(FIXTURES / "neural" / "mappings.ckpt")
        return reference_once(args) if args.reference_once else photo_main(args)
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
