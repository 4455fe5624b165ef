"""The searches behind the app's settings, each one a command that writes what it saw and chose.

``python -m focovil.training.choose motion-weight --from-encoder weights/focovil_app.pt --json OUT.json``
    The share of cosine similarity the exported file gives the hand-made joint motion (``Exported``),
    chosen on TotalCapture's validation sequence by the app's task: each 4-s stretch recorded once
    from one camera, recognised live from the other seven (``camera_open_set.recognition``); the
    smallest weight within ``PLATEAU_POINTS`` of the best. Same-instant retrieval (``multicamera``)
    is reported beside it and not chosen on: it rewards features that change within 0.2 s, which
    is what makes live windows out of phase with a recording look unlike it. The other sequences
    are reported too: they chose nothing.

``python -m focovil.training.choose strictness --encoder A.pt [B.pt ...] --json OUT.json``
    The default strictness: the level with the best balance of named-right and rejected on the
    validation sequence (``training.camera_open_set``), averaged over the given files (the shipped
    recipe's seeds trained without that sequence: the shipped file itself trained on it).

``python -m focovil.training.choose pose-rate --encoder A.pt [B.pt ...] --json OUT.json``
    The default pose rate (frames per second given to pose): the validation sequence's 60 fps camera
    skeletons thinned to each rate, then the app's task as above (record once from one camera,
    recognise live from the others) and its AUROC of recorded against never-recorded stretches,
    averaged over the given files; the lowest rate within ``RATE_POINTS`` of every frame's top-1 and
    ``RATE_AUROC`` of its AUROC (fewer frames cost less: the cost is measured by
    ``benchmarks/pipeline_cost.py``). Thinning skeletons made at 60 fps leaves out what a lower rate
    does to MediaPipe's own tracking; the benchmark measures that through the real video path.

None reads the two-camera capture (measurement only) or NW-UCLA v03.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys

import numpy as np
from tqdm import tqdm

from focovil.realtime.files import atomic_text
from focovil.training import multicamera
from focovil.training.data import totalcapture as tc
from focovil.training.protocols import joint_motion, module_embed

WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
PLATEAU_POINTS = 0.5     # weights this close to the best top-1 are as good; the smallest keeps most of the encoder
# Pose rates tried (0: every frame, here 60 fps). None below 10: thinned 60 fps skeletons cannot show
# what a lower rate does to MediaPipe's VIDEO-mode tracking (bigger jumps between the frames it sees),
# and 10 is the lowest rate benchmarks/pipeline_cost.py measured through the real video path. (Tried
# down to 5 once, docs/experiments/pose_rate_choice_to5.json: 7.5 was within the plateau there too.)
RATES = (0.0, 30.0, 20.0, 15.0, 10.0)
RATE_POINTS, RATE_AUROC = 1.0, 0.01               # a rate this close to every frame's numbers is as good


def motion_weight(encoder_file: str, weights=WEIGHTS, root=None) -> dict:
    from focovil.training.camera_open_set import recognition
    from focovil.training.exported import Exported
    from focovil.training.retrain_inputs import load_base
    enc = load_base(encoder_file).model.encoder.eval()
    methods = {f"motion weight {w:g}": module_embed(Exported(enc, motion_weight=w).eval()) for w in weights}
    methods["joint motion alone (reference)"] = joint_motion
    views = {seq: multicamera.load_views(seq, root) for seq in tc.SEQUENCES}
    report = multicamera.score_sequences(methods, views=views)
    same_instant = {name: {seq: round(100 * r["top1"], 2) for seq, r in per_seq.items()}
                    for name, per_seq in report["results"].items()}
    recog = {name: {seq: round(100 * recognition(fn, views[seq])["top1"], 2) for seq in tc.SEQUENCES}
             for name, fn in tqdm(methods.items(), desc="record once, recognise live", unit="method")}
    val = {w: recog[f"motion weight {w:g}"][tc.VALIDATION] for w in weights}
    best = min(w for w in weights if val[w] >= max(val.values()) - PLATEAU_POINTS)
    return {"search": "motion weight", "encoder": encoder_file, "weights": list(weights),
            "chosen_on": f"TotalCapture {tc.VALIDATION} (validation sequence), 4-s stretches recorded from one camera "
                         f"and recognised live from the others: the smallest weight within {PLATEAU_POINTS} points "
                         f"of the best",
            "chosen": best, "record_once_top1_percent": recog, "same_instant_top1_percent": same_instant,
            "note": f"numbers on {tc.VALIDATION} chose the weight; the other sequences did not"}


def strictness(encoder_files: list[str], root=None) -> dict:
    """The level with the best balance, averaged over ``encoder_files`` (one per seed, none trained on
    the validation sequence, so its named / rejected numbers are held-out ones)."""
    from focovil.realtime.encoder import load_encoder
    from focovil.training.camera_open_set import camera_table, choose_default
    tables = {}
    for f in encoder_files:
        rt = load_encoder(f, device="cpu")
        tables[f] = camera_table(rt.embed, rt.window_frames, root)
    first = next(iter(tables.values()))
    mean = {**first, **{k: np.mean([t[k] for t in tables.values()], axis=0).round(4).tolist()
                        for k in ("thresholds", "named_right", "rejected")}}
    return {"search": "default strictness", "encoders": list(encoder_files), "tables": tables,
            "chosen_on": f"TotalCapture {tc.VALIDATION} (validation sequence), best mean of named-right and rejected"
                         + (f", averaged over {len(tables)} encoders" if len(tables) > 1 else ""),
            "chosen": choose_default(mean), "chosen_per_encoder": {f: choose_default(t)["strictness"]
                                                                   for f, t in tables.items()}}


def _thinned(stream: tc.CameraStream, rate: float) -> tc.CameraStream:
    """The frames pose would get at ``rate`` (every ``60 / rate``-th frame; 0: all of them)."""
    step = max(1, round(tc.FPS / rate)) if rate else 1
    return dataclasses.replace(stream, times=stream.times[::step], landmarks=stream.landmarks[::step],
                               skeletons=stream.skeletons[::step], present=stream.present[::step],
                               visibility=None if stream.visibility is None else stream.visibility[::step])


def pose_rate(encoder_files: list[str], rates=RATES, root=None) -> dict:
    from focovil.realtime.encoder import load_encoder
    from focovil.training.camera_open_set import recognition
    streams = tc.load_sequence(tc.VALIDATION, root)
    per_file = {}
    for f in tqdm(encoder_files, desc="encoders", unit="file"):
        rt = load_encoder(f, device="cpu")
        per_file[f] = {}
        for r in rates:
            thin = {c: _thinned(s, r) for c, s in streams.items()}
            views = multicamera.SequenceViews(tc.VALIDATION, {c: tc.camera_windows(s, rt.window_frames) for c, s in thin.items()},
                                              {}, {}, {c: tc.camera_windows(s, rt.window_frames, stride_s=tc.RECORD_STRIDE_S)
                                                       for c, s in thin.items()})
            per_file[f][f"{r:g}"] = recognition(rt.embed, views)
    mean = {f"{r:g}": {k: round(float(np.mean([per_file[f][f"{r:g}"][k] for f in encoder_files])), 4)
                       for k in ("top1", "auroc")} for r in rates}
    every = mean["0"]
    ok = [r for r in rates if r and mean[f"{r:g}"]["top1"] >= every["top1"] - RATE_POINTS / 100
          and mean[f"{r:g}"]["auroc"] >= every["auroc"] - RATE_AUROC]
    return {"search": "default pose rate", "encoders": list(encoder_files), "rates": list(rates),
            "chosen_on": f"TotalCapture {tc.VALIDATION} (validation sequence, 60 fps camera skeletons thinned to each "
                         f"rate): record once from one camera, recognise live from the others; the lowest rate within "
                         f"{RATE_POINTS} points of every frame's top-1 and {RATE_AUROC} of its AUROC, mean over "
                         f"{len(encoder_files)} encoders",
            "chosen": min(ok) if ok else 0.0, "mean": mean, "per_encoder": per_file}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="what", required=True)
    mw = sub.add_parser("motion-weight", help="the exported file's share of joint motion")
    mw.add_argument("--from-encoder", required=True, help="encoder file whose learned encoder is scored")
    mw.add_argument("--weights", type=float, nargs="+", default=list(WEIGHTS))
    st = sub.add_parser("strictness", help="the default strictness level")
    st.add_argument("--encoder", required=True, nargs="+",
                    help="encoder files never trained on the validation sequence (one per seed: the balance is averaged)")
    pr = sub.add_parser("pose-rate", help="the default pose rate")
    pr.add_argument("--encoder", required=True, nargs="+", help="encoder files never trained on the validation sequence")
    pr.add_argument("--rates", type=float, nargs="+", default=list(RATES))
    for p in (mw, st, pr):
        p.add_argument("--totalcapture", default=None, help="TotalCapture MediaPipe folder")
        p.add_argument("--json", help="write the search here")
    a = ap.parse_args(argv)
    if a.what == "motion-weight":
        out = motion_weight(a.from_encoder, tuple(a.weights), a.totalcapture)
        shown = {"chosen": out["chosen"], tc.VALIDATION: {k: (v[tc.VALIDATION], out["same_instant_top1_percent"][k][tc.VALIDATION])
                                                          for k, v in out["record_once_top1_percent"].items()}}
    elif a.what == "pose-rate":
        out = pose_rate(a.encoder, tuple(a.rates), a.totalcapture)
        shown = {"chosen": out["chosen"], "mean": out["mean"]}
    else:
        out = strictness(a.encoder, a.totalcapture)
        shown = {k: v for k, v in out["chosen"].items() if k != "balance_by_level"}
    if a.json:
        atomic_text(a.json, json.dumps(out, indent=1))
    print(json.dumps(shown, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
