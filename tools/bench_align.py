#!/usr/bin/env python3
"""`famsim align` vs the official Python pipeline on the same photo and machine.

The official StyleGene demo aligns a photo with dlib's HOG frontal detector
(`detector(img, 1)`), dlib's 68-point shape predictor and FFHQ's
`image_align(img, lm, 256, 1024)` (preprocess/face_alignment.py; give its
path: it is imported, never copied into this repository). This script times,
per photo, best of --repeat:

  python   load both dlib models, read the photo, detect, predict, align,
           save the crop (in-process: interpreter start-up and imports are
           not counted)
  famsim   the `famsim align PHOTO --out DIR --landmarks --detector` process
           end to end (start-up, model loading, reading, detection, landmarks,
           alignment, writing the crop, preview and landmarks.json)

and prints both and their ratio. Photos: scikit-image's astronaut.png and
face_recognition's test photos (the sdist on PyPI, unpacked by
tools/eval_detectors.py into ~/.cache/famsim-models).

    cargo build --release
    python3 tools/bench_align.py path/to/face_alignment.py [--famsim target/release/famsim]

Needs dlib-bin, numpy, scipy, Pillow, scikit-image (developer tools).
"""

import argparse
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
import time

import dlib
import numpy as np
import PIL.Image
import skimage
from PIL import ImageOps

if not hasattr(PIL.Image, "ANTIALIAS"):
    PIL.Image.ANTIALIAS = PIL.Image.LANCZOS

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MODELS = os.path.expanduser("~/.cache/famsim-models")
LANDMARKS = os.path.join(MODELS, "face_recognition_models-0.3.0", "face_recognition_models",
                         "models", "shape_predictor_68_face_landmarks.dat")


def seeta_model():
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    src = os.path.join(home, "registry", "src")
    for index in os.listdir(src):
        p = os.path.join(src, index, "rustface-0.1.7", "model", "seeta_fd_frontal_v1.0.bin")
        if os.path.isfile(p):
            return p
    sys.exit("seeta_fd_frontal_v1.0.bin not found: build famsim once (cargo fetch)")


def official(path):
    spec = importlib.util.spec_from_file_location("face_alignment", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.image_align


def best_of(repeat, fn):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("face_alignment", help="the official preprocess/face_alignment.py")
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    ap.add_argument("--famsim", default=os.path.join(target, "release", "famsim"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    image_align = official(args.face_alignment)

    data = os.path.join(os.path.dirname(skimage.__file__), "data")
    photos = [os.path.join(data, "astronaut.png")]
    fr = os.path.join(MODELS, "face_recognition-1.3.0", "tests", "test_images")
    photos += [os.path.join(fr, n) for n in ("obama.jpg", "biden.jpg", "obama3.jpg") if os.path.isfile(os.path.join(fr, n))]

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"dlib {dlib.__version__}; best of {args.repeat}")
    print(f"{'photo':<16}{'size':>12}{'python s':>11}{'famsim s':>11}{'famsim/python':>15}")
    with tempfile.TemporaryDirectory() as tmp:
        for photo in photos:
            def python():
                detector = dlib.get_frontal_face_detector()
                predictor = dlib.shape_predictor(LANDMARKS)
                img = np.asarray(ImageOps.exif_transpose(PIL.Image.open(photo)).convert("RGB"))
                dets = detector(img, 1)
                largest = max(dets, key=lambda d: d.width() * d.height())
                shape = predictor(img, largest)
                lm = np.array([[p.x, p.y] for p in shape.parts()])
                out = image_align(img, lm, output_size=256, transform_size=1024)
                PIL.Image.fromarray(out).save(os.path.join(tmp, "python.png"))

            def famsim():
                subprocess.run([args.famsim, "align", photo, "--out", os.path.join(tmp, "famsim"),
                                "--landmarks", LANDMARKS, "--detector", seeta_model()],
                               check=True, capture_output=True)

            size = "{}x{}".format(*PIL.Image.open(photo).size)
            tp = best_of(args.repeat, python)
            tf = best_of(args.repeat, famsim)
            print(f"{os.path.basename(photo):<16}{size:>12}{tp:>11.3f}{tf:>11.3f}{tf / tp:>15.2f}")


if __name__ == "__main__":
    main()
