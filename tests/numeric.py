"""Comparing computed numbers with a tolerance in their own units, so a test gives the same verdict on any
machine (another BLAS, CPU or thread count moves a float32 result in its last bits, and a share of counted
items by an item or a rounding step) and still fails on a real change.

Each test states its tolerances as named constants with the reason they are safe; this module only
applies them. Values that are copied rather than computed (strings, ints, counts, settings, a stored
number read back) are compared exactly.
"""
from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping, Sequence

# Floats read back from JSON carry binary noise of their own (0.5402 - 0.5401 is 1.0000000000000009e-04), so a
# tolerance of exactly one rounding step is met with this much to spare: far below any tolerance used.
REPR_SLACK = 1e-12


def close(got: float, want: float, tol: float) -> bool:
    """``|got - want| <= tol``, a tolerance in the quantity's own units (NaN only matches NaN)."""
    if math.isnan(got) or math.isnan(want):
        return math.isnan(got) and math.isnan(want)
    return abs(got - want) <= tol + REPR_SLACK


def tree_differences(got, want, tolerances: Mapping[str, float] | None = None, path: str = "") -> list[str]:
    """Every place where two nested dicts / lists differ, as ``path: got != want`` lines.

    ``tolerances`` maps a dotted path (``fnmatch`` patterns allowed, list indices left out: the path of
    ``metrics.strictness.named_right[25]`` is ``metrics.strictness.named_right``) to an absolute tolerance for
    the numbers at that path. Anything else must be equal: strings, bools, ints and the floats no pattern
    names (copied values). A pattern that names nothing in ``want`` is itself a difference, so a renamed key
    cannot silently lose its check.
    """
    tolerances = dict(tolerances or {})
    out: list[str] = []
    used: set[str] = set()
    _walk(got, want, tolerances, path, path, out, used)
    out += [f"{p}: tolerance given for a path that holds no number" for p in tolerances if p not in used]
    return out


def assert_tree_close(got, want, tolerances: Mapping[str, float] | None = None, what: str = "") -> None:
    """Raise listing each difference (with its size and the tolerance it broke) when the trees differ."""
    diffs = tree_differences(got, want, tolerances)
    if diffs:
        head = f"{what}: " if what else ""
        raise AssertionError(head + f"{len(diffs)} difference(s)\n  " + "\n  ".join(diffs[:40])
                             + ("\n  ..." if len(diffs) > 40 else ""))


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _walk(got, want, tolerances, key: str, where: str, out: list[str], used: set[str]) -> None:
    if isinstance(want, Mapping):
        if not isinstance(got, Mapping):
            out.append(f"{where or '<root>'}: {type(got).__name__} where a dict was expected")
            return
        for k in sorted(set(want) | set(got), key=str):
            sub_key, sub_where = (f"{key}.{k}" if key else str(k)), (f"{where}.{k}" if where else str(k))
            if k not in got:
                out.append(f"{sub_where}: missing")
            elif k not in want:
                out.append(f"{sub_where}: unexpected (= {got[k]!r})")
            else:
                _walk(got[k], want[k], tolerances, sub_key, sub_where, out, used)
        return
    if isinstance(want, Sequence) and not isinstance(want, str):
        if not isinstance(got, Sequence) or isinstance(got, str) or len(got) != len(want):
            out.append(f"{where}: {_short(got)} != {_short(want)} (length or type)")
            return
        for i, (g, w) in enumerate(zip(got, want)):
            _walk(g, w, tolerances, key, f"{where}[{i}]", out, used)
        return
    pattern = next((p for p in tolerances if fnmatch.fnmatchcase(key, p)), None)
    if pattern is not None and _is_number(want) and _is_number(got):
        used.add(pattern)
        if not close(float(got), float(want), tolerances[pattern]):
            out.append(f"{where}: {got!r} != {want!r} (off by {abs(got - want):.3g}, tolerance {tolerances[pattern]:g})")
        return
    if pattern is not None:
        used.add(pattern)
    if type(got) is not type(want) and not (_is_number(got) and _is_number(want)) or got != want:
        out.append(f"{where}: {got!r} != {want!r}")


def _short(x) -> str:
    text = repr(x)
    return text if len(text) < 80 else text[:77] + "..."
