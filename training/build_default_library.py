"""Rebuilds ``weights/default_library.sqlite3``, the prototype library a new user starts with.

Prototypes (raw canonical windows + embeddings of ``weights/focovil_app.pt``), all recorded through
the app's own camera path (MediaPipe), as a user's own recordings are:
* "drink water" from the shipped demo clip (``realtime/assets/demo_drink_water.avi``), so the demo
  has its action in the library; "falling" and "pick up" from the real NTU RGB+D clips in
  ``../shared/data/videos/ntu_multiview`` (camera 1).
* ``--per-action N`` (default 0) adds N NW-UCLA view-1 clips of each of its ten actions (Kinect
  skeletons), for retraining experiments. They are not in the shipped library: measured on every
  real camera clip in ``../shared`` (the NTU clips, the two-camera capture), no NW-UCLA prototype
  ever reached the similarity threshold, not even among a window's top five, because a window's
  sensor still weighs more than its action (the model card's sensor probe), so they could never
  answer for a camera.

``python -m focovil.training.build_default_library [--shared ../shared] [--out weights/default_library.sqlite3] [--per-action N]``
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from focovil.realtime.paths import DEFAULT_ENCODER, DEMO_CLIP, SHIPPED_LIBRARY, shared_path, shared_root
from focovil.realtime.session import Session
from focovil.realtime.skeleton import from_kinect_v1
from focovil.realtime.window import resample_by_time
from focovil.training.data.nwucla import ACTIONS, LABEL_OF_FILE_CODE


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", default=None, help="the real-data folder (default: $FOCOVIL_SHARED, else ../shared beside the checkout)")
    ap.add_argument("--out", default=str(SHIPPED_LIBRARY))
    ap.add_argument("--per-action", type=int, default=0, help="NW-UCLA view-1 recordings per action (Kinect)")
    a = ap.parse_args(argv)
    shared = shared_path(a.shared) if a.shared else shared_root()
    out = Path(a.out)
    tmp = out.with_name(out.name + ".building")
    for p in (tmp, Path(str(tmp) + "-wal"), Path(str(tmp) + "-shm")):
        p.unlink(missing_ok=True)
    added = {}
    with Session(tmp, DEFAULT_ENCODER, device="cpu") as s:
        lib, enc = s.library, s.encoder
        for action, label in LABEL_OF_FILE_CODE.items():
            name = ACTIONS[label]
            files = sorted((shared / "data/nw-ucla/all_sqe").glob(f"a{action:02d}_s*_e00_v01.json"))[: a.per_action]
            for f in files:
                skel = from_kinect_v1(json.loads(f.read_text())["skeletons"])
                t = np.arange(len(skel)) / 15.0
                window = resample_by_time(t, skel, enc.window_frames, 0.0, float(t[-1]))
                lib.add_prototype(name, window, source=f"NW-UCLA {f.stem}", start_s=0.0, end_s=float(t[-1]), encoder=enc)
                added[name] = added.get(name, 0) + 1
        clips = [("drink water", DEMO_CLIP),
                 ("falling", shared / "data/videos/ntu_multiview/S001C001P006R001A043_rgb.avi"),
                 ("pick up", shared / "data/videos/ntu_multiview/S001C001P004R001A006_rgb.avi")]
        for name, clip in clips:
            seg = s.capture(clip)
            seg.source = clip.name   # not this machine's path
            added[name] = added.get(name, 0) + len(s.save(name, seg))
        lib.export_to(out)
    for p in (tmp, Path(str(tmp) + "-wal"), Path(str(tmp) + "-shm")):
        p.unlink(missing_ok=True)
    print(json.dumps({"out": str(out), "prototypes": added, "encoder": DEFAULT_ENCODER.name}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
