"""FoCoViL: live, view-invariant action recognition from a camera.

Until the real-time demo lands, ``python main.py`` runs the honest cross-view evaluation of the
shipped protocol encoder (trained on NW-UCLA views 1+2, tested on view 3) against raw-joint
baselines, using the NW-UCLA copy in ``../shared`` (or ``--data``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=str(ROOT / "weights" / "focovil_protocol.pt"))
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "nw-ucla" / "all_sqe"))
    ap.add_argument("--json", default=str(ROOT / "runs" / "eval_cross_view.json"))
    a = ap.parse_args(argv)
    if not Path(a.data).is_dir():
        print(f"error: NW-UCLA skeletons not found at {a.data} (pass --data DIR)", file=sys.stderr)
        return 2
    from training import evaluate
    return evaluate.main(["--weights", a.weights, "--data", a.data, "--protocol", "cross-view", "--json", a.json])


if __name__ == "__main__":
    sys.exit(main())
