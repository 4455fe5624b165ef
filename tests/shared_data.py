"""The real data the suite reads, as a manifest (``tests/shared_manifest.json``: each file under the
shared folder that a test run opened, with its size) and the check CI runs before the tests start
(standard library only: ``.ci/run`` runs it before set-up). CI's pytest hooks: ``tests/ci_gate.py``.

    python tests/shared_data.py            # check $FOCOVIL_SHARED (else ../shared): one line, exit 1 if not whole
    python tests/shared_data.py --record   # run the whole suite (Linux), noting every shared file any process
                                           # opens, and write the manifest from what was opened

CI (``.ci/run``) sets ``FOCOVIL_CI=1``: there the suite cannot pass without its data (the check fails
the run before any test) and a test that would skip fails instead (``tests/conftest.py``). Elsewhere a
missing folder still makes the tests that need it skip, with the reason.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = Path(__file__).resolve().parent / "shared_manifest.json"
CI_ENV = "FOCOVIL_CI"

def in_ci() -> bool:
    return os.environ.get(CI_ENV, "") not in ("", "0")


def shared_folder() -> Path:
    sys.path.insert(0, str(ROOT))
    import focovil  # noqa: F401  (the checkout's import name)
    from focovil.realtime.paths import shared_root
    return shared_root()


def manifest_files() -> dict[str, int]:
    """The manifest: each file the suite uses (relative to the shared folder) and its size in bytes."""
    return json.loads(MANIFEST.read_text())["files"]


def problems(root: Path, want: dict[str, int] | None = None) -> list[str]:
    """What is missing or of another size under ``root`` than the manifest says (empty: whole)."""
    want = manifest_files() if want is None else want
    if not root.is_dir():
        return [f"{root} does not exist"]
    out = []
    for rel, size in sorted(want.items()):
        p = root / rel
        if not p.is_file():
            out.append(f"{rel} missing")
        elif p.stat().st_size != size:
            out.append(f"{rel} is {p.stat().st_size} bytes, not {size}")
    return out


def check_line(root: Path) -> str | None:
    """None when the shared folder is whole; else one line naming the folder and what is wrong."""
    want = manifest_files()
    bad = problems(root, want)
    if not bad:
        return None
    total = len(want)
    how = "set $FOCOVIL_SHARED to it, or put it beside the checkout"
    if not root.is_dir():
        return f"the shared data folder {root} does not exist (the tests use {total} files in it); {how}"
    more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
    return f"the shared data folder {root} is not whole ({len(bad)} of {total} files the tests use): {'; '.join(bad[:3])}{more}; {how}"


def record(pytest_args: list[str]) -> int:
    """Runs the suite while the kernel reports every file opened under the shared folder (inotify: any
    process, Python or not: OpenCV opens videos in C), then writes the manifest from what was opened."""
    root = shared_folder().resolve()
    opened: set[str] = set()
    with Opened(root) as watch:
        proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args], cwd=ROOT)
        while proc.poll() is None:
            opened |= watch.read(1.0)
        opened |= watch.read(1.0)
    files = {rel: (root / rel).stat().st_size for rel in sorted(opened) if (root / rel).is_file()}
    text = json.dumps({"about": "files under the shared folder the suite opens (tests/shared_data.py --record)",
                       "files": files}, indent=1) + "\n"
    tmp = MANIFEST.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(MANIFEST)
    print(f"{len(files)} files, {sum(files.values()) / 1e6:.1f} MB, written to {MANIFEST} (suite exit {proc.returncode})")
    return proc.returncode


class Opened:
    """Linux inotify over every folder below ``root``: :meth:`read` gives the paths (relative to
    ``root``) opened since the last call."""
    IN_OPEN = 0x20

    def __init__(self, root: Path) -> None:
        import ctypes
        self.root, self.libc = root, ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK)
        self.dirs = {self.libc.inotify_add_watch(self.fd, os.fsencode(d), self.IN_OPEN): Path(d)
                     for d, _, _ in os.walk(root)}

    def read(self, timeout: float) -> set[str]:
        import select
        import struct
        out: set[str] = set()
        while select.select([self.fd], [], [], timeout)[0]:
            buf, i, timeout = os.read(self.fd, 1 << 20), 0, 0.0
            while i < len(buf):
                wd, _mask, _cookie, n = struct.unpack_from("iIII", buf, i)
                name = buf[i + 16:i + 16 + n].rstrip(b"\0").decode()
                if name and wd in self.dirs:
                    out.add(str((self.dirs[wd] / name).relative_to(self.root)))
                i += 16 + n
        return out

    def __enter__(self) -> "Opened":
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--record"]:
        return record(argv[1:])
    line = check_line(shared_folder())
    if line:
        print(f"error: {line}", file=sys.stderr)
        return 1
    print(f"shared data: whole ({len(manifest_files())} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
