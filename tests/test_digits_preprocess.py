"""MNIST-style preprocessing of drawn digits, picture loading and the user's sample store (no Qt)."""

import os

import numpy as np
import pytest

from engine.data import digits_arrays
from engine.errors import DataError
from engine.vision import digits as vd


def _bundled(n=50):
    images, labels = digits_arrays()
    return images[:n].astype(np.float32) / 255.0, labels[:n]


def _enlarge(digit, factor):
    """A 28x28 digit blown up ``factor`` times with smooth (bilinear) interpolation."""
    h, w = digit.shape
    ys = (np.arange(h * factor) + 0.5) / factor - 0.5
    xs = (np.arange(w * factor) + 0.5) / factor - 0.5
    y0 = np.clip(np.floor(ys).astype(int), 0, h - 1)
    x0 = np.clip(np.floor(xs).astype(int), 0, w - 1)
    y1, x1 = np.clip(y0 + 1, 0, h - 1), np.clip(x0 + 1, 0, w - 1)
    fy = np.clip(ys - y0, 0, 1)[:, None]
    fx = np.clip(xs - x0, 0, 1)[None, :]
    a = digit[y0][:, x0] * (1 - fx) + digit[y0][:, x1] * fx
    b = digit[y1][:, x0] * (1 - fx) + digit[y1][:, x1] * fx
    return (a * (1 - fy) + b * fy).astype(np.float32)


def test_output_is_a_28x28_frame_with_the_digit_in_a_20x20_box_centred_by_mass():
    img = np.zeros((280, 280), np.float32)
    img[40:200, 150:170] = 1.0          # a tall bar, off centre
    img[40:60, 110:170] = 1.0           # with a flag: a "7"-like shape
    out = vd.mnist_preprocess(img)
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    top, bottom, left, right = vd.bounding_box(out, 0.01)
    assert bottom - top == 20            # the longer side fills the 20-pixel box
    assert right - left <= 10            # the aspect (160 tall x 60 wide) is kept
    cy, cx = vd.centre_of_mass(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


def test_grey_levels_are_anti_aliased():
    img = np.zeros((280, 280), np.float32)
    img[30:250, 133:148] = 1.0          # a 15-pixel-wide stroke: 1.36 pixels once scaled to 20
    out = vd.mnist_preprocess(img)
    inner = out[(out > 0) & (out < 1)]
    assert inner.size >= 20              # partial pixels get grey levels, not 0/1 only
    # area averaging keeps the ink: each row holds 15 * 20/220 pixels' worth of it
    rows = out.sum(axis=1)
    assert np.allclose(rows[rows > 0][1:-1], 15 * 20 / 220, atol=1e-4)


def test_same_digit_at_another_size_and_place_gives_the_same_input():
    digit = _bundled(1)[0][0]
    a = np.zeros((300, 300), np.float32)
    a[10:10 + 280, 5:5 + 280] = _enlarge(digit, 10)
    b = np.zeros((400, 500), np.float32)
    b[150:150 + 196, 250:250 + 196] = _enlarge(digit, 7)
    pa, pb = vd.mnist_preprocess(a), vd.mnist_preprocess(b)
    assert np.corrcoef(pa.ravel(), pb.ravel())[0, 1] > 0.97
    assert np.abs(pa - pb).mean() < 0.03


def test_preprocessing_an_mnist_digit_changes_almost_nothing():
    # the bundled digits were made this way, so they are (nearly) fixed points
    x, _ = _bundled(100)
    out = np.stack([vd.mnist_preprocess(d) for d in x])
    corr = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(x, out)]
    assert min(corr) > 0.99
    # enlarged 10x (a digit drawn on the 280x280 pad) it also comes back close to itself
    corr_big = [np.corrcoef(d.ravel(), vd.mnist_preprocess(_enlarge(d, 10)).ravel())[0, 1] for d in x[:20]]
    assert np.mean(corr_big) > 0.95


