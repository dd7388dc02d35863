"""Data sets: TensorFlow-Playground toy sets, bundled digits, full MNIST (IDX/npz, download)."""

import functools
import gzip
import hashlib
import http.server
import os
import threading

import numpy as np
import pytest

from engine.data import (
    DATASETS, Splits, download_mnist, load_dataset, make_splits, read_idx, read_mnist, register_dataset, write_idx,
)
from engine.errors import DataError, EngineError

TOYS = ["circle", "xor", "gaussian", "spiral", "plane"]


# -- toy sets ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", TOYS)
def test_toy_shapes_types_and_range(name):
    s = load_dataset({"name": name, "options": {"noise": 20}})
    n = 1200 if name == "plane" else 500
    assert sum(s.sizes()) == n
    assert s.sizes() == (n - round(0.1 * n) - round(0.2 * n), round(0.1 * n), round(0.2 * n))
    assert s.input_shape == (2,)
    for x in (s.x_train, s.x_dev, s.x_test):
        assert x.dtype == np.float32 and x.shape[1:] == (2,)
    allx = np.concatenate([s.x_train, s.x_dev, s.x_test])
    assert np.abs(allx).max() <= 6.0 + 1e-6
    if name == "plane":
        assert s.task == "regression" and s.y_train.shape == (len(s.x_train), 1)
        assert s.y_train.dtype == np.float32 and np.abs(s.y_train).max() <= 1.0
    else:
        assert s.task == "classification" and s.classes == ["orange (-1)", "blue (+1)"]
        assert s.y_train.dtype == np.int64 and set(np.unique(s.y_train)) == {0, 1}


@pytest.mark.parametrize("name", TOYS)
def test_toy_deterministic_from_seed(name):
    a = load_dataset({"name": name, "options": {"noise": 10}, "seed": 3})
    b = load_dataset({"name": name, "options": {"noise": 10}, "seed": 3})
    c = load_dataset({"name": name, "options": {"noise": 10}, "seed": 4})
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.x_train, c.x_train)


def test_toy_labels_follow_the_playground_rules_without_noise():
    s = load_dataset({"name": "circle", "options": {"n": 400, "noise": 0}})
    r = np.hypot(s.x_train[:, 0], s.x_train[:, 1])
    assert np.all((r < 2.5) == (s.y_train == 1))
    assert np.all((r <= 2.5) | (r >= 3.5))  # the gap between the disc and the ring
    s = load_dataset({"name": "xor", "options": {"noise": 0}})
    assert np.all((s.x_train[:, 0] * s.x_train[:, 1] >= 0) == (s.y_train == 1))
    s = load_dataset({"name": "plane", "options": {"noise": 0}})
    np.testing.assert_allclose(s.y_train[:, 0], np.clip((s.x_train[:, 0] + s.x_train[:, 1]) / 10, -1, 1), atol=1e-6)
    s = load_dataset({"name": "gaussian", "options": {"noise": 0}})
    centre1 = s.x_train[s.y_train == 1].mean(0)
    centre0 = s.x_train[s.y_train == 0].mean(0)
    assert np.allclose(centre1, [2, 2], atol=0.3) and np.allclose(centre0, [-2, -2], atol=0.3)


def test_noise_percent_equals_fraction_and_changes_data():
    a = load_dataset({"name": "spiral", "options": {"noise": 25}})
    b = load_dataset({"name": "spiral", "options": {"noise": 0.25}})
    c = load_dataset({"name": "spiral", "options": {"noise": 0}})
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)
    assert a.info["noise"] == pytest.approx(0.25)


def test_train_ratio_and_n():
    s = load_dataset({"name": "xor", "options": {"n": 200, "train_ratio": 70}, "split": {"dev": 0.0, "test": 0.2}})
    assert s.sizes() == (140, 0, 60)
    s = load_dataset({"name": "xor", "options": {"n": 200, "train_ratio": 0.5}, "split": {"dev": 0.2, "test": 0.1}})
    assert s.sizes() == (80, 20, 100)


