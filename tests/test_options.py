"""The session options mean the same wherever they stand: before the command or after it, for every
option and every command; a value given twice differently is refused; a library argument the app
cannot open as asked is refused and nothing is created. The writing commands are run for real
against a library named before and after the command, the user's default library beside them."""
import json
import shutil
from pathlib import Path

import pytest

from conftest import run_main
from focovil.realtime.command_line import parse_args
from focovil.realtime.options import SESSION_OPTIONS
from focovil.realtime.paths import DEFAULT_ENCODER, DEMO_CLIP, SHIPPED_LIBRARY

PROTOCOL_ENCODER = DEFAULT_ENCODER.parent / "focovil_protocol.pt"
COMMANDS = {"record": ["record", "--label", "x", "--video", "v.avi"], "library": ["library", "list"],
            "embed": ["embed", "--video", "v.avi", "--out", "e.npz"],
            "segments": ["segments", "--video", "v.avi", "--out", "s.json"]}
VALUES = {"--library": ["L.sqlite3"], "--encoder": ["E.pt"], "--pose-model": ["lite"], "--window": ["2.5"],
          "--stride": ["0.4"], "--strictness": ["40"], "--persons": ["2"], "--pose-fps": ["5"], "--pose-gpu": [],
          "--redetect": [], "--verbose": []}


def test_every_option_has_a_sample_value():
    assert set(VALUES) == {flag for flag, _field, _kw in SESSION_OPTIONS}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("flag", sorted(VALUES))
def test_an_option_before_or_after_the_command_gives_the_same_run(command, flag):
    option = [flag, *VALUES[flag]]
    cmd = COMMANDS[command]
    before, after, neither = (vars(parse_args(argv)) for argv in (option + cmd, cmd + option, cmd))
    assert before == after != neither
    assert before[flag.lstrip("-").replace("-", "_")] not in (None, False)


def test_the_same_value_in_both_places_is_accepted_and_a_different_one_refused_in_one_line(tmp_path):
    assert parse_args(["--strictness", "40", "library", "list", "--strictness", "40"]).strictness == 40
    r = run_main("--library", tmp_path / "a.sqlite3", "library", "list", "--library", tmp_path / "b.sqlite3")
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "--library is given twice" in r.stderr
    assert list(tmp_path.iterdir()) == []                       # neither library was created


@pytest.fixture()
def libraries(tmp_path, monkeypatch):
    """The user's default library (``$FOCOVIL_LIBRARY``) and another one, both copies of the shipped one."""
    default, other = tmp_path / "default.sqlite3", tmp_path / "other.sqlite3"
    for p in (default, other):
        shutil.copyfile(SHIPPED_LIBRARY, p)
    monkeypatch.setenv("FOCOVIL_LIBRARY", str(default))
    return default, other


def labels(path: Path) -> dict:
    return json.loads(run_main("library", "list", "--library", path).stdout)["labels"]


WRITES = {
    "record": (["record", "--label", "sip", "--video", str(DEMO_CLIP), "--start", "0", "--end", "2.5"],
               lambda before, after: after.get("sip", 0) >= 1 and {k: v for k, v in after.items() if k != "sip"} == before),
    "library delete": (["library", "delete", "falling"], lambda before, after: "falling" not in after and len(after) == len(before) - 1),
    "library rename": (["library", "rename", "falling", "fall"], lambda before, after: after.get("fall") == before["falling"]),
    "library import": (["library", "import", "{export}"], lambda before, after: after == {**before, "sip": 1}),
}


@pytest.mark.parametrize("where", ["before", "after"])
@pytest.mark.parametrize("command", sorted(WRITES))
def test_a_writing_command_changes_only_the_library_it_names(libraries, tmp_path, command, where):
    default, other = libraries
    cmd, changed_as_asked = WRITES[command]
    if "{export}" in cmd:                                      # a library file holding one "sip" prototype
        source = tmp_path / "source.sqlite3"
        assert run_main("record", "--library", source, "--label", "sip", "--video", DEMO_CLIP, "--end", "1.9").returncode == 0
        assert labels(source) == {"sip": 1}
        cmd = [c.replace("{export}", str(source)) for c in cmd]
    untouched, before = default.read_bytes(), labels(other)
    option = ["--library", str(other)]
    r = run_main(*(option + cmd if where == "before" else cmd + option))
    assert r.returncode == 0, r.stderr
    assert changed_as_asked(before, labels(other)), (before, labels(other))
    assert default.read_bytes() == untouched                  # the user's own library, byte for byte


@pytest.mark.parametrize("where", ["before", "after"])
def test_export_reads_the_library_it_names(libraries, tmp_path, where):
    default, other = libraries
    assert run_main("library", "delete", "falling", "--library", other).returncode == 0
    untouched, out = default.read_bytes(), tmp_path / "exported.sqlite3"
    option, cmd = ["--library", str(other)], ["library", "export", str(out)]
    assert run_main(*(option + cmd if where == "before" else cmd + option)).returncode == 0
    assert labels(out) == labels(other) and "falling" not in labels(out)
    assert default.read_bytes() == untouched


@pytest.mark.parametrize("command", ["embed", "segments"])
def test_an_encoder_given_before_the_command_is_the_one_used(libraries, tmp_path, command):
    _default, other = libraries
    out = tmp_path / ("e.npz" if command == "embed" else "s.json")
    r = run_main("--encoder", PROTOCOL_ENCODER, "--library", other, command, "--video", DEMO_CLIP, "--out", out)
    assert r.returncode == 0, r.stderr
    said = json.loads(r.stdout.splitlines()[-1]) if command == "embed" else json.loads(out.read_text())
    assert said["encoder"] == PROTOCOL_ENCODER.name != DEFAULT_ENCODER.name


@pytest.mark.parametrize("case", ["url", "folder", "not a library", "missing folder"])
@pytest.mark.parametrize("command", [["library", "list"], ["record", "--label", "x", "--video", str(DEMO_CLIP)]])
def test_a_library_the_app_cannot_open_is_refused_and_nothing_is_created(tmp_path, monkeypatch, case, command):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("my notes\n")
    arg = {"url": "postgresql://user@host:5432/db", "folder": str(tmp_path), "not a library": "notes.txt",
           "missing folder": "nowhere/lib.sqlite3"}[case]
    r = run_main(*command, "--library", arg)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stderr.startswith("error: ") and ("library" in r.stderr or "notes.txt" in r.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    assert (tmp_path / "notes.txt").read_text() == "my notes\n"