def test_empty_drawing_gives_an_empty_frame_and_bad_input_a_clear_error():
    assert not vd.mnist_preprocess(np.zeros((280, 280))).any()
    with pytest.raises(DataError, match="grey image"):
        vd.mnist_preprocess(np.zeros((5, 5, 5)))
    with pytest.raises(DataError):
        vd.to_grey(np.zeros((4, 4, 7)))
    with pytest.raises(DataError, match="NaN"):
        vd.to_grey(np.full((4, 4), np.nan))
    with pytest.raises(DataError):
        vd.to_grey(np.array([["a", "b"], ["c", "d"]]))


def test_light_background_picture_is_inverted_and_colour_becomes_grey():
    digit = _bundled(1)[0][0]
    big = _enlarge(digit, 6)
    # black ink on off-white paper, as an RGB photo (uint8)
    paper = (235 - 200 * big).clip(0, 255)
    rgb = np.stack([paper, paper * 0.98, paper * 0.95], axis=-1).astype(np.uint8)
    dark = (255 * big).astype(np.uint8)
    a, b = vd.load_digit(rgb), vd.load_digit(dark)
    assert a.shape == b.shape == (28, 28)
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.97
    assert np.corrcoef(b.ravel(), digit.ravel())[0, 1] > 0.95
    # the background level is removed: paper gives 0, not 235/255 inverted to grey
    g = vd.ink_on_dark(vd.to_grey(rgb))
    assert np.median(g) < 0.02 and g.max() == pytest.approx(1.0)


def test_transparent_png_with_black_ink_reads_as_a_digit():
    digit = _bundled(1)[0][0]
    big = _enlarge(digit, 4)
    rgba = np.zeros(big.shape + (4,), np.uint8)   # black ink, alpha = ink
    rgba[..., 3] = (255 * big).astype(np.uint8)
    out = vd.load_digit(rgba)
    assert np.corrcoef(out.ravel(), digit.ravel())[0, 1] > 0.95


def test_as_network_input_and_probabilities():
    d = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    assert vd.as_network_input(d, (1, 28, 28)).shape == (1, 1, 28, 28)
    assert vd.as_network_input(np.stack([d, d]), (784,)).shape == (2, 784)
    with pytest.raises(DataError, match="not 28x28"):
        vd.as_network_input(d, (2,))
    p = np.array([[0.1, 0.9]])
    assert np.array_equal(vd.probabilities(p), p)            # already a softmax output
    logits = np.array([[1.0, 2.0, 3.0]])
    q = vd.probabilities(logits)
    assert q.sum() == pytest.approx(1.0) and np.argmax(q) == 2
    assert q[0, 2] / q[0, 1] == pytest.approx(np.e)


def test_samples_are_kept_in_an_npz_and_removable(tmp_path):
    path = tmp_path / "sub" / "digit_samples.npz"
    s = vd.DigitSamples(path)
    assert len(s) == 0 and not path.exists()
    x, y = _bundled(3)
    for d, lab in zip(x, y):
        s.add(d, int(lab))
    assert path.exists()
    with np.load(path, allow_pickle=False) as z:       # plain arrays, no pickle
        assert z["images"].shape == (3, 28, 28) and z["images"].dtype == np.uint8
        assert list(z["labels"]) == [int(v) for v in y]
    again = vd.DigitSamples(path)
    assert np.abs(again.inputs() - x).max() <= 0.5 / 255 + 1e-6
    again.remove(1)
    assert list(vd.DigitSamples(path).labels) == [int(y[0]), int(y[2])]
    assert [f for f in os.listdir(path.parent) if f != "digit_samples.npz"] == []   # no temp left
    with pytest.raises(DataError):
        again.remove(5)
    with pytest.raises(DataError, match="0-9"):
        again.add(x[0], 10)
    with pytest.raises(DataError, match="empty"):
        again.add(np.zeros((28, 28)), 3)
    with pytest.raises(DataError, match="28x28"):
        again.add(np.ones((8, 8)), 3)