@pytest.mark.parametrize("cfg, words", [
    ({"name": "nope"}, "unknown data set"),
    ({"name": "spiral", "options": {"colour": 1}}, "unknown option"),
    ({"name": "spiral", "options": {"noise": "lots"}}, "noise"),
    ({"name": "spiral", "options": {"noise": 500}}, "between"),
    ({"name": "spiral", "options": {"n": 2.5}}, "whole number"),
    ({"name": "spiral", "split": {"dev": 0.5, "test": 0.5}}, "nothing to train"),
    ({"name": "spiral", "split": {"dev": -0.1}}, "fraction"),
    ({"name": "spiral", "split": {"train": 0.5}}, "unknown key"),
    ({"name": "spiral", "seed": -1}, "seed"),
    ({"name": "spiral", "bogus": 1}, "unknown key"),
    ({}, "name"),
    ([1, 2], "object"),
])
def test_bad_data_settings_give_clear_errors(cfg, words):
    with pytest.raises(DataError, match=words):
        load_dataset(cfg)


def test_register_dataset_with_arrays_is_split_and_stratified():
    def fn(options, split, seed):
        x = np.arange(100, dtype=np.float32)[:, None]
        y = np.repeat([0, 1, 2, 3], 25)
        return x, y, {"classes": ["a", "b", "c", "d"]}

    register_dataset("_test_arrays", fn, "test only")
    try:
        s = load_dataset({"name": "_test_arrays", "split": {"dev": 0.2, "test": 0.2}})
        assert s.sizes() == (60, 20, 20)
        assert np.bincount(s.y_test).tolist() == [5, 5, 5, 5]
        assert s.classes == ["a", "b", "c", "d"] and s.name == "_test_arrays"
        seen = np.concatenate([s.x_train, s.x_dev, s.x_test])[:, 0]
        assert sorted(seen.tolist()) == list(range(100))  # a partition: nothing lost, nothing shared
        # x and y stay aligned after shuffling
        assert np.all(s.y_train == (s.x_train[:, 0] // 25).astype(int))
    finally:
        DATASETS.pop("_test_arrays")


def test_make_splits_rejects_mismatched_lengths():
    with pytest.raises(DataError, match="targets"):
        make_splits(np.zeros((5, 2)), np.zeros(4), {"dev": 0.1, "test": 0.2}, 0)


# -- bundled digits ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    return load_dataset({"name": "digits", "split": {"dev": 0.1, "test": 0.2}, "seed": 0})


def test_digits_shapes_and_values(digits):
    assert isinstance(digits, Splits)
    assert digits.sizes() == (3500, 500, 1000)
    assert digits.input_shape == (1, 28, 28)
    assert digits.x_train.dtype == np.float32 and digits.x_train.shape[1:] == (1, 28, 28)
    assert digits.x_train.min() == 0.0 and digits.x_train.max() == 1.0
    # ink bright on dark: most pixels are background (0)
    assert (digits.x_test == 0).mean() > 0.7
    assert digits.classes == [str(d) for d in range(10)]
    assert np.bincount(digits.y_test, minlength=10).tolist() == [100] * 10
    assert np.bincount(digits.y_dev, minlength=10).tolist() == [50] * 10


def test_digits_parts_do_not_overlap(digits):
    def keys(x):
        return {row.tobytes() for row in (x * 255).round().astype(np.uint8).reshape(len(x), -1)}

    train, dev, test = keys(digits.x_train), keys(digits.x_dev), keys(digits.x_test)
    assert not (train & test) and not (dev & test) and not (train & dev)


def test_digits_split_fixed_by_seed(digits):
    again = load_dataset({"name": "digits", "seed": 0})
    np.testing.assert_array_equal(again.x_test, digits.x_test)
    other = load_dataset({"name": "digits", "seed": 1})
    assert not np.array_equal(other.y_test, digits.y_test) or not np.array_equal(other.x_test, digits.x_test)


def test_digits_per_class_option():
    s = load_dataset({"name": "digits", "options": {"per_class": 20}, "split": {"dev": 0.0, "test": 0.5}})
    assert s.sizes() == (100, 0, 100)
    with pytest.raises(DataError):
        load_dataset({"name": "digits", "options": {"per_class": 501}})


def test_cached_digits_are_read_only_so_no_caller_corrupts_them():
    from engine.data import digits_arrays

    images, labels = digits_arrays()
    first, label0 = images[0].copy(), int(labels[0])
    with pytest.raises(ValueError):
        images[0] = 255
    with pytest.raises(ValueError):
        labels[:] = 0
    with pytest.raises(ValueError):
        images.setflags(write=True)  # a view of the cache cannot be made writable
    with pytest.raises(ValueError):
        np.add(images, 1, out=images)
    again_images, again_labels = digits_arrays()
    np.testing.assert_array_equal(again_images[0], first)
    assert int(again_labels[0]) == label0
    mine = images.copy()  # a copy is the caller's own
    mine[0] = 0
    assert digits_arrays()[0][0].any()
    s = load_dataset({"name": "digits", "options": {"per_class": 5}})
    s.x_train[0] = 7.0  # the splits are fresh arrays, free to edit
    assert digits_arrays()[0].max() == 255


@pytest.mark.parametrize("augment", [None, {"shift": 2, "rotate": 10, "scale": 0.1, "thickness": 0.3}])
@pytest.mark.parametrize("batch_size", [16, 1000])  # minibatches, and batch gradient descent
def test_training_and_augmentation_never_write_into_the_data(augment, batch_size):
    """Training (with or without augmentation, minibatches or the whole set as one batch) reads
    the data and never writes into it: every split is made read-only, so one write would raise."""
    from engine import Network
    from engine.layers import Activation, Dense, Flatten, Input
    from engine.training import Trainer
    from engine.data import digits_arrays

    cache = digits_arrays()[0].copy()
    s = load_dataset({"name": "digits", "options": {"per_class": 8}, "split": {"dev": 0.25, "test": 0.25}})
    frozen = {}
    for k in ("x_train", "y_train", "x_dev", "y_dev", "x_test", "y_test"):
        a = getattr(s, k)
        frozen[k] = a.copy()
        a.setflags(write=False)
    net = Network()
    h = net.add(Input((1, 28, 28)), name="x")
    h = net.add(Flatten(), [h], name="flat")
    h = net.add(Dense(16), [h], name="hidden")
    h = net.add(Activation("relu"), [h], name="relu")
    net.add(Dense(10), [h], name="logits")
    result = Trainer(net, s, {"epochs": 2, "batch_size": batch_size, "seed": 0, "augment": augment},
                     callback=lambda e: None, throttle=0).run()
    assert result["stopped"] == "finished"
    for k, a in frozen.items():
        np.testing.assert_array_equal(getattr(s, k), a)
    np.testing.assert_array_equal(digits_arrays()[0], cache)


# -- full MNIST: IDX / npz ------------------------------------------------------------------------
def _fake_mnist(folder, n_train=30, n_test=10, gz=True):
    rng = np.random.default_rng(0)
    ext = ".gz" if gz else ""
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": np.arange(n_train, dtype=np.uint8) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": np.arange(n_test, dtype=np.uint8) % 10,
    }
    os.makedirs(folder, exist_ok=True)
    for name, a in arrays.items():
        write_idx(os.path.join(folder, name + ext), a)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_idx_round_trip(tmp_path, gz):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    p = tmp_path / ("a.idx" + (".gz" if gz else ""))
    write_idx(p, a)
    np.testing.assert_array_equal(read_idx(p), a)


def test_idx_errors(tmp_path):
    p = tmp_path / "bad.idx"
    write_idx(p, np.zeros((4, 5), np.uint8))
    raw = p.read_bytes()
    p.write_bytes(raw[:-3])
    with pytest.raises(DataError, match="truncated"):
        read_idx(p)
    p.write_bytes(b"\x01\x02" + raw[2:])
    with pytest.raises(DataError, match="magic"):
        read_idx(p)
    p.write_bytes(gzip.compress(raw)[:20])
    with pytest.raises(DataError):
        read_idx(p)
    with pytest.raises(DataError):
        read_idx(tmp_path / "missing.idx")


def test_mnist_from_idx_folder_and_npz(tmp_path):
    arrays = _fake_mnist(tmp_path / "idx", gz=False)
    s = load_dataset({"name": "mnist", "options": {"path": str(tmp_path / "idx")}, "split": {"dev": 0.2}})
    assert s.sizes() == (24, 6, 10)
    assert s.x_test.shape == (10, 1, 28, 28) and s.x_test.dtype == np.float32
    np.testing.assert_allclose(s.x_test[:, 0] * 255, arrays["t10k-images-idx3-ubyte"], atol=1e-3)
    np.testing.assert_array_equal(s.y_test, arrays["t10k-labels-idx1-ubyte"])
    npz = tmp_path / "mnist.npz"
    np.savez(npz, x_train=arrays["train-images-idx3-ubyte"], y_train=arrays["train-labels-idx1-ubyte"],
             x_test=arrays["t10k-images-idx3-ubyte"], y_test=arrays["t10k-labels-idx1-ubyte"])
    s2 = load_dataset({"name": "mnist", "options": {"path": str(npz)}, "split": {"dev": 0.2}})
    np.testing.assert_array_equal(s2.x_test, s.x_test)
    np.testing.assert_array_equal(s2.y_train, s.y_train)


def test_mnist_bad_files(tmp_path):
    with pytest.raises(DataError, match="no MNIST files"):
        read_mnist(tmp_path / "nowhere")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(DataError, match="x_train"):
        read_mnist(tmp_path / "other.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all")
    with pytest.raises(DataError):
        read_mnist(tmp_path / "junk.npz")
    with pytest.raises(DataError, match="path"):
        load_dataset({"name": "mnist", "options": {"cache_dir": str(tmp_path / "empty")}})


# -- download against a local server ---------------------------------------------------------------
class _Handler(http.server.SimpleHTTPRequestHandler):
    requests = []

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - http.server API
        type(self).requests.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "served"
    arrays = _fake_mnist(root, gz=True)
    _Handler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    sums = {f: hashlib.sha256((root / f).read_bytes()).hexdigest() for f in os.listdir(root)}
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/", sums, arrays
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_download_with_cache_and_checksums(tmp_path, server):
    url, sums, arrays = server
    cache = tmp_path / "cache"
    folder = download_mnist(cache, base_url=url, checksums=sums)
    assert sorted(os.listdir(folder)) == sorted(sums)
    assert len(_Handler.requests) == 4
    x_tr, y_tr, x_te, y_te = read_mnist(folder)
    np.testing.assert_array_equal(x_tr, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(y_te, arrays["t10k-labels-idx1-ubyte"])
    # cached: a second call fetches nothing
    download_mnist(cache, base_url=url, checksums=sums)
    assert len(_Handler.requests) == 4
    # a damaged cached file is fetched again
    (cache / "t10k-labels-idx1-ubyte.gz").write_bytes(b"damaged")
    download_mnist(cache, base_url=url, checksums=sums)
    assert len(_Handler.requests) == 5
    assert hashlib.sha256((cache / "t10k-labels-idx1-ubyte.gz").read_bytes()).hexdigest() == sums["t10k-labels-idx1-ubyte.gz"]
    # and the data set loads from the cache folder through a document's data dict
    s = load_dataset({"name": "mnist", "options": {"cache_dir": str(cache)}, "split": {"dev": 0.1}})
    assert len(s.x_test) == 10


def test_download_checksum_mismatch_leaves_no_partial_file(tmp_path, server):
    url, sums, _ = server
    bad = dict(sums)
    bad["train-labels-idx1-ubyte.gz"] = "0" * 64
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="checksum mismatch for train-labels-idx1-ubyte.gz"):
        download_mnist(cache, base_url=url, checksums=bad)
    left = os.listdir(cache)
    assert "train-labels-idx1-ubyte.gz" not in left
    assert not [f for f in left if f.endswith(".part")]


def test_download_errors_are_data_errors(tmp_path, server):
    url, sums, _ = server
    with pytest.raises(DataError, match="cannot download"):
        download_mnist(tmp_path / "c", base_url=url + "missing/", checksums=sums)
    assert not [f for f in os.listdir(tmp_path / "c") if f.endswith(".part")]
    with pytest.raises(EngineError):
        download_mnist(tmp_path / "c2", base_url="http://127.0.0.1:9/", checksums=sums, timeout=5)


def test_nnplay_download_mnist(tmp_path, server, monkeypatch, capsys):
    from engine import cli
    from engine.data import mnist

    url, sums, _ = server
    official = mnist.MNIST_SHA256
    monkeypatch.setattr(mnist, "MNIST_SHA256", sums)
    assert cli.main(["download-mnist", "--cache-dir", str(tmp_path / "c"), "--base-url", url]) == 0
    assert sorted(os.listdir(tmp_path / "c")) == sorted(sums)
    assert "SHA-256 checked" in capsys.readouterr().out
    # with the official checksums the fake files are refused: a clear one-line error, exit 2
    monkeypatch.setattr(mnist, "MNIST_SHA256", official)
    assert cli.main(["download-mnist", "--cache-dir", str(tmp_path / "d"), "--base-url", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnplay: error: checksum mismatch") and len(err.strip().splitlines()) == 1
    assert os.listdir(tmp_path / "d") == []
