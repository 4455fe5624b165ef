#!/usr/bin/env python3
"""Rebuild ``pose_landmarker_{full,lite,heavy}.task`` (offline MediaPipe Tasks pose bundles) from registries.

Why: mediapipe 1.2.x ships no model files and normally downloads them at run time; we ship our own
bundle so a fresh clone works offline, and this script shows (and re-does) exactly how it was made:

1. ``pip download --no-deps mediapipe==0.10.21`` (cp311 manylinux wheel) and take the Apache-2.0
   BlazePose models ``mediapipe/modules/pose_detection/pose_detection.tflite`` and
   ``mediapipe/modules/pose_landmark/pose_landmark_full.tflite`` out of it;
2. in a temporary venv with mediapipe 0.10.21 installed (its ``metadata_writers`` do not import in
   1.2.x), write the metadata the Tasks API needs with ``MetadataWriter``: image-input normalisation
   (mean 127.5 / std 127.5 for the detector, mean 0 / std 255 for the landmark model) and one
   feature output per output tensor (2 and 5);
3. zip both (stored, uncompressed) as ``pose_detector.tflite`` + ``pose_landmarks_detector.tflite``.

``--variant lite`` / ``heavy``: no mediapipe wheel carries ``pose_landmark_{lite,heavy}.tflite`` (the
legacy Python API downloaded them at run time), so the landmark model is taken from the npm package
``@mediapipe/pose`` (Google, Apache-2.0; ``npm pack``, or give the tarball with ``--npm-tarball``), whose
``pose_landmark_full.tflite`` is byte-identical to the wheel's. The detector still comes from the wheel;
the metadata and zip steps are the same (the three landmark models share inputs and outputs).

With the default ``--zip-date`` the result is byte-identical to the shipped file (sha256 below).
Needs Python 3.11 (for the cp311 wheel; pick it with ``--python``), PyPI access and about 1 GB of
temporary disk for the venv. Usage: ``python -m focovil.training.build_pose_bundle --out /tmp/pose.task``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from focovil.realtime.files import atomic_write

MEDIAPIPE_VERSION = "0.10.21"
NPM_POSE = "@mediapipe/pose@0.5.1675469404"
NPM_POSE_SHA256 = "8bb349a7b3a3ba699df23be804ddd3b3eab810b50b15406894be257859388a84"
VARIANTS = ("full", "lite", "heavy")
EXPECTED_SHA256 = {   # with the default --zip-date
    "full": "81cafec6f30c88146904163fa366ad3911e6883d52f14b3acb3bf6a9b1cd267e",
    "lite": "20725f5a0289842a84aa4edad36a52bf40b5d7d792431575c06e542ff780d309",
    "heavy": "8738477fbe62250f62cfc0b41459fc0362f3265e0877ce370e96f803a0affa18",
}
# Entry timestamp of the shipped bundle; zip headers store it, so it is part of the sha256.
SHIPPED_ZIP_DATE = "2026-11-25T00:06:56"
# bundle name -> (path inside the wheel, normalisation mean, std, number of output tensors)
MODELS = {
    "pose_detector.tflite": ("mediapipe/modules/pose_detection/pose_detection.tflite", 127.5, 127.5, 2),
    "pose_landmarks_detector.tflite": ("mediapipe/modules/pose_landmark/pose_landmark_full.tflite", 0.0, 255.0, 5),
}

# Runs inside the temporary venv (mediapipe 0.10.21): argv = src, dst, name, mean, std, n_outputs.
_WRITER = """
import sys
from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer as mw
src, dst, name, mean, std, n_out = sys.argv[1:]
writer = mw.MetadataWriter.create(bytearray(open(src, "rb").read()))
writer.add_general_info("task2_" + name, "pose").add_image_input([float(mean)], [float(std)])
for i in range(int(n_out)):
    writer.add_feature_output(name=f"out{i}")
