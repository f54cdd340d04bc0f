#!/usr/bin/env python3
"""famsim's face descriptor against dlib-bin's, on the same chips and box.

First run famsim's bench (it writes criterion's estimates under the target
directory), then this script, which times dlib's Python binding (PyPI
`dlib-bin`) on the same inputs and prints one line per case with the ratio
(dlib time / famsim time: above 1 means famsim is faster):

  cargo bench --bench descriptor
  python3 tools/descriptor_speed.py [MODELS_DIR] [TARGET_DIR]

MODELS_DIR defaults to face_recognition_models' folder that .ci/run unpacks
(~/.cache/famsim-models/...); TARGET_DIR to $CARGO_TARGET_DIR or ./target.
Both sides use every core they find (dlib-bin's BLAS, famsim's gemm/rayon).
"""

import json
import os
import sys
import time

import dlib
import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "descriptor")
DEFAULT_MODELS = os.path.expanduser(
    "~/.cache/famsim-models/face_recognition_models-0.3.0/face_recognition_models/models"
)


def best_of(f, repeats=10):
    """Median seconds per call, after one warm-up call."""
    f()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def famsim_seconds(target, case):
    path = os.path.join(target, "criterion", "descriptor", case, "new", "estimates.json")
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"] / 1e9


def main():
    models = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MODELS
    target = sys.argv[2] if len(sys.argv) > 2 else os.environ.get(
        "CARGO_TARGET_DIR", os.path.join(ROOT, "target")
    )
    facerec = dlib.face_recognition_model_v1(
        os.path.join(models, "dlib_face_recognition_resnet_model_v1.dat")
    )
    sp = dlib.shape_predictor(os.path.join(models, "shape_predictor_5_face_landmarks.dat"))
    names = ["obama", "obama2", "biden", "astronaut_crop", "lfw_0"]
    chips = [
        np.ascontiguousarray(np.asarray(Image.open(os.path.join(FIXTURES, f"chip_{n}.png")).convert("RGB")))
        for n in names
    ]
    batch16 = [chips[i % len(chips)] for i in range(16)]
    photo = np.ascontiguousarray(np.asarray(Image.open(os.path.join(FIXTURES, "obama.png")).convert("RGB")))
    box = dlib.rectangle(63, 63, 384, 384)

    cases = {
        "network_batch1": lambda: facerec.compute_face_descriptor(chips[0]),
        "network_batch16": lambda: facerec.compute_face_descriptor(batch16),
        "face_obama": lambda: facerec.compute_face_descriptor(photo, sp(photo, box)),
    }
    for case, run in cases.items():
        theirs = best_of(run)
        try:
            ours = famsim_seconds(target, case)
        except FileNotFoundError:
            print(f"{case}: dlib-bin {theirs * 1e3:.1f} ms; famsim not measured (run `cargo bench --bench descriptor` first)")
            continue
        print(f"{case}: famsim {ours * 1e3:.1f} ms, dlib-bin {theirs * 1e3:.1f} ms, ratio dlib/famsim {theirs / ours:.2f}")


if __name__ == "__main__":
    main()
