"""The house rules that code review would otherwise have to remember: what may import what."""
import ast
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


def test_realtime_never_imports_training():
    """The exported encoder file is the app's only contract with training (lazy imports count too)."""
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imported_modules(p) if m.split(".")[0] == "training")
                 for p in (ROOT / "realtime").rglob("*.py")}
    assert not {k: v for k, v in offenders.items() if v}


def test_nothing_but_the_entry_points_imports_the_command_module():
    """The window, retraining and the benchmarks go through realtime.session, not the CLI's module."""
    allowed = {"main.py"}
    users = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")
             if ".venv" not in p.parts and str(p.relative_to(ROOT)) not in allowed
             and "realtime.app" in imported_modules(p) and p != ROOT / "realtime" / "app.py"]
    assert not users


def test_the_checker_sees_imports(tmp_path):
    """The rule above would pass vacuously if the parser missed imports."""
    f = tmp_path / "m.py"
    f.write_text("import training.train\nfrom training.loop import x\ndef g():\n    from realtime.app import main\n")
    assert imported_modules(f) == {"training.train", "training.loop", "realtime.app"}


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
            "training/camera_sweep.py", "training/camera_head.py", "training/exported.py", "training/data/vicon_views.py")


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
    f.write_text("from training.data.mediapipe import LIGHTSTAGE\nx = 'videos/multiview_lightstage/cam5.mp4'\n")
    assert {"LIGHTSTAGE", "videos/multiview_lightstage/cam5.mp4"} <= _names_and_strings(f)
