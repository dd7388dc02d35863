"""The convolutional presets: valid documents, summaries with shapes and parameter counts, clear
shape errors, and (slow) training to the stated accuracy on the 1,000 held-out bundled digits."""

import json

import numpy as np
import pytest

from engine import cli
from engine.graph import Network

CNN_PRESETS = ("lenet5", "digits_cnn", "resnet_mini", "inception_mini")


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", CNN_PRESETS)
def test_preset_is_a_valid_document_with_digits_shapes(name, load_preset_dict):
    doc = load_preset_dict(name)
    assert doc["format"] == "network-playground" and doc["version"] == 1
    assert doc["data"]["name"] == "digits"
    assert doc["description"]
    net = Network.from_config(doc["graph"])
    shapes = net.infer_shapes()
    assert shapes[net.inputs[0]] == (1, 28, 28)
    assert shapes[net.outputs[0]] == (10,)
    assert all("pos" in n.get("meta", {}) for n in doc["graph"]["nodes"])
    # counted before build == after build
    rows = {r["name"]: r["params"] for r in net.summary_rows()}
    net.build(0)
    for name_, node in net.nodes.items():
        assert rows[name_] == node.layer.param_count(), name_


def test_lenet5_shapes_and_parameter_counts(load_preset_dict):
    net = Network.from_config(load_preset_dict("lenet5")["graph"])
    shapes = net.infer_shapes()
    assert shapes["conv1"] == (6, 28, 28) and shapes["pool1"] == (6, 14, 14)
    assert shapes["conv2"] == (16, 10, 10) and shapes["pool2"] == (16, 5, 5)
    assert shapes["flatten"] == (400,)
    rows = {r["name"]: r["params"] for r in net.summary_rows()}
    assert rows["conv1"] == 6 * 25 + 6
    assert rows["conv2"] == 16 * 6 * 25 + 16
    assert rows["fc1"] == 400 * 120 + 120
    assert sum(rows.values()) == 61706  # the classic LeNet-5 count for this layout


@pytest.mark.parametrize("name", CNN_PRESETS)
def test_nnplay_summary_shows_shapes_and_counts(name, preset_path, capsys):
    code, out, err = run_cli(capsys, "summary", preset_path(name))
    assert code == 0, err
    assert "(None, 10)" in out and "Total params" in out
    doc = json.load(open(preset_path(name)))
    net = Network.from_config(doc["graph"])
    total = sum(r["params"] for r in net.summary_rows())
    assert f"Total params: {total}" in out
    for node in doc["graph"]["nodes"]:
        if node["type"] in ("Conv2D", "ResidualIdentityBlock", "ResidualConvBlock", "InceptionModule"):
            assert node["name"] in out


def test_summary_names_a_kernel_larger_than_its_input(preset_path, tmp_path, capsys):
    doc = json.load(open(preset_path("lenet5")))
    for node in doc["graph"]["nodes"]:
        if node["name"] == "conv2":
            node["config"]["kernel_size"] = 17  # its input is 14x14
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    code, out, err = run_cli(capsys, "summary", str(bad))
    assert code == 2
    assert "conv2" in err and "17x17 kernel" in err and "14x14 input" in err
    assert "Traceback" not in err


def _train(capsys, path, *extra):
    code, out, err = run_cli(capsys, "train", path, "--json", "--quiet", *extra)
    assert code == 0, err
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_digits_cnn_reaches_97_percent(preset_path, capsys):
    result = _train(capsys, preset_path("digits_cnn"))
    assert result["test_accuracy"] >= 0.97, result


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_lenet5_reaches_96_percent(preset_path, capsys):
    result = _train(capsys, preset_path("lenet5"))
    assert result["test_accuracy"] >= 0.96, result


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", ("resnet_mini", "inception_mini"))
def test_block_presets_learn(name, preset_path, capsys):
    # a short run (the presets' full 10 epochs reach ~0.97 (resnet_mini) and ~0.96 (inception_mini))
    result = _train(capsys, preset_path(name), "--epochs", "3")
    assert result["test_accuracy"] >= 0.9, result
    assert np.isfinite(result["train_loss"])