def test_a_corrupt_samples_file_is_a_clear_error(tmp_path):
    path = tmp_path / "digit_samples.npz"
    path.write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="cannot read"):
        vd.DigitSamples(path)
    np.savez(path, images=np.zeros((2, 8, 8), np.uint8), labels=np.zeros(2, np.int64))
    with pytest.raises(DataError, match="28x28"):
        vd.DigitSamples(path)


def test_a_failed_samples_write_is_a_clear_error_and_changes_nothing(tmp_path):
    from engine.errors import EngineError

    blocker = tmp_path / "a_file"
    blocker.write_bytes(b"")
    samples = vd.DigitSamples(blocker / "digit_samples.npz")   # its folder cannot be created
    digit = np.zeros((28, 28), np.float32)
    digit[10:18, 12:16] = 1.0
    with pytest.raises(EngineError, match="cannot write"):
        samples.add(digit, 4)
    assert len(samples) == 0 and samples.images.shape == (0, 28, 28)


def test_fine_tune_data_repeats_own_samples_and_mixes_in_bundled_digits():
    x, y = _bundled(60)
    own_x, own_y = x[:3], np.array([7, 7, 1])
    fx, fy = vd.fine_tune_data(own_x, own_y, x[3:], y[3:], repeat=4, replay=20, seed=1)
    assert len(fx) == len(fy) == 3 * 4 + 20
    # every own sample is there ``repeat`` times with its (user's) label
    for d, lab in zip(own_x, own_y):
        hits = np.flatnonzero(np.all(fx.reshape(len(fx), -1) == d.ravel(), axis=1))
        assert len(hits) == 4 and np.all(fy[hits] == lab)
    with pytest.raises(DataError, match="add a few"):
        vd.fine_tune_data(np.zeros((0, 28, 28)), np.zeros(0, int))


def test_fine_tuning_learns_the_users_digits_without_forgetting_the_rest():
    """A network trained on the bundled digits fails on digits written "differently" (here:
    turned a quarter turn); fine-tuning on a few of them, mixed with replayed bundled digits,
    teaches them without losing the ordinary ones."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    # one BLAS thread: on a busy 2-core machine OpenBLAS's spinning threads make these small
    # matrix products up to 50x slower (engine.layers.conv does the same for convolutions)
    with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
        _fine_tune_check()


def _fine_tune_check():
    from engine.data import load_dataset
    from engine.io import load_document
    from engine.training import TrainConfig, Trainer

    doc = load_document(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                     "presets", "digits_mlp.json"))
    net = doc.network
    sp = load_dataset({"name": "digits", "options": {"per_class": 100}})
    cfg = dict(doc.training, epochs=6)
    Trainer(net, sp, TrainConfig.from_dict(cfg), prefetch=0).run()
    acc_before = np.mean(net.predict(sp.x_test).argmax(1) == sp.y_test)
    assert acc_before > 0.8
    # the user's style: digits 0-9 turned a quarter turn, 3 of each
    picks = np.concatenate([np.flatnonzero(sp.y_train == d)[:3] for d in range(10)])
    own_x = np.rot90(sp.x_train[picks, 0], 1, axes=(1, 2))
    own_y = sp.y_train[picks]
    own_acc = lambda: np.mean(net.predict(own_x[:, None]).argmax(1) == own_y)  # noqa: E731
    assert own_acc() < 0.4
    x, y = vd.fine_tune_data(own_x, own_y, sp.x_train[:, 0], sp.y_train, repeat=8, replay=256)
    tune = TrainConfig.from_dict(dict(doc.training, epochs=8, batch_size=32,
                                      optimizer=dict(doc.training["optimizer"], lr=0.0005)))
    data = type("D", (), {"x_train": x[:, None], "y_train": y, "x_dev": None, "y_dev": None,
                          "x_test": None, "y_test": None, "task": "classification", "info": {}})()
    Trainer(net, data, tune, prefetch=0).run()
    assert own_acc() >= 0.9
    acc_after = np.mean(net.predict(sp.x_test).argmax(1) == sp.y_test)
    assert acc_after >= acc_before - 0.08
