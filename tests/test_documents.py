"""The documents agree with the files: every number of a Markdown file that carries a source tag
(``tests/doc_numbers.py``: an invisible ``<!-- from FILE: PATH -->`` right after it) equals the value in
that JSON of ``docs/experiments/`` or that encoder file's metadata, rounded as shown. The tag travels
with the number, so the check follows it to whatever document or section it moves to."""
from __future__ import annotations

import json
import re

import pytest

from doc_numbers import COMMENT, ROOT, TAG, Sources, check_text, documents, find_tags, numbers_in, tags_in_code

SOURCES = Sources()
DOCS = documents()


def test_the_project_documents_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in DOCS}
    assert {"README.md", "weights/README.md"} <= names, names


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_tagged_number_agrees_with_its_source(doc):
    problems = check_text(doc.read_text(), doc.relative_to(ROOT).as_posix(), SOURCES)
    assert not problems, f"{len(problems)} number(s) disagree with their source:\n" + "\n".join(problems)


def test_no_tag_stands_inside_code():
    """Inside a code span or block a comment is shown as text: the tag goes after the span."""
    inside = {doc.relative_to(ROOT).as_posix(): tags_in_code(doc.read_text()) for doc in DOCS}
    assert not any(inside.values()), inside
    assert tags_in_code("`[B, 32<!-- from focovil_app.pt: window -->]`") == [1]
    assert tags_in_code("`python x\n--json y.json` gives 32<!-- from focovil_app.pt: window -->") == []


def test_the_model_card_and_readme_carry_their_tags():
    """The measured tables stay tagged: a rewrite that drops the tags wholesale fails here, not silently."""
    counts = {name: sum(len(t.items) for t in find_tags((ROOT / name).read_text(), name))
              for name in ("README.md", "weights/README.md")}
    assert counts["weights/README.md"] >= 350 and counts["README.md"] >= 180, counts


# ---- the checker checks: a wrong number, a missing file or key, a bad tag each fail ------------------

PROTO = "focovil_protocol.pt: metrics.cross-view.encoder"


def test_a_right_number_passes_and_a_wrong_one_is_caught():
    knn1 = SOURCES.value("focovil_protocol.pt", ["metrics", "cross-view", "encoder", "knn1"])
    right = f"{100 * knn1:.1f}"
    wrong = f"{100 * knn1 + 0.1:.1f}"
    assert check_text(f"kNN-1 {right}<!-- from {PROTO}.knn1 x100 -->") == []
    problems = check_text(f"kNN-1 {wrong}<!-- from {PROTO}.knn1 x100 -->")
    assert len(problems) == 1 and f"shows {wrong}" in problems[0]
    # the scale is part of the claim: the fraction shown as a percentage without x100 is wrong
    assert check_text(f"kNN-1 {right}<!-- from {PROTO}.knn1 -->")
    # rounding: one decimal stands for half a unit of its last place, no more
    assert check_text(f"{100 * knn1:.0f}<!-- from {PROTO}.knn1 x100 -->") == []
    assert check_text(f"{100 * knn1 + 0.06:.2f}<!-- from {PROTO}.knn1 x100 -->")


def test_a_wrong_number_in_the_real_model_card_is_caught():
    """The card as it stands, with the shipped protocol file's kNN-1 shown 0.1 higher than its metadata."""
    card = (ROOT / "weights/README.md").read_text()
    (line,) = [x for x in card.splitlines() if x.startswith("| shipped `focovil_protocol.pt` (seed 0) |")]
    shown = find_tags(line)[0].shown[0]
    wrong = line.replace(f"| {shown.text} |", f"| {shown.value + 0.1:.1f} |", 1)
    assert wrong != line and check_text(card, "weights/README.md", SOURCES) == []
    problems = check_text(card.replace(line, wrong), "weights/README.md", SOURCES)
    assert len(problems) == 1 and "metrics.cross-view.encoder.knn1" in problems[0], problems


def test_several_sources_in_one_tag_check_the_numbers_before_it_in_order():
    cv = SOURCES.load("focovil_protocol.pt")["metrics"]["cross-view"]
    k, lin = 100 * cv["encoder"]["knn1"], 100 * cv["encoder"]["linear"]
    row = f"| shipped (seed 0) | {k:.1f} | {lin:.1f}<!-- from {PROTO}.{{knn1,linear}} x100 --> |"
    assert check_text(row) == []
    swapped = f"| shipped (seed 0) | {lin:.1f} | {k:.1f}<!-- from {PROTO}.{{knn1,linear}} x100 --> |"
    assert len(check_text(swapped)) == 2
    # a second tag on the line claims only what stands after the first
    two = f"{k:.1f}<!-- from {PROTO}.knn1 x100 --> and {lin:.1f}<!-- from {PROTO}.linear x100 -->"
    assert check_text(two) == []
    assert check_text(f"{k:.1f}<!-- from {PROTO}.knn1 x100 --> and<!-- from {PROTO}.linear x100 -->")


