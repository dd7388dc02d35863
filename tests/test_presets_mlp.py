"""The spiral and digits MLP presets: structure, and (slow) the accuracy `nnplay train` reaches."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from engine.io import load_document

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_digits_mlp_structure():
    doc = load_document("digits_mlp")
    net = doc.network
    shapes = net.infer_shapes()
    assert shapes["input"] == (1, 28, 28)
    order = net.topological_order()
    assert net[order[1]].type_name == "Flatten" and shapes[order[1]] == (784,)
    dense = [n for n in order if net[n].type_name == "Dense"]
    assert [shapes[n] for n in dense] == [(128,), (64,), (10,)]
    assert [net[n].kind for n in order if net[n].type_name == "Activation"] == ["relu", "relu", "softmax"]
    assert doc.training["loss"] == "softmax_cross_entropy" and doc.training["optimizer"]["type"] == "adam"
    assert doc.data["name"] == "digits"
    assert doc.data["split"]["test"] == 0.2  # the 1,000 held-out images


def test_digits_mlp_bn_has_batchnorm_and_dropout():
    doc = load_document("digits_mlp_bn")
    types = [doc.network[n].type_name for n in doc.network.topological_order()]
    assert types.count("BatchNorm") == 2 and types.count("Dropout") == 2
    assert doc.network.infer_shapes()["input"] == (1, 28, 28)


def test_spiral_is_a_playground_classifier():
    doc = load_document("spiral")
    shapes = doc.network.infer_shapes()
    assert shapes["input"] == (2,) and shapes[doc.network.outputs[0]] == (2,)
    assert doc.data["name"] == "spiral"


@pytest.mark.parametrize("name", ["spiral", "digits_mlp", "digits_mlp_bn"])
def test_layout_left_to_right(name):
    doc = load_document(name)
    xs = [doc.network.nodes[n].meta["pos"][0] for n in doc.network.topological_order()]
    assert xs == sorted(xs) and all(b - a >= 150 for a, b in zip(xs, xs[1:]))


def _train_json(preset):
    exe = shutil.which("nnplay")
    cmd = [exe] if exe else [sys.executable, "-m", "engine"]
    proc = subprocess.run(cmd + ["train", os.path.join(REPO, "presets", preset + ".json"), "--json"],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert any(line.startswith("epoch ") for line in lines)
    return json.loads(lines[-1])


@pytest.mark.slow
def test_spiral_preset_reaches_95_percent():
    result = _train_json("spiral")
    assert result["test_accuracy"] >= 0.95, result


@pytest.mark.slow
def test_digits_mlp_preset_reaches_92_percent():
    result = _train_json("digits_mlp")
    assert result["epochs"] == load_document("digits_mlp").training["epochs"]
    assert result["test_accuracy"] >= 0.92, result
