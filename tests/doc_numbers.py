"""Numbers in the Markdown documents, checked against the files they were measured into.

A number that a JSON in ``docs/experiments/`` or an encoder file's metadata (``weights/*.pt``) also holds
carries a *source tag*, an HTML comment that renders as nothing, right after it::

    86.0<!-- from focovil_protocol.pt: metrics.cross-view.encoder.knn1 x100 -->
    85.7 ± 0.5<!-- from sweep_round2.json: cross_view.long_limb_depth.knn1.{mean,std} x100 -->
    | 32 / 50 / 53 | 1 | 0<!-- from tracking.json#[one person]: {0,1,2}.pose_ms.p50; 0.{tracks,id_switches} --> |

Grammar of the comment body (``from`` and then one or more items separated by ``;``)::

    item   := source {" & " source}        (several sources that must all agree with the one number)
    source := [FILE ["#" BASE] ":"] PATH [" x" SCALE]
    FILE   := NAME.json   -> docs/experiments/NAME.json
            | NAME.pt     -> weights/NAME.pt, its metadata (focovil.realtime.encoder.file_metadata)
            | a path with "/" relative to the repository root (a .json, or a .pt encoder file)
    BASE   := a PATH (without ":") that this source's and the following sources' PATHs continue
    PATH   := segments separated by "." ; a segment is a plain key, or "[...]" for a key that holds
              ".", "[", "]", ";" or surrounding spaces; a segment of a list is its index;
              "{a,b,c}" expands to several values in that order, also inside "[...]"
    SCALE  := the factor from the source's unit to the shown one (x100: a fraction shown as a percentage;
              x-1: a negative value shown after a minus sign that stands apart, "centre - 0.3 s")

A source without FILE reads the previous source's file (and continues its BASE). A tag with n values
checks the last n numbers before it on its line, after the previous tag on that line (so a table row
or cell can carry one tag for all of its numbers, in reading order; a number's sign is read with it,
"kNN-1" or "v03" are names, not numbers). A shown number with d decimals must equal the source value
times SCALE to within half a unit of its last decimal (``86.0`` stands for any value in
[85.95, 86.05]). Numbers that no JSON or encoder file holds (a mean of two values, a count made by
hand, a measurement never written to a file) carry no tag. ``tests/test_documents.py`` runs the check
on every Markdown file of the project.
"""
from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TAG = re.compile(r"<!--\s*from\b(?P<body>.*?)-->", re.S)
COMMENT = re.compile(r"<!--.*?-->", re.S)
# a number as shown: digits with an optional decimal part, or thousands grouped by commas
NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+(?![\d])|\d+(?:\.\d+)?)(?![\w])")
MINUS = "-−"


@dataclass
class Shown:
    """A number as the document shows it."""
    text: str
    value: float
    decimals: int


@dataclass
class Tag:
    doc: str                         # the document's path, for messages
    line: int
    body: str
    shown: list[Shown] = field(default_factory=list)     # the numbers before it it claims (may be short)
    # per number it claims: the (file, path segments, scale) of each source it must agree with
    items: list[list[tuple[str, list, float]]] = field(default_factory=list)
    error: str = ""

    def where(self) -> str:
        return f"{self.doc}:{self.line}"


def numbers_in(text: str) -> list[Shown]:
    """The numbers of a stretch of text, in order, with their signs (a hyphen or minus sign right
    before a number is its sign unless it joins a word or a range: ``top-1`` and ``4.4-5.2`` are positive)."""
    out = []
    for m in NUMBER.finditer(text):
        s = m.group(1)
        before = text[m.start() - 1] if m.start() else ""
        before2 = text[m.start() - 2] if m.start() > 1 else ""
        if before and before in MINUS and before2.isalpha():
            continue                                  # part of a name: kNN-1, top-5, S1-4
        sign = -1.0 if before and before in MINUS and not before2.isalnum() else 1.0
        decimals = len(s.split(".")[1]) if "." in s else 0
        out.append(Shown(("-" if sign < 0 else "") + s, sign * float(s.replace(",", "")), decimals))
    return out


