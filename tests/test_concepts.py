"""The concept index (engine/concepts.py): every concept of the course notes is findable, and every
concept the index calls available points to something that exists (engine side; the widgets and
panels are checked against a real main window in test_gui_concepts.py)."""

import pytest

from engine import concepts as C

NOTES = C.notes_path()
needs_notes = pytest.mark.skipif(NOTES is None, reason="COURSE_NOTES.txt not found")


@pytest.fixture(scope="module")
def notes_text():
    return NOTES.read_text(encoding="utf-8")


def test_keys_are_unique_and_fields_are_filled():
    keys = [c.key for c in C.CONCEPTS]
    assert len(keys) == len(set(keys))
    for c in C.CONCEPTS:
        assert c.status in C.STATUSES, c.key
        assert c.title and c.section and len(c.notes) > 30 and len(c.where) > 15, c.key
        for kind, _value in c.targets:
            assert kind in C.ENGINE_KINDS + C.GUI_KINDS, (c.key, kind)
        if c.show is not None:
            assert c.show[0] in C.SHOW_KINDS, c.key


def test_available_concepts_point_to_real_things():
    problems = []
    for c in C.CONCEPTS:
        if c.status == "coming":
            continue
        assert c.targets, f"{c.key} is {c.status} but names nothing in the app"
        refs = list(c.targets) + ([c.show] if c.show else [])
        for kind, value in refs:
            if kind in C.ENGINE_KINDS:
                msg = C.check_target(kind, value)
                if msg:
                    problems.append(f"{c.key}: {msg}")
    assert not problems, "\n".join(problems)


def test_coming_concepts_say_so_and_show_nothing():
    coming = [c for c in C.CONCEPTS if c.status == "coming"]
    keys = {c.key for c in coming}
    # the features the product has not built yet are listed, honestly
    assert {"yolo", "nms_iou", "anchor_boxes", "triplet_loss", "style_transfer", "speech_trigger",
            "cosine_similarity", "negative_sampling", "debiasing"} <= keys
    for c in coming:
        assert c.where.lower().startswith("coming"), c.key
        assert c.show is None, c.key


def test_check_target_rejects_what_does_not_exist():
    assert C.check_target("layer", "Dense") == ""
    assert "no registered layer" in C.check_target("layer", "YoloHead")
    assert C.check_target("option", "Conv2D.stride") == ""
    assert "no option" in C.check_target("option", "Conv2D.dilation_rate")
    assert "no preset" in C.check_target("preset", "alexnet")
    assert C.check_target("cli", "gradcheck") == ""
    assert "subcommand" in C.check_target("cli", "detect")
    assert C.check_target("engine", "engine.metrics.diagnose") == ""
    assert C.check_target("engine", "engine.metrics.no_such_function") != ""
    assert "no training setting" in C.check_target("setting", "momentum")


@needs_notes
def test_every_heading_of_the_notes_has_a_concept(notes_text):
    headings = C.notes_headings(notes_text)
    # the parser finds the notes' section titles, not their paragraphs
    assert len(headings) > 60
    for expected in ("Batch Norm", "Res Net .", "YOLO Algorithm", "Attention Model.", "Inception Layer"):
        assert expected in headings
    assert all(len(h) <= 70 for h in headings)
    missing = [h for h in headings if h not in C.NOT_CONCEPTS and not C.concepts_for_heading(h)]
    assert not missing, f"notes headings with no concept: {missing}"


@needs_notes
def test_claimed_headings_are_really_in_the_notes(notes_text):
    allowed = {C.normalise(h) for h in C.notes_headings(notes_text) + C.paragraph_titles(notes_text)}
    bad = [(c.key, h) for c in C.CONCEPTS for h in c.headings if C.normalise(h) not in allowed]
    assert not bad


@needs_notes
def test_every_titled_paragraph_of_the_notes_is_found_by_search(notes_text):
    titles = C.paragraph_titles(notes_text)
    assert "Leaky ReLu" in titles and "Bleu Score" in titles
    lost = [t for t in titles if not C.search(t)]
    assert not lost, f"searching these notes titles finds nothing: {lost}"


@pytest.mark.parametrize("query, key", [
    ("momentum", "momentum"), ("dropout", "dropout"), ("weight decay", "l2_regularization"),
    ("LeNet-5", "lenet5"), ("resnet", "resnet"), ("inception", "inception"), ("attention", "attention"),
    ("Bayes", "bayes_error"), ("F1", "f1_score"), ("IoU", "nms_iou"), ("beam search", "conditional_lm"),
    ("freeze", "transfer_learning"), ("vanishing", "vanishing_exploding"), ("1x1", "one_by_one"),
])
def test_search_puts_the_obvious_concept_first(query, key):
    found = C.search(query)
    assert found and found[0].key == key, [c.key for c in found[:3]]


def test_search_filters_by_status_and_needs_every_word():
    coming = C.search("", status="coming")
    assert coming and all(c.status == "coming" for c in coming)
    assert C.search("") == list(C.CONCEPTS)
    assert C.search("zzzz nothing like this") == []
    both = C.search("batch norm")
    assert both[0].key == "batch_norm"


def test_course_presets_are_where_the_brief_says():
    assert C.get("resnet").show == ("preset", "resnet_mini")
    assert C.get("inception").show == ("preset", "inception_mini")
    assert C.get("attention").show == ("preset", "dates_attention")
    assert C.get("lenet5").show == ("preset", "lenet5")


def test_concepts_for_a_layer_start_with_the_main_one():
    assert C.concepts_for("layer", "Conv2D")[0].key == "convnet"
    assert C.concepts_for("layer", "Dropout")[0].key == "dropout"
    assert {c.key for c in C.concepts_for("layer", "Conv2D")} >= {"stride", "cross_correlation", "channels"}
    assert C.concepts_for("layer", "NoSuchLayer") == []
