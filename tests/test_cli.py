"""The nnplay command line: train/summary/gradcheck/evaluate/predict, and one-line errors with exit 2."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from engine import cli
from engine.cli import RESULT_KEYS, main
from engine.io import load_model


@pytest.fixture
def doc_file(tmp_path, tiny_document):
    p = tmp_path / "tiny.json"
    p.write_text(json.dumps(tiny_document))
    return p


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _assert_clean_error(code, err, words):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nnplay: error: ") and words in lines[0]
    assert "Traceback" not in err


def test_train_json_last_line_and_epoch_lines(capsys, doc_file):
    code, out, err = _run(capsys, "train", doc_file, "--epochs", 4, "--json")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert sum(line.startswith("epoch ") for line in lines) == 4, out
    result = json.loads(lines[-1])
    assert set(RESULT_KEYS) <= set(result)
    assert result["epochs"] == 4
    assert 0.0 <= result["test_accuracy"] <= 1.0 and result["train_loss"] > 0
    assert 0 < result["seconds_per_epoch"] <= result["seconds"]


def test_train_overrides_save_evaluate_predict(capsys, tmp_path, doc_file):
    model = tmp_path / "model.npz"
    code, out, err = _run(capsys, "train", doc_file, "--epochs", 2, "--batch-size", 8, "--lr", 0.02,
                          "--optimizer", "momentum", "--seed", 3, "--save", model)
    assert code == 0, err
    doc = load_model(model)
    assert doc.training["epochs"] == 2 and doc.training["batch_size"] == 8 and doc.training["seed"] == 3
    assert doc.training["optimizer"]["type"] == "momentum" and doc.training["optimizer"]["lr"] == 0.02

    code, out, err = _run(capsys, "evaluate", model)
    assert code == 0, err
    for word in ("precision", "recall", "f1", "accuracy", "confusion matrix"):
        assert word in out
    code, out, err = _run(capsys, "evaluate", model, "--json")
    report = json.loads(out.strip().splitlines()[-1])
    assert report["n"] == 24  # 20 % of the 120 circle points
    cm = np.array(report["confusion_matrix"])
    assert cm.shape == (2, 2) and cm.sum() == 24
    assert report["accuracy"] == pytest.approx(np.trace(cm) / 24)

    x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out_path = tmp_path / "y.npy"
    code, out, err = _run(capsys, "predict", model, tmp_path / "x.npy", "--out", out_path)
    assert code == 0, err
    y = np.load(out_path, allow_pickle=False)
    np.testing.assert_allclose(y, doc.network.predict(x), rtol=1e-6)
    np.testing.assert_allclose(y.sum(1), 1.0, rtol=1e-5)
    # a single sample without the batch axis is accepted too
    np.save(tmp_path / "one.npy", x[0])
    code, out, err = _run(capsys, "predict", model, tmp_path / "one.npy", "--out", out_path)
    assert code == 0 and np.load(out_path).shape == (1, 2)
    # wrong shape: clear error
    np.save(tmp_path / "bad.npy", np.zeros((3, 5), np.float32))
    code, out, err = _run(capsys, "predict", model, tmp_path / "bad.npy", "--out", out_path)
    _assert_clean_error(code, err, "(n, 2)")


def test_summary(capsys):
    code, out, err = _run(capsys, "summary", "digits_mlp")
    assert code == 0, err
    assert "(None, 784)" in out and "100480" in out and "8256" in out and "650" in out
    assert "Total params: 109386" in out


def test_summary_reports_shape_errors(capsys, tmp_path, tiny_document):
    tiny_document["graph"]["nodes"].append({"name": "add", "type": "Add", "config": {}, "inputs": ["hidden", "scores"]})
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(tiny_document))
    code, out, err = _run(capsys, "summary", p)
    assert "add" in out and "!" in out  # the summary itself shows the error under the node
    _assert_clean_error(code, err, "add")


def test_gradcheck_passes_and_fails(capsys, doc_file, monkeypatch):
    code, out, err = _run(capsys, "gradcheck", doc_file)
    assert code == 0, err
    assert "hidden" in out and "scores" in out and "passed" in out
    errors = [float(line.split()[1]) for line in out.splitlines() if line.startswith(("hidden", "scores"))]
    assert len(errors) == 2 and max(errors) < 1e-6

    from engine.layers.core import Dense
    original = Dense.backward

    def wrong_backward(self, dy):
        dx = original(self, dy)
        self.grads["W"] *= 1.1  # a 10 % bug in dW
        return dx

    monkeypatch.setattr(Dense, "backward", wrong_backward)
    code, out, err = _run(capsys, "gradcheck", doc_file)
    assert code == 1
    assert "FAIL" in out and "FAILED" in out


@pytest.mark.parametrize("content, words", [
    (None, "no file or preset named"),
    ("{not json", "malformed JSON"),
    ('{"format": "something-else"}', "not a Network Playground document"),
    ("[1, 2, 3]", "expected a JSON object"),
])
def test_bad_files_exit_2_with_one_line(capsys, tmp_path, content, words):
    if content is None:
        target = "does_not_exist"
    else:
        target = tmp_path / "doc.json"
        target.write_text(content)
    for command in ("train", "summary", "gradcheck", "evaluate"):
        code, out, err = _run(capsys, command, target)
        _assert_clean_error(code, err, words)


def test_graph_errors_exit_2(capsys, tmp_path, tiny_document):
    cyc = json.loads(json.dumps(tiny_document))
    cyc["graph"]["nodes"][1]["inputs"] = ["input", "tanh"]
    unknown = json.loads(json.dumps(tiny_document))
    unknown["graph"]["nodes"][1]["type"] = "Quantum"
    option = json.loads(json.dumps(tiny_document))
    option["graph"]["nodes"][1]["config"]["colour"] = "red"
    data = json.loads(json.dumps(tiny_document))
    data["data"]["options"]["wiggle"] = 1
    for doc, words in ((cyc, "cycle"), (unknown, "unknown layer type 'Quantum'"), (option, "colour"),
                       (data, "wiggle")):
        p = tmp_path / "doc.json"
        p.write_text(json.dumps(doc))
        code, out, err = _run(capsys, "train", p, "--epochs", 1)
        _assert_clean_error(code, err, words)


def test_bad_arguments_exit_2(capsys, doc_file, tmp_path):
    code, out, err = _run(capsys, "train", doc_file, "--epochs", "many")
    _assert_clean_error(code, err, "--epochs")
    code, out, err = _run(capsys, "train", doc_file, "--epochs", 0)
    _assert_clean_error(code, err, "epochs")
    code, out, err = _run(capsys, "train", doc_file, "--optimizer", "magic")
    _assert_clean_error(code, err, "unknown optimizer")
    code, out, err = _run(capsys, "frobnicate")
    _assert_clean_error(code, err, "frobnicate")
    code, out, err = _run(capsys, "predict", doc_file, tmp_path / "missing.npy", "--out", tmp_path / "o.npy")
    _assert_clean_error(code, err, "missing.npy")


def test_list(capsys):
    code, out, err = _run(capsys, "list")
    assert code == 0
    for name in ("spiral", "digits_mlp", "digits_mlp_bn", "circle", "xor", "gaussian", "plane", "digits", "mnist"):
        assert name in out


def test_subcommand_table_is_extensible(capsys):
    seen = {}

    def add_args(p):
        p.add_argument("word")

    def run(args):
        seen["word"] = args.word
        return 0

    cli.register_subcommand("_echo", "test only", add_args, run)
    try:
        assert main(["_echo", "hello"]) == 0 and seen == {"word": "hello"}
    finally:
        cli.SUBCOMMANDS.pop("_echo")


def test_python_dash_m_engine_exits_2_without_traceback(tmp_path):
    p = tmp_path / "doc.json"
    p.write_text("{oops")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-m", "engine", "train", str(p)], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("nnplay: error:") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_ci_script_runs_the_readme_test_command():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ci = os.path.join(repo, ".ci", "run")
    assert os.access(ci, os.X_OK)
    script = open(ci, encoding="utf-8").read()
    readme = open(os.path.join(repo, "README.md"), encoding="utf-8").read()
    assert "set -euo pipefail" in script
    assert "pip install -e '.[test]'" in script and "python -m pytest" in script
    assert "pip install -e '.[test]' && python -m pytest" in readme
    assert "torch" not in script  # benchmarks are not part of CI
    for lib in ("libegl1", "libgl1", "libxkbcommon0", "libfontconfig1", "libdbus-1-3", "libpulse0"):
        assert lib in script
    assert '"$status" -eq 5' in script  # "no tests ran" fails too


def test_evaluate_scores_a_bce_logits_model_at_logit_zero(capsys, tmp_path, tiny_document):
    """A bce_logits network outputs logits: evaluate must call class 1 at z >= 0 (as the trainer does)."""
    from engine import metrics
    from engine.data import load_dataset
    from engine.io import document_from_dict, save_model

    d = tiny_document
    d["graph"]["nodes"] = d["graph"]["nodes"][:3] + [
        {"name": "logit", "type": "Dense", "config": {"units": 1}, "inputs": ["tanh"]}]
    d["training"]["loss"] = "bce_logits"
    doc = document_from_dict(d)
    doc.network.build(seed=0)
    model = tmp_path / "logits.npz"
    save_model(doc, model)
    splits = load_dataset(doc.data)
    z = doc.network.predict(splits.x_test)
    want = metrics.accuracy(z, splits.y_test, threshold=0.0)
    assert want != metrics.accuracy(z, splits.y_test, threshold=0.5)  # the threshold matters here
    code, out, err = _run(capsys, "evaluate", model, "--json")
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["accuracy"] == pytest.approx(want)