def split_items(body: str, sep: str = ";") -> list[str]:
    """Split on ``sep`` outside brackets."""
    items, depth, cur = [], 0, ""
    for ch in body:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == sep and depth == 0:
            items.append(cur)
            cur = ""
        else:
            cur += ch
    items.append(cur)
    return [i.strip() for i in items if i.strip()]


def parse_path(path: str) -> list[list[str]]:
    """Path text -> its segments, each a list of alternatives (one, or several from "{a,b}")."""
    segs, i = [], 0
    while i < len(path):
        if path[i] == ".":
            i += 1
            continue
        if path[i] == "[":
            j = path.index("]", i)
            segs.append(expand_key(path[i + 1:j]))
            i = j + 1
        elif path[i] == "{":
            j = path.index("}", i)
            segs.append([a.strip() for a in path[i + 1:j].split(",")])
            i = j + 1
        else:
            m = re.match(r"[^.\[{]+", path[i:])
            segs.append([m.group(0)])
            i += m.end()
    return segs


def expand_key(key: str) -> list[str]:
    """A bracketed key with "{a,b}" in it stands for each alternative: "[w {0,0.1}]" -> "w 0", "w 0.1"."""
    m = re.search(r"\{([^}]*)\}", key)
    if not m:
        return [key]
    return [k for a in m[1].split(",") for k in expand_key(key[:m.start()] + a.strip() + key[m.end():])]


def expand(segs: list[list[str]]) -> list[list[str]]:
    paths = [[]]
    for alts in segs:
        paths = [p + [a] for p in paths for a in alts]
    return paths


def parse_tag(doc: str, line: int, body: str) -> Tag:
    tag = Tag(doc, line, body.strip())
    current, base = None, ""
    try:
        for item in split_items(body):
            alternatives = []
            for source in split_items(item, "&"):
                m = re.match(r"^(?:(?P<file>[\w./+-]+\.(?:json|pt))(?:#(?P<base>[^:]+))?\s*:\s*)?"
                             r"(?P<path>.+?)(?:\s+x(?P<scale>-?[\d.]+))?$", source)
                if not m:
                    raise ValueError(f"cannot read {source!r}")
                if m["file"]:
                    current, base = m["file"], (m["base"] or "").strip()
                if current is None:
                    raise ValueError(f"{source!r} names no file (the first source of a tag must)")
                scale = float(m["scale"]) if m["scale"] else 1.0
                segs = parse_path(base) + parse_path(m["path"].strip())
                alternatives.append([(current, p, scale) for p in expand(segs)])
            if len({len(a) for a in alternatives}) != 1:
                raise ValueError(f"the sources joined by '&' in {item!r} name different numbers of values")
            tag.items.extend([list(group) for group in zip(*alternatives)])
        if not tag.items:
            raise ValueError("no items")
    except ValueError as e:
        tag.error = str(e)
    return tag


def find_tags(text: str, doc: str = "<text>") -> list[Tag]:
    """Every source tag of a document, each with the numbers it claims."""
    tags = []
    for lineno, line in enumerate(text.splitlines(), 1):
        prev_end = 0
        for m in TAG.finditer(line):
            tag = parse_tag(doc, lineno, m["body"])
            before = COMMENT.sub(" ", line[prev_end:m.start()])
            nums = numbers_in(before)
            n = len(tag.items)
            tag.shown = nums[-n:] if n else []
            if not tag.error and len(nums) < n:
                tag.error = f"{n} sources but only {len(nums)} numbers before the tag on its line"
            tags.append(tag)
            prev_end = m.end()
    # a tag that spans lines is not read above: report it rather than skip it
    for m in TAG.finditer(text):
        if "\n" in m.group(0):
            line = text[:m.start()].count("\n") + 1
            tags.append(Tag(doc, line, m["body"], error="a source tag must stay on one line"))
    return tags


