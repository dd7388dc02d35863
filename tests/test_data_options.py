"""Declared data-set options (engine.data OptionSpec): every data set declares what its loader
takes, the declarations check values with readable messages, and what documents mean is unchanged."""

import glob
import json
import os

import pytest

import engine  # noqa: F401  (registers the sequence data sets too)
from engine.data import (
    DATASET_OPTIONS, DATASETS, OptionSpec, check_dataset_options, dataset_names, dataset_options, declare_options, load_dataset,
    register_dataset, validate_data,
)
from engine.errors import DataError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_registered_data_set_declares_its_options():
    """The data sets that take options declare them (a new one may take none), each with help and
    a valid range."""
    builtin = {"circle", "xor", "gaussian", "spiral", "plane", "digits", "mnist", "names", "dates"}
    assert builtin <= set(dataset_names())
    for name in dataset_names():
        if name.startswith("_"):
            continue  # registered by other tests
        specs = dataset_options(name)
        assert specs or name not in builtin, f"data set {name} declares no options"
        assert len({s.name for s in specs}) == len(specs)
        for s in specs:
            assert s.help and len(s.help) > 20, (name, s.name)
            if s.kind in ("int", "float", "percent"):
                assert s.lo is not None and s.hi is not None and s.lo < s.hi, (name, s.name)
                if s.default is not None:
                    assert s.lo <= s.default <= s.hi


@pytest.mark.parametrize("name", ["circle", "spiral", "plane", "digits", "dates", "names"])
def test_declared_numbers_at_their_ends_are_accepted_by_the_loader(name):
    """The declared range is the loader's: a value at each end loads (the loader would raise a
    DataError for an undeclared key or a value it does not take)."""
    big = {"n": 2000, "tx": 40, "per_class": 3}  # a few ends are too slow to load in a test
    for spec in dataset_options(name):
        if spec.kind not in ("int", "percent") or spec.advanced:
            continue
        for value in (spec.lo, min(spec.hi, big.get(spec.name, spec.hi))):
            value = int(value) if spec.kind == "int" else value
            cfg = {"name": name, "options": {spec.name: value}, "split": {"dev": 0.1, "test": 0.2}}
            assert validate_data(cfg)["options"][spec.name] == value
            splits = load_dataset(cfg)
            assert sum(splits.sizes()) > 0


def test_bad_values_get_clear_messages():
    cases = [
        ({"name": "spiral", "options": {"noise": 150}}, "between 0 and 100"),
        ({"name": "spiral", "options": {"n": 12.5}}, "whole number"),
        ({"name": "spiral", "options": {"n": "many"}}, "must be a number"),
        ({"name": "digits", "options": {"per_class": 0}}, "between 1 and 500"),
        ({"name": "digits", "options": {"size": 3}}, "unknown option(s) for data set 'digits': size"),
        ({"name": "names", "options": {"corpus": "poems"}}, "must be one of names"),
        ({"name": "digits", "split": {"dev": 0.5, "test": 0.5}}, "leave nothing to train on"),
        ({"name": "digits", "seed": -1}, "whole number in [0, 2^32)"),
        ({"name": "no_such_set"}, "unknown data set 'no_such_set'"),
    ]
    for cfg, words in cases:
        with pytest.raises(DataError) as info:
            validate_data(cfg)
        assert words in str(info.value), (cfg, str(info.value))


def test_documents_mean_what_they_meant():
    """Every preset's data section passes unchanged (options are not filled in or rewritten), and a
    fraction noise (0.1) and a percentage (10) still load the same points."""
    for path in glob.glob(os.path.join(ROOT, "presets", "*.json")):
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)["data"]
        assert validate_data(data)["options"] == data.get("options", {}), path
    a = load_dataset({"name": "circle", "options": {"noise": 0.1}})
    b = load_dataset({"name": "circle", "options": {"noise": 10}})
    assert (a.y_train == b.y_train).all() and a.info["noise"] == b.info["noise"] == pytest.approx(0.1)
    # a fraction train ratio (0.6) is the same 60 % as a percentage, and both are accepted
    for ratio in (0.6, 60):
        cfg = {"name": "xor", "options": {"train_ratio": ratio}}
        assert validate_data(cfg)["options"] == {"train_ratio": ratio}
        assert load_dataset(cfg).sizes()[2] == 200
    with pytest.raises(DataError, match="between 1 and 99"):
        validate_data({"name": "xor", "options": {"train_ratio": 0.005}})
    noise = dict((s.name, s) for s in dataset_options("circle"))["noise"]
    assert noise.display_value(0.1) == pytest.approx(10) and noise.display_value(25) == 25


def test_registering_keeps_or_replaces_declared_options():
    def loader(options, split, seed):
        import numpy as np

        return np.zeros((20, 2), np.float32), np.arange(20) % 2, {}

    spec = OptionSpec("k", "int", 1, 1, 5, help="a test option with a sentence of help")
    try:
        declare_options("_opt_test", (spec,))
        register_dataset("_opt_test", loader, "test only")  # no options=: the declaration stays
        assert dataset_options("_opt_test") == (spec,)
        assert check_dataset_options("_opt_test", {"k": 3.0}) == {"k": 3}
        register_dataset("_opt_test", loader, "test only", options=())
        assert dataset_options("_opt_test") == ()
        assert check_dataset_options("_opt_test", {"anything": 1}) == {"anything": 1}  # nothing declared
        with pytest.raises(ValueError):
            OptionSpec("x", "colour")
    finally:
        DATASETS.pop("_opt_test", None)
        DATASET_OPTIONS.pop("_opt_test", None)
