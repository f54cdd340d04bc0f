#!/usr/bin/env python3
"""Face detectors compared on real photos that ship inside packages.

famsim's detector (SeetaFace's frontal cascade through the `rustface` crate,
run by the famsim example `detect_faces`) against the two dlib detectors the
official StyleGene code could use, on the same machine:

  seeta     famsim: examples/detect_faces.rs (release build)
  dlib-hog  dlib.get_frontal_face_detector(), detector.run(img, 1, 0): what
            the official demo calls (upsample once)
  dlib-cnn  dlib.cnn_face_detection_model_v1(mmod_human_face_detector.dat),
            no upsampling (face_recognition upsamples once by default; on CPU
            that quadruples a run that already takes tens of seconds per photo,
            and every face in these photos is over 80 px, the CNN's window)

Photos: scikit-image's data folder (astronaut, camera, coffee, chelsea: the
last two hold no human face), tests/fixtures/photo/astronaut_crop*.png/jpg,
two faces composed side by side from the astronaut crop (as the align test
does), and the test photos inside face_recognition's sdist on PyPI
(`pip download --no-deps --no-binary :all: face_recognition==1.3.0`; the
script downloads it into ~/.cache/famsim-models when missing). Every photo is
read upright (EXIF orientation applied) as 8-bit RGB, as famsim reads it.

Prints a Markdown table (per photo and detector: faces, boxes, the IoU of
the largest box with the other detectors' best-matching box, milliseconds
per photo as the median of three runs; one run for the CNN) and writes

  docs/detectors.md                      the table and the machine it ran on
  tests/fixtures/photo/detections.json   every detector's boxes per photo, and
                                         dlib's 68 points on the largest HOG box
                                         (the official landmarks), for
                                         tests/detect_parity.rs

Usage (by hand; needs dlib-bin, scikit-image, Pillow, numpy):
  python3 tools/eval_detectors.py [FAMSIM_DETECT_FACES_BINARY]
The binary defaults to $CARGO_TARGET_DIR (or target)/release/examples/detect_faces;
build it with `cargo build --release --example detect_faces`.
"""

import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time

import dlib
import numpy as np
import skimage
from PIL import Image, ImageOps

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "photo")
MODELS = os.path.expanduser("~/.cache/famsim-models")
FR = "face_recognition-1.3.0"


def seeta_model():
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    src = os.path.join(home, "registry", "src")
    for index in os.listdir(src):
        p = os.path.join(src, index, "rustface-0.1.7", "model", "seeta_fd_frontal_v1.0.bin")
        if os.path.isfile(p):
            return p
    sys.exit("seeta_fd_frontal_v1.0.bin not found: build famsim once (cargo fetch)")


def face_recognition_photos():
    """The test photos of face_recognition's sdist (PyPI), unpacked once."""
    images = os.path.join(MODELS, FR, "tests", "test_images")
    if not os.path.isdir(images):
        os.makedirs(MODELS, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--no-binary", ":all:", "face_recognition==1.3.0", "-d", MODELS],
                       check=True)
        with tarfile.open(os.path.join(MODELS, FR + ".tar.gz")) as tar:
            members = [m for m in tar.getmembers() if "/tests/test_images/" in m.name]
            tar.extractall(MODELS, members=members)
    return [os.path.join(images, n) for n in sorted(os.listdir(images))]


