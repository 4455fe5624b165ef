"""The house rules that code review would otherwise have to remember: what may import what, how big a
module or a class may grow, and that no module reaches into another's private names."""
import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def project_files() -> list[Path]:
    return [p for p in ROOT.rglob("*.py") if not {".venv", "runs", "build"} & set(p.relative_to(ROOT).parts)]


def test_realtime_never_imports_training():
    """The exported encoder file is the app's only contract with training (lazy imports count too)."""
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p)
                                                  if m.split(".")[:2] == ["focovil", "training"])
                 for p in (ROOT / "realtime").rglob("*.py")}
    assert not {k: v for k, v in offenders.items() if v}


def test_every_import_uses_the_one_package_name():
    """``realtime`` and ``training`` are ``focovil.realtime`` and ``focovil.training``: a bare import would
    load a second copy of a module (or another project's ``realtime``)."""
    bare = {str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if m.split(".")[0] in ("realtime", "training"))
            for p in project_files()}
    assert not {k: v for k, v in bare.items() if v}


def test_nothing_but_the_entry_points_imports_the_command_module():
    """The window, retraining and the benchmarks go through realtime.session, not the CLI's module."""
    allowed = {"main.py"}
    users = [str(p.relative_to(ROOT)) for p in project_files() if str(p.relative_to(ROOT)) not in allowed
             and "focovil.realtime.cli" in imported_modules(p) and p != ROOT / "realtime" / "cli.py"]
    assert not users


def test_the_checker_sees_imports(tmp_path):
    """The rule above would pass vacuously if the parser missed imports."""
    f = tmp_path / "m.py"
    f.write_text("import training.train\nfrom focovil.training.loop import x\ndef g():\n    from realtime.cli import main\n"
                 "from . import sibling\n")
    assert imported_modules(f) == {"training.train", "focovil.training.loop", "realtime.cli"}


def _names_and_strings(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.alias):
            out.add(node.name.split(".")[-1])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.add(node.value)
    return out


CHOOSERS = ("training/choose.py", "training/camera_open_set.py", "training/open_set.py", "training/sweep.py",
            "training/train.py", "training/loop.py", "training/retrain.py", "training/retrain_checks.py",
            "training/retrain_inputs.py", "training/data/totalcapture.py", "training/export.py",
            "training/camera_sweep.py", "training/camera_head.py", "training/exported.py", "training/data/vicon_views.py",
            "benchmarks/spotting_choice.py")


def test_code_that_chooses_or_trains_never_reads_the_measurement_only_capture():
    """The two-camera capture (videos/multiview_lightstage) measures; nothing that trains, calibrates or
    chooses a setting may name it, or the evaluation module that loads it."""
    bad = {}
    for rel in CHOOSERS:
        found = {s for s in _names_and_strings(ROOT / rel)
                 if "lightstage" in s.lower() or s == "evaluate_mediapipe"}
        if found:
            bad[rel] = sorted(found)
    assert not bad