def test_a_tag_to_a_missing_file_or_key_or_with_too_few_numbers_fails():
    assert "not found" in check_text("1.0<!-- from no_such_experiment.json: a.b -->")[0]
    assert "not found" in check_text("1.0<!-- from no_such_encoder.pt: fps -->")[0]
    assert "has no 'metrics.cross-view.encoder.knn2'" in check_text(f"86.0<!-- from {PROTO}.knn2 x100 -->")[0]
    assert "has no item" in check_text("1<!-- from focovil_app.pt: train_views.7 -->")[0]
    assert "not a number" in check_text("1<!-- from focovil_app.pt: code_version -->")[0]
    assert "only 1 numbers" in check_text(f"86.0<!-- from {PROTO}.{{knn1,linear}} x100 -->")[0]
    assert "names no file" in check_text("86.0<!-- from metrics.fps -->")[0]
    assert "one line" in check_text("86.0<!-- from focovil_app.pt:\n fps -->")[0]


def test_keys_with_dots_and_spaces_list_items_alternatives_and_scales_are_read():
    t = find_tags("x 1 2 3 4<!-- from a.json: results[encoder + motion 0.1].{mean,std}; "
                  "b.pt: list.-1 x100 & c.json: v[w {0,0.1}].x x-1 -->")
    assert len(t) == 1 and "joined by '&'" in t[0].error and "name different numbers of values" in t[0].error
    (t,) = find_tags("x 1 2 3 4<!-- from a.json: results[encoder + motion 0.1].{mean,std}; "
                     "b.pt: list.-1 x100 & c.json: v[w {0.1}].x x-1 -->")
    assert t.error == "" and [s.text for s in t.shown] == ["2", "3", "4"]
    assert t.items == [
        [("a.json", ["results", "encoder + motion 0.1", "mean"], 1.0)],
        [("a.json", ["results", "encoder + motion 0.1", "std"], 1.0)],
        [("b.pt", ["list", "-1"], 100.0), ("c.json", ["v", "w 0.1", "x"], -1.0)]]
    novel = SOURCES.load("novel_motion_hybrid.json")["app_recipe_heldout"]["novel-nwucla"]["hybrid_w0.3"]["knn1"]
    assert check_text(f"{100 * novel['mean']:.1f}<!-- from novel_motion_hybrid.json: "
                      "app_recipe_heldout.novel-nwucla[hybrid_w0.3].knn1.mean x100 -->") == []


def test_several_sources_joined_by_and_must_each_agree():
    tag = "<!-- from focovil_app.pt: window & focovil_protocol.pt: window -->"
    window = int(SOURCES.value("focovil_app.pt", ["window"]))
    assert check_text(f"windows of {window}{tag} frames") == []
    assert len(check_text(f"windows of {window + 1}{tag} frames")) == 2
    typo = f"{window}<!-- from focovil_app.pt: window & focovil_protocol.pt: windo -->"
    assert "has no 'windo'" in check_text(typo)[0]


def test_a_comment_that_names_a_source_but_is_not_a_tag_is_refused():
    """``<!-- form x.json: ... -->`` or ``<!-- x.json: ... -->`` would be skipped silently: every comment that
    names a JSON or encoder file with a colon must be a source tag."""
    stray = []
    for doc in DOCS:
        for m in COMMENT.finditer(doc.read_text()):
            if re.search(r"[\w/]\.(?:json|pt)\s*:", m.group(0)) and not TAG.fullmatch(m.group(0)):
                stray.append(f"{doc.relative_to(ROOT)}: {m.group(0)[:80]}")
    assert not stray, stray


def test_numbers_are_read_with_their_signs_and_not_from_names():
    assert [s.text for s in numbers_in("kNN-1 86.0 / top-5 −2.5, 4.4-5.2 s, end -0.87, v03, 68,616 frames")] \
        == ["86.0", "-2.5", "4.4", "5.2", "-0.87", "68,616"]


def test_the_recipe_the_model_card_names_for_the_shipped_app_file_is_the_one_its_metadata_holds():
    """The card once said the shipped app file keeps ``app.json`` and elsewhere ``app_cameras.json``: the
    file's own training settings (metadata ``config``) decide, and the card's current claim must match."""
    config = SOURCES.load("focovil_app.pt")["config"]

    def matches(recipe: str) -> bool:
        settings = json.loads((ROOT / "training/recipes" / recipe).read_text())
        return all(config.get(k) == v for k, v in settings.items())

    assert matches("app_cameras.json") and not matches("app.json")
    card = " ".join(COMMENT.sub("", (ROOT / "weights/README.md").read_text()).split())
    assert "shipped app file is trained since with `app_cameras.json`" in card
    assert "shipped app file keeps `app.json`" not in card