class Sources:
    """Reads and caches the source files."""

    def __init__(self, root: Path = ROOT):
        self.root = root
        self.cache: dict[str, object] = {}

    def resolve(self, name: str) -> Path:
        if "/" in name:
            return self.root / name
        return self.root / ("weights" if name.endswith(".pt") else "docs/experiments") / name

    def load(self, name: str):
        if name not in self.cache:
            path = self.resolve(name)
            if not path.is_file():
                raise LookupError(f"source file {path.relative_to(self.root)} not found")
            if path.suffix == ".pt":
                from focovil.realtime.encoder import file_metadata
                self.cache[name] = file_metadata(path).to_dict()
            else:
                self.cache[name] = json.loads(path.read_text())
        return self.cache[name]

    def value(self, name: str, segs: list[str]) -> float:
        node = self.load(name)
        for i, s in enumerate(segs):
            at = ".".join(segs[:i + 1])
            if isinstance(node, dict):
                if s not in node:
                    raise LookupError(f"{name} has no {at!r} (keys there: {', '.join(map(str, list(node)[:12]))})")
                node = node[s]
            elif isinstance(node, list):
                if not re.fullmatch(r"-?\d+", s) or not -len(node) <= int(s) < len(node):
                    raise LookupError(f"{name}: {at!r}: a list of {len(node)} has no item {s!r}")
                node = node[int(s)]
            else:
                raise LookupError(f"{name}: {at!r}: {'.'.join(segs[:i])} is a value, not a mapping")
        if isinstance(node, bool) or not isinstance(node, (int, float)):
            raise LookupError(f"{name}: {'.'.join(segs)} is {type(node).__name__}, not a number")
        return float(node)


def agrees(shown: Shown, source: float) -> bool:
    """The shown number is the source rounded to the shown decimals (half a unit of its last place)."""
    half = 0.5 * 10.0 ** -shown.decimals
    return abs(shown.value - source) <= half * (1 + 1e-9) + 1e-9


def check_tags(tags: list[Tag], sources: Sources) -> list[str]:
    problems = []
    for tag in tags:
        if tag.error:
            problems.append(f"{tag.where()}: <!-- from{tag.body[:80]} -->: {tag.error}")
            continue
        for shown, group in zip(tag.shown, tag.items):
            for name, segs, scale in group:
                ref = f"{name}: {'.'.join(segs)}" + (f" x{scale:g}" if scale != 1 else "")
                try:
                    v = sources.value(name, segs) * scale
                except LookupError as e:
                    problems.append(f"{tag.where()}: {shown.text} <- {ref}: {e}")
                    continue
                if not agrees(shown, v):
                    problems.append(f"{tag.where()}: shows {shown.text}, {ref} is {v:.6g}")
    return problems


def check_text(text: str, doc: str = "<text>", sources: Sources | None = None) -> list[str]:
    return check_tags(find_tags(text, doc), sources or Sources())


def tags_in_code(text: str) -> list[int]:
    """Lines of tags that stand inside code (a fenced block, or an inline code span, which may run over
    lines of one paragraph): Markdown shows a comment there as text, so a tag there is a mistake."""
    bad, fenced, ticks = [], False, 0
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced, ticks = not fenced, 0
            continue
        if not line.strip():
            ticks = 0                           # a code span never crosses a blank line
        pos = 0
        for m in TAG.finditer(line):
            ticks += line[pos:m.start()].count("`")
            if fenced or ticks % 2:
                bad.append(lineno)
            pos = m.end()
        ticks += line[pos:].count("`")
    return bad


def documents(root: Path = ROOT) -> list[Path]:
    """The project's Markdown files: git's tracked and not-ignored ones, else every .md outside build folders."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
                             cwd=root, capture_output=True, text=True, check=True).stdout
        files = [root / f for f in out.splitlines() if f.strip()]
    except (OSError, subprocess.CalledProcessError):
        skip = {".venv", ".git", "runs", "build", "dist", "node_modules"}
        files = [p for p in root.rglob("*.md") if not skip & set(p.relative_to(root).parts)]
    return sorted(p for p in set(files) if p.is_file())
