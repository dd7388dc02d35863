"""Every registered layer type round-trips through get_config/from_config (issue 2 acceptance)."""

import copy
import json

import numpy as np
import pytest

import engine  # noqa: F401  (registers every layer type)
from engine.layers.base import LAYER_TYPES, layer_from_config

from layer_examples import LAYER_EXAMPLES


def _cases():
    return sorted(LAYER_TYPES)


def _inputs(layer, shapes, rng):
    if getattr(layer, "integer_inputs", False):
        high = int(getattr(layer, "input_dim", 10))
        return [rng.integers(0, high, size=(2,) + tuple(s)) for s in shapes]
    return [rng.standard_normal((2,) + tuple(s)).astype(np.float32) for s in shapes]


@pytest.mark.parametrize("type_name", _cases())
def test_config_round_trip(type_name):
    examples = LAYER_EXAMPLES.get(type_name)
    if not examples:
        pytest.fail(
            f"layer type {type_name} has no example in tests/layer_examples.py: please add one, e.g. "
            f"LAYER_EXAMPLES['{type_name}'] = [{{'config': {{...}}, 'input_shapes': [(...)]}}]"
        )
    for example in examples:
        cfg = copy.deepcopy(example["config"])
        shapes = [tuple(s) for s in example["input_shapes"]]
        layer = layer_from_config(type_name, {**cfg, "name": "node"})
        assert layer.type_name == type_name
        saved = layer.get_config()
        text = json.dumps(saved)  # JSON-safe
        again = layer_from_config(type_name, json.loads(text))
        assert again.get_config() == saved
        assert again.name == "node"
        for key, value in cfg.items():
            got = saved.get(key)
            if isinstance(value, (list, tuple)):
                assert list(got) == list(value), key
            else:
                assert got == value, key
        if type_name == "Input":
            assert again.output_shape([]) == layer.output_shape([]) == shapes[0]
            continue
        assert again.output_shape(shapes) == layer.output_shape(shapes)
        # same settings + same seed -> same weights and the same inference output
        layer.build(shapes, rng=np.random.default_rng(5), dtype=np.float32)
        again.build(shapes, rng=np.random.default_rng(5), dtype=np.float32)
        assert sorted(layer.params) == sorted(again.params)
        for k in layer.params:
            np.testing.assert_array_equal(layer.params[k], again.params[k])
        if shapes:
            assert layer.param_count(shapes) == layer.param_count()
        xs = _inputs(layer, shapes, np.random.default_rng(0))
        y1 = layer.forward(*xs, training=False)
        y2 = again.forward(*xs, training=False)
        np.testing.assert_allclose(y1, y2, rtol=1e-6, atol=1e-6)
        assert y1.shape[1:] == tuple(layer.output_shape(shapes))


def test_unknown_type_and_bad_settings_give_config_errors():
    from engine.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown layer type 'Dens'"):
        layer_from_config("Dens", {})
    with pytest.raises(ConfigError):
        layer_from_config("Dense", {"units": 3, "colour": "red"})
    with pytest.raises(ConfigError):
        layer_from_config("Dense", {"units": -1})
    with pytest.raises(ConfigError):
        layer_from_config("Activation", {"kind": "swishy"})
    with pytest.raises(ConfigError):
        layer_from_config("Dropout", {"rate": 1.5})
    with pytest.raises(ConfigError):
        layer_from_config("Dense", {"units": 3, "initializer": "magic"})
