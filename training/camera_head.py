"""A linear camera head learned from MediaPipe's same-instant pairs: ``python -m focovil.training.camera_head``.

FoCoViL's encoder, trained end to end on three TotalCapture sequences, learns the actor rather than
the view (issue 19: training loss falls while the held-out sequence gets worse). A linear map cannot
memorise two minutes of one actor, and what it learns carries to other people and rigs. So the
head is fitted, in closed form, on top of what already generalises:

``h(x)`` = the chosen blocks of ``training.exported.HEAD_BLOCKS`` (the encoder's unit embedding, the
normalised joint motion, the normalised aligned joint positions), ``mu`` its mean, and ``W`` the
top ``dims`` generalised eigenvectors of ``S_t w = lambda (S_w + s tr(S_w)/d I) w``: ``S_t`` the
scatter of all windows, ``S_w`` the scatter of the 8 cameras' windows of one instant around their
mean (each instant of a sequence is one class), ``s`` a shrinkage. ``W`` keeps the directions along
which instants differ most for the least disagreement between cameras (Fisher's discriminant with
instants as classes). The embedding is ``normalize(W^T (h(x) - mu))`` (``training.exported.Exported``).

The command fits one head per (seed's encoder, inputs, dims, shrinkage) on the training sequences
only and scores it on the validation sequence, with the encoder alone, the encoder + 0.1 joint
motion, joint motion and view-aligned joints in the same run, and record-once across people on
NW-UCLA (:func:`across_people`). The choice (:func:`choose`): heads that keep the encoder's
across-people record-once, then the best mean over seeds of record-once on the validation sequence
(the app's task), same-instant breaking near-ties. The two-camera capture is never
read here: ``training.evaluate_mediapipe`` measures the chosen setting's files.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np
import scipy.linalg
import torch
from tqdm import tqdm

from focovil.realtime.files import atomic_text
from focovil.training import multicamera
from focovil.training.camera_sweep import camera_scores
from focovil.training.choose import PLATEAU_POINTS
from focovil.training.config import DEFAULT_NWUCLA
from focovil.training.data import totalcapture as tc
from focovil.training.export import load_trained
from focovil.training.exported import HEAD_BLOCKS, Exported
from focovil.training.plots import pyplot, save_figure
from focovil.training.protocols import aligned_joints, joint_motion, module_embed, one_shot
from focovil.training.sweep import mean_std

DIMS = (32, 64, 128)
SHRINKS = (0.01, 0.1, 1.0)
INPUTS = ("encoder", "encoder,motion", "encoder,motion,positions", "motion,positions")


def instant_windows(sequences: tuple[str, ...], root: str | None = None, length: int = 32,
                    for_training: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Every camera's windows of ``sequences`` (``[N, T, J, 3]``) and each one's instant (a class id
    shared by the cameras that saw the same 1.8 s). ``for_training`` refuses the validation sequence."""
    return by_instant((tc.load_sequence(seq, root, for_training=for_training) for seq in sequences), length)


