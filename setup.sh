#!/usr/bin/env bash
# All set-up on a fresh machine: a virtual environment in .venv with everything the app, the
# training tools and the tests need. Offline-safe models ship in weights/; nothing downloads later.
#   ./setup.sh          CPU (faiss-cpu; torch==2.13.0 CPU build unless a torch is already installed)
#   ./setup.sh --gpu    faiss-gpu instead of faiss-cpu (bring your own CUDA build of torch)
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  if "$PY" -c "import torch" 2>/dev/null; then
    echo "setup: reusing the torch already installed for $PY ($("$PY" -c 'import torch; print(torch.__version__)'))"
    "$PY" -m venv --system-site-packages .venv
  else
    "$PY" -m venv .venv
  fi
fi
VPY=.venv/bin/python
# pip's own output (build-backend warnings of the editable install among it) goes to a log that is
# shown only when a step fails, so set-up prints its own lines alone
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
pip_quiet() {
  if ! "$VPY" -m pip "$@" >"$LOG" 2>&1; then
    echo "setup: pip $* failed:" >&2
    cat "$LOG" >&2
    exit 1
  fi
}
"$VPY" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if ! "$VPY" -c "import torch" 2>/dev/null; then
  echo "setup: installing torch==2.13.0 (CPU build)"
  pip_quiet install -q torch==2.13.0
fi
echo "setup: installing the project and its dependencies (.[dev], editable)"
pip_quiet install -q -e ".[dev]"
if [ "${1:-}" = "--gpu" ]; then     # both wheels provide the module faiss: one replaces the other
  pip_quiet uninstall -q -y faiss-cpu
  pip_quiet install -q faiss-gpu
fi
"$VPY" -c "import torch, faiss, mediapipe, cv2; print(f'setup: torch {torch.__version__} (cuda: {torch.cuda.is_available()}), faiss {faiss.__version__}, mediapipe {mediapipe.__version__}')"