model, _ = writer.populate()
open(dst, "wb").write(model)
"""


def _run(cmd: list[str]) -> None:
    print("+", " ".join("<metadata writer script>" if "\n" in c else c for c in cmd), flush=True)
    subprocess.run(cmd, check=True)


def _download_wheel(python: str, dest: Path) -> Path:
    _run([python, "-m", "pip", "download", "--no-deps", f"mediapipe=={MEDIAPIPE_VERSION}",
          "--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11", "--abi", "cp311",
          "--platform", "manylinux_2_28_x86_64", "-d", str(dest)])
    wheels = sorted(dest.glob(f"mediapipe-{MEDIAPIPE_VERSION}-cp311-cp311-manylinux*.whl"))
    if not wheels:
        raise SystemExit(f"no mediapipe {MEDIAPIPE_VERSION} cp311 manylinux wheel in {dest}")
    return wheels[0]


def _npm_landmark_model(variant: str, work: Path, tarball: Path | None) -> bytes:
    if tarball is None:
        _run(["npm", "pack", NPM_POSE, "--pack-destination", str(work)])
        tarball = next(work.glob("mediapipe-pose-*.tgz"))
    if hashlib.sha256(tarball.read_bytes()).hexdigest() != NPM_POSE_SHA256:
        raise SystemExit(f"{tarball} is not {NPM_POSE} (sha256 mismatch)")
    with tarfile.open(tarball) as tf:
        return tf.extractfile(f"package/pose_landmark_{variant}.tflite").read()


def build(out: Path, python: str, work: Path, wheel: Path | None, zip_date: dt.datetime,
          variant: str = "full", npm_tarball: Path | None = None) -> str:
    wheel = wheel or _download_wheel(python, work)
    venv = work / "venv"
    _run([python, "-m", "venv", str(venv)])
    vpy = str(venv / "bin" / "python")
    _run([vpy, "-m", "pip", "install", "--quiet", str(wheel)])

    with zipfile.ZipFile(wheel) as whl:
        for name, (inner, *_rest) in MODELS.items():
            (work / f"legacy_{name}").write_bytes(whl.read(inner))
    if variant != "full":
        (work / "legacy_pose_landmarks_detector.tflite").write_bytes(
            _npm_landmark_model(variant, work, npm_tarball))
    for name, (_inner, mean, std, n_out) in MODELS.items():
        _run([vpy, "-c", _WRITER, str(work / f"legacy_{name}"), str(work / name), name,
              str(mean), str(std), str(n_out)])

    def write_bundle(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            for name in MODELS:
                info = zipfile.ZipInfo(name, date_time=zip_date.timetuple()[:6])
                info.compress_type = zipfile.ZIP_STORED
                info.external_attr = 0o100644 << 16  # regular file, rw-r--r--
                zf.writestr(info, (work / name).read_bytes())
    atomic_write(out, write_bundle)     # whole or absent, never a half-written bundle
    return hashlib.sha256(out.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variant", choices=VARIANTS, default="full",
                    help="landmark model: full (from the wheel, default), lite or heavy (from npm)")
    ap.add_argument("--npm-tarball", type=Path, default=None,
                    help=f"for lite/heavy: use this {NPM_POSE} tarball instead of `npm pack`")
    ap.add_argument("--out", type=Path, default=None,
                    help="bundle to write (default: ./pose_landmarker_<variant>.task)")
    ap.add_argument("--python", default=sys.executable,
                    help="Python 3.11 interpreter for pip and the temporary venv (default: this one)")
    ap.add_argument("--wheel", type=Path, default=None,
                    help=f"use this mediapipe-{MEDIAPIPE_VERSION}-cp311 wheel instead of downloading it")
    ap.add_argument("--work-dir", type=Path, default=None,
                    help="keep the venv and intermediate files here (default: a temporary folder)")
    ap.add_argument("--zip-date", default=SHIPPED_ZIP_DATE,
                    help=f"timestamp stored in the zip entries (default {SHIPPED_ZIP_DATE}, as shipped)")
    args = ap.parse_args(argv)

    ver = subprocess.run([args.python, "-c", "import sys; print(sys.version_info[:2] == (3, 11))"],
                         capture_output=True, text=True, check=True).stdout.strip()
    if ver != "True":
        ap.error(f"{args.python} is not Python 3.11; the cp311 wheel needs it (use --python)")
    zip_date = dt.datetime.fromisoformat(args.zip_date)
    args.out = args.out or Path(f"pose_landmarker_{args.variant}.task")

    if args.work_dir:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        sha = build(args.out, args.python, args.work_dir.resolve(), args.wheel, zip_date,
                    args.variant, args.npm_tarball)
    else:
        with tempfile.TemporaryDirectory(prefix="pose_bundle_") as tmp:
            sha = build(args.out, args.python, Path(tmp), args.wheel, zip_date, args.variant, args.npm_tarball)

    print(f"wrote {args.out}")
    print(f"sha256 {sha}")
    expected = EXPECTED_SHA256[args.variant]
    if sha == expected:
        print(f"matches the expected pose_landmarker_{args.variant}.task")
    else:
        print(f"differs from the expected bundle ({expected}); expected if --zip-date was changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
