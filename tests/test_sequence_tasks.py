"""Sequence tasks: the dates data, the character model and `nnplay sample`, the dates preset's accuracy."""

import datetime
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import engine  # noqa: F401
from engine.cli import main as nnplay
from engine.data import load_dataset
from engine.errors import DataError
from engine.io import load_document
from engine.sequence import charlm, dates
from engine.sequence.decoding import beam_search, char_model_step, greedy_search, seq2seq_step
from engine.training import TrainConfig, Trainer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# -- dates data ---------------------------------------------------------------------------------------
def test_dates_generator_renders_the_target_date():
    human, iso = dates.random_dates(300, seed=4)
    assert len(set(human)) > 250
    for h, i in zip(human, iso):
        d = datetime.date.fromisoformat(i)
        assert 1950 <= d.year <= 2049
        assert h in dates._formats(d)
        assert len(h) <= dates.TX
        assert all(c in dates.HUMAN_VOCAB for c in h)  # nothing maps to <unk>
    forms = dates._formats(datetime.date(1979, 5, 3))
    assert "3 may 1979" in forms and "03.05.79" in forms and "thursday, may 3 1979" in forms


def test_dates_encoding_round_trip_and_dataset():
    ids = dates.encode_machine(["1979-05-03", "2002-03-05"])
    assert ids.shape == (2, 10)
    assert dates.decode_machine(ids) == ["1979-05-03", "2002-03-05"]
    x = dates.encode_human(["3 May 1979"])
    assert x.shape == (1, dates.TX) and x[0, 10:].sum() == 0
    s = load_dataset({"name": "dates", "options": {"n": 500}, "seed": 3})
    assert s.x_train.shape[1:] == (30,) and s.y_train.shape[1:] == (10,)
    assert s.y_train.max() < len(dates.MACHINE_VOCAB) and s.info["accuracy"] == "sequence"
    assert sum(s.sizes()) == 500
    with pytest.raises(DataError):
        load_dataset({"name": "dates", "options": {"colour": 1}})


def test_dates_preset_graph_fits_the_data():
    doc = load_document(os.path.join(ROOT, "presets", "dates_attention.json"))
    shapes = doc.network.infer_shapes()
    assert shapes["softmax"] == (dates.TY, len(dates.MACHINE_VOCAB))
    assert doc.network["embedding"].input_dim == len(dates.HUMAN_VOCAB)
    assert doc.data["name"] == "dates"


# -- character model ----------------------------------------------------------------------------------
def test_names_data_is_next_character_prediction():
    s = load_dataset({"name": "names", "split": {"dev": 0.05, "test": 0.1}})
    vocab = s.info["vocab"]
    assert vocab[0] == "\n" and len(vocab) == 27
    x, y = s.x_train.astype(int), s.y_train
    assert np.all(x[:, 0] == 0)
    for xi, yi in zip(x[:20], y[:20]):
        n = int(np.sum(yi >= 0))
        assert yi[n - 1] == 0  # the end mark
        np.testing.assert_array_equal(xi[1:n], yi[:n - 1])  # the target is the input shifted by one
        assert np.all(yi[n:] == -1)  # padding is ignored by the loss


def test_temperature_reshapes_the_distribution():
    p = np.array([[0.5, 0.3, 0.2]])
    np.testing.assert_allclose(charlm.apply_temperature(p, 1.0), p)
    cold, hot = charlm.apply_temperature(p, 0.2), charlm.apply_temperature(p, 5.0)
    entropy = lambda q: -np.sum(q * np.log(q))  # noqa: E731
    assert cold[0, 0] > 0.9 and entropy(cold) < entropy(p) < entropy(hot)
    with pytest.raises(DataError):
        charlm.apply_temperature(p, 0.0)


@pytest.fixture(scope="module")
def names_model():
    doc = load_document(os.path.join(ROOT, "presets", "char_names.json"))
    splits = load_dataset(doc.data)
    doc.network.build(seed=0)
    before = doc.network.get_weights()
    result = Trainer(doc.network, splits, TrainConfig.from_dict(doc.training, epochs=12)).run()
    return doc, splits, result, before


def test_char_model_learns_and_samples(names_model):
    doc, splits, result, _ = names_model
    assert result["history"]["train_loss"][-1] < 0.8 * result["history"]["train_loss"][0]
    vocab = splits.info["vocab"]
    words = charlm.sample(doc.network, vocab, count=30, temperature=0.8, seed=0)
    assert len(words) == 30 and all(set(w) <= set(vocab[1:]) for w in words)
    assert sum(len(w) >= 2 for w in words) >= 20
    # the same seed gives the same samples; a near-zero temperature is greedy and repeats itself
    assert words == charlm.sample(doc.network, vocab, count=30, temperature=0.8, seed=0)
    cold = charlm.sample(doc.network, vocab, count=5, temperature=1e-4, seed=1)
    assert len(set(cold)) == 1
    step = char_model_step(doc.network)
    greedy = greedy_search(step, eos=0, max_len=11)
    assert "".join(vocab[t] for t in greedy.tokens if t != 0) == cold[0]
    # beam search on the trained model: width 1 is greedy, wider is at least as good
    assert beam_search(step, eos=0, max_len=11, beam_width=1).tokens == greedy.tokens
    assert beam_search(step, eos=0, max_len=11, beam_width=4).score(0.7) >= greedy.score(0.7) - 1e-9
    starts = charlm.sample(doc.network, vocab, count=5, temperature=1.0, seed=2, prefix="ma")
    assert all(w.startswith("ma") for w in starts)


def test_nnplay_sample(names_model, tmp_path, capsys):
    from engine.io import save_model

    doc = names_model[0]
    path = str(tmp_path / "names.npz")
    save_model(doc, path)
    capsys.readouterr()
    assert nnplay(["sample", path, "--temperature", "0.7", "--count", "6", "--seed", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 6 and all(line.isalpha() for line in lines)
    assert nnplay(["sample", path, "--count", "4", "--seed", "3", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out.strip().splitlines()[-1])) == 4
    # bad input: one clear line, exit code 2
    assert nnplay(["sample", os.path.join(ROOT, "presets", "char_names.json")]) == 2
    assert "not a trained model" in capsys.readouterr().err
    assert nnplay(["sample", path, "--temperature", "-1"]) == 2
    assert "temperature" in capsys.readouterr().err


# -- the dates preset reaches its accuracy ------------------------------------------------------------
@pytest.mark.slow
def test_dates_preset_translates_held_out_dates(tmp_path):
    """`nnplay train presets/dates_attention.json --json`: exact-match accuracy on held-out dates >= 0.95."""
    out = str(tmp_path / "dates.npz")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")  # small GEMMs: threads only add contention
    proc = subprocess.run([sys.executable, "-m", "engine", "train", "presets/dates_attention.json", "--json",
                           "--quiet", "--save", out], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["test_accuracy"] >= 0.95, result
    from engine.io import load_model

    doc = load_model(out)
    net = doc.network
    assert dates.translate(net, ["3 may 1979", "tuesday, march 5 2002", "05.03.02"]) == [
        "1979-05-03", "2002-03-05", "2002-03-05"]
    assert net["attention_decoder"].last_weights.shape == (3, 10, 30)
    # the outputs are independent given the input: beam search agrees with greedy
    x = dates.encode_human(["21 jan 1999"])[0]
    step = seq2seq_step(net, x)
    g = greedy_search(step, eos=None, max_len=10)
    assert beam_search(step, eos=None, max_len=10, beam_width=3).tokens == g.tokens
    assert dates.decode_machine(g.tokens) == "1999-01-21"
