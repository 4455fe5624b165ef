"""Open set: is an action the user never recorded called "unknown", and is a recorded one still named?

Every method in one run: the encoder files and view-aligned raw joints, each with its own
strictness table (``training.open_set.calibrate``: NW-UCLA v01 -> v02, never v03), each scored at
every strictness level on
* **NW-UCLA** (``weights/focovil_protocol.pt``, never trained on v03): 5 of 10 actions enrolled from
  views 1+2, view-3 queries of all ten, 20 random splits;
* **Kinder-Gator**: motions no shipped NW-UCLA-only encoder trained on (the protocol file; the app
  file trained on them, so it is not scored here): 8 of the 16 novel-motion protocol motions
  enrolled from half the participants, queries of all 16 from the other half, 20 splits;
* **real MediaPipe video** (the app encoder): a library of the real NTU clips' actions (drink
  water, falling performer 6 camera 1, pick up), each left out in turn; enrolled queries are the
  same fall seen by camera 2 and another performer's fall; never-recorded queries are the
  left-out action, the two-camera capture (an unscripted arm-and-step motion) and the two
  partial-body clips. Also the motion energy that makes "idle".

``python benchmarks/open_set.py [--json docs/experiments/open_set.json] [--plot docs/experiments/open_set.png]``;
``--quick``: 3 splits instead of 20, every real clip cut to its first 3.5 s.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from focovil.realtime.encoder import load_encoder  # noqa: E402
from focovil.realtime.files import atomic_text  # noqa: E402
from focovil.realtime.motion import motion_energy  # noqa: E402
from focovil.realtime.pipeline import segment_windows  # noqa: E402
from focovil.realtime.settings import Settings  # noqa: E402
from focovil.training.data import video_skeletons  # noqa: E402
from focovil.training.data.kinder_gator import load_kinder_gator  # noqa: E402
from focovil.training.data.nwucla import load_nwucla  # noqa: E402
from focovil.training.metrics import l2n  # noqa: E402
from focovil.training.open_set import calibrate, open_set  # noqa: E402
from focovil.training.plots import pyplot, save_figure  # noqa: E402
from focovil.training.protocols import NOVEL_KG_MOTIONS, aligned_joints, labels_of, windows_of  # noqa: E402
from benchmarks.common import QUICK_CLIP_S, add_quick, need, shared_default, short_videos  # noqa: E402

DEFAULT = Settings().strictness
WINDOW = 32
PARTIAL = ("closeup_face_partial_body.avi", "arm_wrestling_partial_bodies.mp4")


def at_default(r: dict) -> dict:
    i = r["levels"].index(DEFAULT) if DEFAULT in r["levels"] else int(np.argmin(np.abs(np.array(r["levels"]) - DEFAULT)))
    return {"strictness": r["levels"][i], "threshold": r["thresholds"][i], "named_right": r["named_right"][i],
            "rejected": r["rejected"][i]}


def scored(table: dict, result: dict) -> dict:
    out = {"levels": table["levels"], **result}
    out["at_default"] = at_default(out)
    return out


def nwucla(fn, table: dict, root: str, n_splits: int = 20) -> dict:
    g, q = load_nwucla(root, views=(1, 2)), load_nwucla(root, views=(3,))
    return scored(table, open_set(fn(windows_of(g, WINDOW)), labels_of(g), fn(windows_of(q, WINDOW)), labels_of(q),
                                  table["thresholds"], n_splits=n_splits))


def kinder_gator(fn, table: dict, path: str, n_splits: int = 20) -> dict:
    clips = load_kinder_gator(path, motions=set(NOVEL_KG_MOTIONS))
    people = sorted({c.subject for c in clips})
    g = [c for c in clips if c.subject in people[::2]]          # half the participants enrol
    q = [c for c in clips if c.subject not in people[::2]]
    return scored(table, open_set(fn(windows_of(g, WINDOW)), labels_of(g), fn(windows_of(q, WINDOW)), labels_of(q),
                                  table["thresholds"], n_enrolled=8, n_splits=n_splits))


def mediapipe(fn, table: dict, videos: str, pose_model: str | Path | None = None, pose_fps: float | None = None) -> dict:
    """``pose_model`` / ``pose_fps``: the skeletons as the app makes them with that model and pose rate."""
    def seg(name):
        t, s = video_skeletons.skeletons(Path(videos) / video_skeletons.NTU[name][0], pose_model=pose_model, pose_fps=pose_fps)
        return fn(np.stack(segment_windows(t, s, WINDOW, Settings().window_s)))

    def live(rel):
        t, s = video_skeletons.skeletons(Path(videos) / rel, pose_model=pose_model, pose_fps=pose_fps)
        return fn(video_skeletons.stream_windows(rel, t, s, WINDOW).windows)
    library = {"drink water": seg("drink water"), "falling": seg("falling cam1"), "pick up": seg("pick up")}
    actions = {"drink water": live(video_skeletons.NTU["drink water"][0]), "pick up": live(video_skeletons.NTU["pick up"][0])}
    enrolled_q = np.concatenate([live(video_skeletons.NTU["falling cam2"][0]), live(video_skeletons.NTU["falling P007"][0])])
    others = {"two-camera capture": np.concatenate([live(r) for r in video_skeletons.LIGHTSTAGE]),
              "partial bodies": np.concatenate([live(r) for r in PARTIAL])}
    thr = np.asarray(table["thresholds"])
    groups: dict[str, list] = {}
    named = []
    for left_out in ("drink water", "pick up"):          # "falling" stays: the enrolled queries are falls
        lib = {k: v for k, v in library.items() if k != left_out}
        labels = np.concatenate([[k] * len(v) for k, v in lib.items()])
        g = l2n(np.concatenate(list(lib.values())))

        def best(x):
            s = l2n(x) @ g.T
            return s.max(axis=1), labels[s.argmax(axis=1)]
        b, p = best(enrolled_q)
        named.append([float(np.mean((p == "falling") & (b >= t))) for t in thr])
        for name, x in {f"left-out action ({left_out})": actions[left_out], **others}.items():
            bx, _ = best(x)
            groups.setdefault(name, []).append([float(np.mean(bx < t)) for t in thr])
    rejected = {k: np.mean(v, axis=0).round(4).tolist() for k, v in groups.items()}
    allrej = np.mean([np.mean(v, axis=0) for v in groups.values()], axis=0)
    out = scored(table, {"thresholds": thr.round(4).tolist(), "named_right": np.mean(named, 0).round(4).tolist(),
                         "rejected": allrej.round(4).tolist(), "rejected_by_group": rejected})
    return out


def idle_energies(videos: str) -> dict:
    """Motion energy of real stillness (each NTU clip's first 0.5 s, before the action) and of the
    real clips' live action windows."""
    still, moving = {}, []
    for name, (rel, *_rest) in video_skeletons.NTU.items():
        t, s = video_skeletons.skeletons(Path(videos) / rel)
        still[name] = round(motion_energy(s[t < t[0] + 0.5]), 4)
        moving += [motion_energy(w) for w in video_skeletons.video_windows(videos, rel, WINDOW).windows]
    return {"still_first_half_second_m": still, "action_windows_min_m": round(float(np.min(moving)), 4),
            "idle_below_m": Settings().idle_motion_m}


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocol", default=str(ROOT / "weights/focovil_protocol.pt"))
    ap.add_argument("--app", default=str(ROOT / "weights/focovil_app.pt"))
    ap.add_argument("--nwucla", default=shared_default("data/nw-ucla/all_sqe"))
    ap.add_argument("--kg", default=shared_default("data/kinder-gator/kinder_gator.npz"))
    ap.add_argument("--videos", default=shared_default("data/videos"))
    ap.add_argument("--json", help="write the report here")
    ap.add_argument("--plot", help="write the figure here (PNG)")
    add_quick(ap, f"3 splits, every real clip cut to its first {QUICK_CLIP_S:g} s")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    need(a.nwucla, a.kg, a.videos, what="NW-UCLA, Kinder-Gator and the real clips")
    splits = 3 if a.quick else 20
    with tempfile.TemporaryDirectory() as tmp:
        if a.quick:
            rels = [rel for rel, *_ in video_skeletons.NTU.values()] + [*video_skeletons.LIGHTSTAGE, *PARTIAL]
            a.videos = str(short_videos(a.videos, rels, Path(tmp) / "short", QUICK_CLIP_S))
        return measure(a, splits)


def measure(a: argparse.Namespace, splits: int) -> int:
    methods = {"protocol": load_encoder(a.protocol, device="cpu"), "app": load_encoder(a.app, device="cpu")}
    tables = {n: rt.meta.metrics.get("strictness") or calibrate(rt.embed, a.nwucla, WINDOW)["strictness"]
              for n, rt in methods.items()}
    fns = {n: rt.embed for n, rt in methods.items()}
    fns["aligned_joints"] = aligned_joints
    tables["aligned_joints"] = calibrate(aligned_joints, a.nwucla, WINDOW)["strictness"]
    report = {"default_strictness": DEFAULT, "nwucla": {}, "kinder_gator": {}, "mediapipe": {}}
    for n in ("protocol", "aligned_joints"):
        report["nwucla"][n] = nwucla(fns[n], tables[n], a.nwucla, splits)
        report["kinder_gator"][n] = kinder_gator(fns[n], tables[n], a.kg, splits)
    for n in ("app", "aligned_joints"):
        report["mediapipe"][n] = mediapipe(fns[n], tables[n], a.videos)
    report["idle"] = idle_energies(a.videos)
    text = json.dumps(report, indent=1)
    if a.json:
        atomic_text(a.json, text)
    if a.plot:
        plot(report, Path(a.plot))
    print(json.dumps({d: {n: {**r["at_default"], **({"auroc": r["auroc"]} if "auroc" in r else {})} for n, r in m.items()}
                      for d, m in report.items() if isinstance(m, dict) and d != "idle"} | {"idle": report["idle"]}, indent=1))
    return 0


def plot(report: dict, path: Path) -> None:
    plt = pyplot()
    titles = {"nwucla": "NW-UCLA: 5 of 10 enrolled, v01+v02 -> v03",
              "kinder_gator": "Kinder-Gator: 8 of 16 unseen motions, other people",
              "mediapipe": "Real MediaPipe clips (one action left out)"}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
    for ax, (key, title) in zip(axes, titles.items()):
        for name, r in report[key].items():
            x, y = 100 * np.array(r["rejected"]), 100 * np.array(r["named_right"])
            line, = ax.plot(x, y, marker=".", ms=4, label=name.replace("_", " "))
            d = r["at_default"]
            ax.scatter([100 * d["rejected"]], [100 * d["named_right"]], s=70, color=line.get_color(), edgecolor="k", zorder=3)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("never-recorded queries called \u201cunknown\u201d (%)")
        ax.set_ylabel("enrolled queries named right (%)")
        ax.set_xlim(0, 101)
        ax.set_ylim(0, 101)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower left")
    fig.suptitle(f"Strictness from 0 (left) to 100; big dots: the default ({report['default_strictness']:g})", fontsize=10)
    save_figure(fig, path, dpi=100)


if __name__ == "__main__":
    sys.exit(main())