def two_faces(path):
    """The astronaut crop, and beside it the same photo mirrored at 3/4 size
    (nearest pixel): tests/align_cli.rs's two_faces, pixel for pixel."""
    a = np.asarray(Image.open(os.path.join(FIXTURES, "astronaut_crop.png")).convert("RGB"))
    h, w, _ = a.shape
    w2, h2 = w * 3 // 4, h * 3 // 4
    out = np.full((h, w + w2, 3), 128, np.uint8)
    out[:, :w] = a
    for y in range(h2):
        for x in range(w2):
            mx = w2 - 1 - x
            out[y, w + x] = a[y * 4 // 3, mx * 4 // 3]
    Image.fromarray(out).save(path)


def photos(tmp):
    data = os.path.join(os.path.dirname(skimage.__file__), "data")
    found = [os.path.join(data, n) for n in ("astronaut.png", "camera.png", "coffee.png", "chelsea.png")]
    found += [os.path.join(FIXTURES, n) for n in ("astronaut_crop.png", "astronaut_crop_exif6.jpg")]
    two = os.path.join(tmp, "two_faces.png")
    two_faces(two)
    found.append(two)
    return found + face_recognition_photos()


def label(path):
    """A photo's name as the fixture records it: relative to its package."""
    data = os.path.join(os.path.dirname(skimage.__file__), "data")
    if path.startswith(data):
        return "package:scikit-image/data/" + os.path.basename(path)
    if path.startswith(os.path.join(MODELS, FR)):
        return "package:" + FR + "/tests/test_images/" + os.path.basename(path)
    if path.startswith(FIXTURES):
        return "tests/fixtures/photo/" + os.path.basename(path)
    return "composed:" + os.path.basename(path)


def upright_rgb(path):
    return np.ascontiguousarray(np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB")))


def timed(run, repeats):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = run()
        times.append((time.perf_counter() - start) * 1e3)
    return out, sorted(times)[len(times) // 2]


def iou(a, b):
    """Boxes as [left, top, right, bottom], inclusive (dlib's convention)."""
    iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
    ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)
    return inter / (area(a) + area(b) - inter)


def rect(r):
    return [r.left(), r.top(), r.right(), r.bottom()]


def largest_first(faces):
    return sorted(faces, key=lambda f: -(f["box"][2] - f["box"][0] + 1) * (f["box"][3] - f["box"][1] + 1))


def main():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(target, "release", "examples", "detect_faces")
    hog = dlib.get_frontal_face_detector()
    models = os.path.join(MODELS, "face_recognition_models-0.3.0", "face_recognition_models", "models")
    cnn = dlib.cnn_face_detection_model_v1(os.path.join(models, "mmod_human_face_detector.dat"))
    predictor = dlib.shape_predictor(os.path.join(models, "shape_predictor_68_face_landmarks.dat"))
    with tempfile.TemporaryDirectory() as tmp:
        paths = photos(tmp)
        famsim = subprocess.run([binary, seeta_model()] + paths, check=True,
                                capture_output=True, text=True).stdout
        seeta = [json.loads(line) for line in famsim.splitlines()]
        records = []
        for path, ours in zip(paths, seeta):
            img = upright_rgb(path)
            h, w, _ = img.shape
            assert (ours["width"], ours["height"]) == (w, h), (path, ours)
            (dets, scores, _), hog_ms = timed(lambda: hog.run(img, 1, 0), 3)
            found, cnn_ms = timed(lambda: cnn(img, 0), 1)
            hog_faces = largest_first([{"box": rect(d), "score": s} for d, s in zip(dets, scores)])
            if hog_faces:
                # The official points: the 68-point model on dlib's HOG box.
                shape = predictor(img, dlib.rectangle(*hog_faces[0]["box"]))
                hog_faces[0]["landmarks68"] = [[q.x, q.y] for q in shape.parts()]
            records.append({
                "photo": label(path),
                "width": w,
                "height": h,
                "detectors": {
                    "seeta": {"ms": ours["ms"], "faces": [
                        {"box": [f["box"][k] for k in ("left", "top", "right", "bottom")],
                         "score": f["score"]} for f in ours["faces"]]},
                    "dlib-hog": {"ms": hog_ms, "faces": hog_faces},
                    "dlib-cnn": {"ms": cnn_ms, "faces": largest_first(
                        [{"box": rect(d.rect), "score": d.confidence} for d in found])},
                },
            })
            print(label(path), {k: len(v["faces"]) for k, v in records[-1]["detectors"].items()},
                  file=sys.stderr)

    names = ["seeta", "dlib-hog", "dlib-cnn"]
    lines = [
        "| photo | size | detector | faces | largest box (l, t, r, b) | IoU with the others' best match | ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in records:
        for name in names:
            d = r["detectors"][name]
            boxes = "; ".join("({}, {}, {}, {})".format(*f["box"]) for f in d["faces"][:3])
            if len(d["faces"]) > 3:
                boxes += "; …"
            agree = []
            if d["faces"]:
                for other in names:
                    if other != name:
                        best = max((iou(d["faces"][0]["box"], f["box"]) for f in r["detectors"][other]["faces"]),
                                   default=0.0)
                        agree.append(f"{other} {best:.2f}")
            lines.append("| {} | {}×{} | {} | {} | {} | {} | {:.1f} |".format(
                r["photo"].split("/")[-1], r["width"], r["height"], name, len(d["faces"]),
                boxes or "—", ", ".join(agree) or "—", d["ms"]))
    total = {n: sum(r["detectors"][n]["ms"] for r in records) for n in names}
    lines.append("")
    lines.append("Total detection time over the {} photos: {}.".format(
        len(records), ", ".join(f"{n} {total[n] / 1e3:.2f} s" for n in names)))
    table = "\n".join(lines)
    print(table)

    machine = "{}, {} CPU(s), Python {}, dlib {}".format(
        platform.processor() or platform.machine(), os.cpu_count(), platform.python_version(), dlib.__version__)
    with open(os.path.join(ROOT, "docs", "detectors.md"), "w") as f:
        f.write("# Face detectors on real photos\n\n")
        f.write("Generated by `python3 tools/eval_detectors.py` (famsim's side: "
                "`cargo build --release --example detect_faces`) on {}. ".format(machine))
        f.write("`seeta` is famsim's detector (SeetaFace through rustface); `dlib-hog` is what the "
                "official StyleGene code calls (upsample once); `dlib-cnn` is dlib's MMOD CNN "
                "(`mmod_human_face_detector.dat`, no upsampling). Boxes are inclusive pixel "
                "coordinates, largest first; IoU compares the detector's largest box with the "
                "best-matching box of each other detector (0 when that one found nothing). "
                "Times are per photo, detection only (decoding excluded), the median of three "
                "runs (one for the CNN). The README says which detector famsim uses and why.\n\n")
        f.write(table + "\n")
    with open(os.path.join(FIXTURES, "detections.json"), "w") as f:
        json.dump({"generator": "tools/eval_detectors.py", "dlib": dlib.__version__,
                   "photos": [{k: v for k, v in r.items()} for r in records]}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