def test_the_capture_checker_sees_names(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("from training.data.video_skeletons import LIGHTSTAGE\nx = 'videos/multiview_lightstage/cam5.mp4'\n")
    assert {"LIGHTSTAGE", "videos/multiview_lightstage/cam5.mp4"} <= _names_and_strings(f)


def test_a_module_has_one_name():
    """In a checkout, ``focovil.realtime`` is the ``realtime/`` folder, and a plain ``import realtime`` is
    refused rather than loading the same files a second time under another name."""
    r = subprocess.run([sys.executable, "-c", "import focovil.realtime.skeleton as s; print(s.__file__); import realtime"],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert Path(r.stdout.strip()) == ROOT / "realtime" / "skeleton.py", r.stderr[-2000:]
    assert r.returncode != 0 and "import focovil.realtime, not realtime" in r.stderr, r.stderr[-2000:]


MAX_MODULE_LINES, MAX_CLASS_LINES = 300, 200
DOCUMENTED = {"os._exit", "sys._getframe"}     # the standard library's public names that start with "_"


def app_modules() -> list[Path]:
    return sorted(p for d in ("realtime", "training") for p in (ROOT / d).rglob("*.py"))


def sizes(path: Path) -> tuple[int, dict[str, int]]:
    """``(lines of the module, {class: lines})``."""
    text = path.read_text()
    tree = ast.parse(text, filename=str(path))
    return len(text.splitlines()), {n.name: n.end_lineno - n.lineno + 1 for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}


def private_reaches(path: Path) -> list[str]:
    """Where a module uses another module's or object's private names: ``from m import _x``, ``m._x``
    on an imported name, ``self.part._x`` on an object it holds."""
    tree = ast.parse(path.read_text(), filename=str(path))
    imported = set()
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            out += [f"{node.lineno}: from {node.module or '.'} import {a.name}" for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")]
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imported |= {(a.asname or a.name).split(".")[0] for a in node.names}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
            continue
        owner = node.value
        on_import = isinstance(owner, ast.Name) and owner.id in imported
        on_held = isinstance(owner, ast.Attribute) and isinstance(owner.value, ast.Name) and owner.value.id == "self"
        if (on_import or on_held) and ast.unparse(node) not in DOCUMENTED:
            out.append(f"{node.lineno}: {ast.unparse(node)}")
    return out


def test_modules_and_classes_stay_small():
    """About 300 lines a module and 200 a class in the app and training code: past that a module holds
    more than one job (the house style; split it rather than raise these)."""
    big = {}
    for p in app_modules():
        lines, classes = sizes(p)
        too_big = [f"class {c}: {n}" for c, n in classes.items() if n > MAX_CLASS_LINES]
        if lines > MAX_MODULE_LINES:
            too_big.insert(0, f"{lines} lines")
        if too_big:
            big[str(p.relative_to(ROOT))] = too_big
    assert not big


def test_nothing_reaches_into_another_modules_private_names():
    reaches = {str(p.relative_to(ROOT)): r for p in app_modules() if (r := private_reaches(p))}
    assert not reaches


def test_the_size_and_privacy_checkers_see_what_they_look_for(tmp_path):
    """The two rules above would pass vacuously if the checkers missed what they check."""
    f = tmp_path / "m.py"
    f.write_text("from focovil.realtime.pose import _quiet\nimport focovil.training.data.totalcapture as tc\n"
                 "class A:\n    def f(self):\n        self._mine = tc._root()\n        return self.video._image\n"
                 + "x = 1\n" * 300)
    lines, classes = sizes(f)
    assert lines == 306 and classes == {"A": 4}
    assert sorted(private_reaches(f)) == ["1: from focovil.realtime.pose import _quiet", "5: tc._root", "6: self.video._image"]


def test_the_shared_data_root_is_one_setting(tmp_path, monkeypatch):
    """``../shared`` as recipes and encoder files write it, the tests' data and the benchmarks' all come
    from ``realtime.paths.shared_root``: ``$FOCOVIL_SHARED`` moves every one of them."""
    from focovil.realtime.paths import shared_path, shared_root
    from focovil.training.config import DEFAULT_NWUCLA
    monkeypatch.setenv("FOCOVIL_SHARED", str(tmp_path))
    assert shared_root() == tmp_path and shared_path(DEFAULT_NWUCLA) == tmp_path / "data/nw-ucla/all_sqe"
    assert shared_path("elsewhere/data") == Path("elsewhere/data")
    monkeypatch.delenv("FOCOVIL_SHARED")
    assert shared_root() == ROOT.parent / "shared"
    # nothing else spells out where the shared folder is
    spelled = {str(p.relative_to(ROOT)) for p in project_files()
               if any(s in p.read_text() for s in ('/ "shared"', "parent.parent.parent", '"../shared"'))}
    assert spelled <= {"realtime/paths.py", "tests/test_layout.py"}, spelled