def by_instant(sequences, length: int = 32, first: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Windows of every camera of every sequence (``{camera: CameraStream}`` each), and their
    instants: sequence ``first + i``, grid step of the window's start (cameras share the grid)."""
    wins, groups = [], []
    for i, streams in enumerate(sequences, start=first):
        for s in streams.values():
            w = tc.camera_windows(s, length)
            wins.append(w.windows)
            groups.append(i * 1_000_000 + np.round(w.start / tc.STRIDE_S).astype(np.int64))
    return np.concatenate(wins), np.concatenate(groups)


def rendered_windows(root: str | None = None, length: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """More bodies (``training.data.vicon_views``): every Vicon sequence but the validation motion,
    seen by the 8 cameras with MediaPipe's measured errors, as windows and instants (class ids apart
    from :func:`instant_windows`')."""
    from focovil.training.data import vicon_views as vv
    res, rng = vv.residuals(root), np.random.default_rng(seed)
    pairs = vv.vicon_subjects_sequences(root)
    return by_instant((vv.rendered_streams(subject, seq, res, rng, root)
                       for subject, seq in tqdm(pairs, desc="more bodies", leave=False)), length, first=-len(pairs))


def scatters(h: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean, total scatter, within-instant scatter)``; instants seen by one camera only add to
    the total scatter."""
    h = np.asarray(h, np.float64)
    mu = h.mean(0)
    st = np.cov(h, rowvar=False, bias=True)
    _, inv, count = np.unique(groups, return_inverse=True, return_counts=True)
    means = np.zeros((len(count), h.shape[1]))
    np.add.at(means, inv, h)
    d = (h - (means / count[:, None])[inv])[count[inv] > 1]
    return mu, st, d.T @ d / max(len(d), 1)


def solve(st: np.ndarray, sw: np.ndarray, dims: int, shrink: float) -> np.ndarray:
    """The top ``dims`` generalised eigenvectors of ``(S_t, S_w + shrink * mean eigenvalue * I)``."""
    reg = sw + shrink * np.trace(sw) / len(sw) * np.eye(len(sw))
    _, vecs = scipy.linalg.eigh(st, reg)
    return vecs[:, ::-1][:, :dims].copy()


def head_module(encoder, blocks: tuple[str, ...], mean=None, axes=None) -> Exported:
    to = (lambda a: torch.as_tensor(a, dtype=torch.float32)) if mean is not None else (lambda a: None)
    return Exported(encoder, head_mean=to(mean), head_axes=to(axes), head_blocks=blocks).eval()


@torch.no_grad()
def head_inputs(module: Exported, windows: np.ndarray, batch: int = 512) -> np.ndarray:
    x = torch.as_tensor(np.asarray(windows, np.float32))
    return torch.cat([module.head_inputs(x[i:i + batch]) for i in range(0, len(x), batch)]).numpy()


def fit(encoder, blocks: tuple[str, ...], dims: int, shrink: float, windows: np.ndarray,
        groups: np.ndarray) -> Exported:
    """The exported module with a camera head fitted on ``windows`` (see the module docstring)."""
    bare = head_module(encoder, blocks)
    mu, st, sw = scatters(head_inputs(bare, windows), groups)
    return head_module(encoder, blocks, mu, solve(st, sw, dims, shrink))


def parse_blocks(text: str) -> tuple[str, ...]:
    blocks = tuple(b.strip() for b in text.split(",") if b.strip())
    bad = [b for b in blocks if b not in HEAD_BLOCKS]
    if bad or not blocks:
        raise argparse.ArgumentTypeError(f"head inputs {text!r}: choose from {', '.join(HEAD_BLOCKS)}")
    return blocks


def sweep(runs: list[Path], inputs: list[tuple[str, ...]], dims=DIMS, shrinks=SHRINKS, root=None,
          bodies=(False,), nwucla: str | None = DEFAULT_NWUCLA) -> dict:
    """Every head setting for every run (a seed's encoder), fitted on the training sequences (with and
    without more bodies, as ``bodies`` asks), scored on the validation sequence; baselines in the same run."""
    real = instant_windows(tc.TRAINING, root)
    extra = rendered_windows(root) if any(bodies) else None
    views, people = multicamera.load_views(tc.VALIDATION, root), across_people_data(nwucla)

    def scores(fn) -> dict:
        return {**camera_scores(fn, views), **({"across_people": across_people(fn, people)} if people else {})}

    rows: dict[str, list[dict]] = {"joint motion": [scores(joint_motion)], "aligned joints": [scores(aligned_joints)]}
    for run in tqdm(runs, desc="seeds", dynamic_ncols=True):
        enc, _ = load_trained(run / "model.pt" if run.is_dir() else run)
        for name, module in (("encoder alone", Exported(enc)), ("encoder + motion 0.1", Exported(enc, motion_weight=0.1))):
            rows.setdefault(name, []).append(scores(module_embed(module.eval())))
        for blocks, more in itertools.product(inputs, bodies):
            windows, groups = with_bodies(real, extra if more else None)
            mu, st, sw = scatters(head_inputs(head_module(enc, blocks), windows), groups)
            for shrink, d in itertools.product(shrinks, [d for d in dims if d <= len(mu)]):
                module = head_module(enc, blocks, mu, solve(st, sw, d, shrink))
                rows.setdefault(setting_name(blocks, d, shrink, more), []).append(scores(module_embed(module)))
    results = {n: mean_std(r) for n, r in rows.items()}
    chosen = choose(results)
    return {"runs": [str(r) for r in runs], "fitted_on": list(tc.TRAINING), "validation_sequence": tc.VALIDATION,
            "across_people": ACROSS_PEOPLE if people else "not measured (no NW-UCLA here)",
            "chosen_on": (f"heads that keep across-people one-shot (NW-UCLA v01 -> v02) within {PEOPLE_POINTS} points "
                          f"of the encoder alone, then {tc.VALIDATION}: record once, recognise live (mean over "
                          f"seeds); within {PLATEAU_POINTS} points of the best, the best same-instant"),
            "chosen": chosen,
            "chosen_setting": settings_of(chosen), "results": results}


def with_bodies(real: tuple[np.ndarray, np.ndarray], extra: tuple[np.ndarray, np.ndarray] | None):
    """The real camera windows and instants, joined by the rendered ones when given."""
    if extra is None:
        return real
    return np.concatenate([real[0], extra[0]]), np.concatenate([real[1], extra[1]])


ACROSS_PEOPLE = ("NW-UCLA (Kinect): one clip per action from one person in view 1 (50 draws), the other people's "
                 "clips in view 2; never v03")
PEOPLE_POINTS = 1.0      # a head may cost this much of the encoder's across-people one-shot, no more


def across_people_data(root: str | None) -> tuple[list, list] | None:
    from focovil.training.data import load_nwucla
    from focovil.training.data.nwucla import DatasetError
    try:
        return load_nwucla(root, views=(1,)), load_nwucla(root, views=(2,))
    except (FileNotFoundError, DatasetError):
        return None


def across_people(fn, data: tuple[list, list], length: int = 32) -> float:
    """Record once from one person and one view, recognise other people from another view (the
    head was fitted on one actor: it must not learn him instead of the motion)."""
    return one_shot(fn, *data, length, exclude_same_subject=True)["one_shot"]


def people_floor(results: dict) -> float | None:
    """The least across-people score a head may keep (``PEOPLE_POINTS`` below the encoder alone);
    None when it was not measured."""
    enc = results.get("encoder alone", {})
    return enc["across_people"]["mean"] - PEOPLE_POINTS / 100 if "across_people" in enc else None


def choose(results: dict) -> str:
    """Among the head settings that keep across-people one-shot within ``PEOPLE_POINTS`` of the
    encoder alone (when measured), the best record-once; among those within ``PLATEAU_POINTS`` of
    it (as good, for one sequence's worth of recordings), the best same-instant."""
    heads = {n: r for n, r in results.items() if n.startswith("head ")}
    floor = people_floor(results)
    if floor is not None:
        heads = {n: r for n, r in heads.items() if r["across_people"]["mean"] >= floor} or heads
    best = max(r["record_once"]["mean"] for r in heads.values())
    near = [n for n, r in heads.items() if r["record_once"]["mean"] >= best - PLATEAU_POINTS / 100]
    return max(near, key=lambda n: heads[n]["same_instant"]["mean"])


def setting_name(blocks: tuple[str, ...], dims: int, shrink: float, more_bodies: bool = False) -> str:
    return f"head {'+'.join(blocks)}, {dims} dims, shrink {shrink:g}" + (", more bodies" if more_bodies else "")


def settings_of(name: str) -> dict:
    blocks, dims, shrink, *more = name[len("head "):].split(", ")
    return {"inputs": blocks.split("+"), "dims": int(dims.split()[0]), "shrink": float(shrink.split()[1]),
            "more_bodies": bool(more)}


def plot(report: dict, path: Path) -> None:
    """Record-once against same-instant for every setting; heads that lose across people (more than
    ``PEOPLE_POINTS`` below the encoder alone, when measured) hollow: the rule never takes them."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 6))
    res = report["results"]
    floor = people_floor(res)
    for name, r in res.items():
        x, y = 100 * r["same_instant"]["mean"], 100 * r["record_once"]["mean"]
        head = name.startswith("head ")
        color = "#c0392b" if name == report["chosen"] else "#2e86c1" if head else "#555"
        kept = not (head and floor is not None and r["across_people"]["mean"] < floor)
        ax.errorbar(x, y, xerr=100 * r["same_instant"]["std"], yerr=100 * r["record_once"]["std"], fmt="o",
                    ms=3 if head else 5, color=color, mfc=color if kept else "white", alpha=1.0 if kept else 0.6)
        if not head or name == report["chosen"]:
            ax.annotate(name, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(f"same instant, 8 cameras, {report['validation_sequence']}: top-1 (%)")
    ax.set_ylabel(f"record once, recognise live, {report['validation_sequence']}: top-1 (%)")
    hollow = f"; hollow: lose > {PEOPLE_POINTS:g} point across people (NW-UCLA)" if floor is not None else ""
    ax.set_title(f"Camera heads fitted on {', '.join(report['fitted_on'])}, mean ± std over {len(report['runs'])} "
                 f"seeds\nblue: heads (red: chosen{hollow}); grey: baselines", fontsize=9)
    ax.grid(alpha=0.3)
    save_figure(fig, path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", help="comma-separated training outputs (one per seed), never trained "
                                   f"on {tc.VALIDATION}")
    ap.add_argument("--replot", metavar="JSON", help="only draw --plot again from a sweep's JSON")
    ap.add_argument("--inputs", type=parse_blocks, nargs="+", default=[parse_blocks(i) for i in INPUTS])
    ap.add_argument("--dims", default=",".join(map(str, DIMS)))
    ap.add_argument("--shrinks", default=",".join(map(str, SHRINKS)))
    ap.add_argument("--more-bodies", choices=("no", "yes", "both"), default="no",
                    help="also fit on Vicon motion of four actors seen with MediaPipe's measured errors "
                         "(training.data.vicon_views); both: each setting with and without")
    ap.add_argument("--totalcapture", default=None, help="TotalCapture MediaPipe folder (default: ../shared's)")
    ap.add_argument("--json", help="write the sweep here")
    ap.add_argument("--plot")
    a = ap.parse_args(argv)
    if a.replot:
        plot(json.loads(Path(a.replot).read_text()), Path(a.plot or Path(a.replot).with_suffix(".png")))
        return 0
    if not a.runs or not a.json:
        ap.error("--runs and --json are needed (or --replot JSON)")
    runs = [Path(r) for r in a.runs.split(",")]
    report = sweep(runs, a.inputs, [int(d) for d in a.dims.split(",")], [float(s) for s in a.shrinks.split(",")],
                   a.totalcapture, bodies={"no": (False,), "yes": (True,), "both": (False, True)}[a.more_bodies])
    atomic_text(Path(a.json), json.dumps(report, indent=1))
    if a.plot:
        plot(report, Path(a.plot))
    print(json.dumps({"chosen": report["chosen"], **{n: {k: round(100 * v["mean"], 1) for k, v in r.items()}
                      for n, r in report["results"].items() if not n.startswith("head ") or n == report["chosen"]}},
                     indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
