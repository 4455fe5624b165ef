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
