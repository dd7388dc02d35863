"""Learning-rate schedules against their formulas."""

import math

import pytest

from engine.errors import ConfigError
from engine.schedules import Constant, Exponential, InverseTime, Staircase, get_schedule


def test_constant():
    s = get_schedule({"type": "constant"})
    assert isinstance(s, Constant)
    assert [s(0.1, e) for e in range(4)] == [0.1] * 4
    assert isinstance(get_schedule(None), Constant)


def test_inverse_time():
    s = get_schedule({"type": "inverse_time", "decay_rate": 0.5})
    assert isinstance(s, InverseTime)
    for e in range(6):
        assert s(0.2, e) == pytest.approx(0.2 / (1 + 0.5 * e))
    assert s(0.2, 2) == pytest.approx(0.1)


def test_exponential():
    s = get_schedule({"type": "exponential", "decay_rate": 0.9})
    assert isinstance(s, Exponential)
    for e in range(6):
        assert s(0.1, e) == pytest.approx(0.1 * 0.9 ** e)
    assert get_schedule({"type": "exponential", "rate": 0.5})(1.0, 3) == pytest.approx(0.125)


def test_staircase():
    s = get_schedule({"type": "staircase", "decay_rate": 0.5, "step": 3})
    assert isinstance(s, Staircase)
    got = [s(1.0, e) for e in range(8)]
    assert got == pytest.approx([1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25])
    for e in range(20):
        assert s(0.3, e) == pytest.approx(0.3 * 0.5 ** math.floor(e / 3))


def test_config_round_trip():
    for cfg in ({"type": "constant"}, {"type": "inverse_time", "decay_rate": 0.1},
                {"type": "exponential", "decay_rate": 0.95}, {"type": "staircase", "decay_rate": 0.5, "step": 10}):
        assert get_schedule(cfg).get_config() == cfg
    assert get_schedule("staircase").get_config() == {"type": "staircase", "decay_rate": 0.5, "step": 10}


@pytest.mark.parametrize("cfg, words", [
    ({"type": "cosine"}, "unknown learning-rate schedule"),
    ({"type": "exponential", "decay_rate": 1.5}, "decay_rate must be in"),
    ({"type": "exponential", "decay_rate": 0}, "decay_rate must be in"),
    ({"type": "inverse_time", "decay_rate": -1}, "decay_rate must be >= 0"),
    ({"type": "staircase", "step": 0}, "step must be"),
    ({"type": "staircase", "step": 2.5}, "step must be"),
    ({"type": "constant", "decay_rate": 0.5}, "no option 'decay_rate'"),
    ({"type": "exponential", "decay_rate": "x"}, "must be a number"),
    ({"type": "exponential", "rate": 0.5, "decay_rate": 0.5}, "not both"),
    ([1], "must be a name"),
])
def test_bad_configs(cfg, words):
    with pytest.raises(ConfigError, match=words):
        get_schedule(cfg)
