"""Optimizers against hand-written references of the notes' formulas (and torch when present)."""

import math

import numpy as np
import pytest

from engine.errors import ConfigError
from engine.optimizers import SGD, Adam, Momentum, RMSprop, get_optimizer


class P:
    """A stand-in for engine.graph.Parameter."""

    def __init__(self, value, trainable=True):
        self.value = value
        self.grad = np.zeros_like(value)
        self.trainable = trainable


def _grads(n_steps, shape, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype(dtype) for _ in range(n_steps)]


def _run(opt_cls, w0, grads, **kw):
    p = P(w0.copy())
    opt = opt_cls([p], **kw)
    out = []
    for g in grads:
        p.grad[...] = g
        opt.step()
        out.append(p.value.copy())
    return out


def test_sgd_matches_formula():
    w0 = np.arange(6, dtype=np.float64).reshape(2, 3)
    grads = _grads(3, (2, 3))
    got = _run(SGD, w0, grads, lr=0.1)
    w = w0.copy()
    for g, x in zip(grads, got):
        w = w - 0.1 * g
        np.testing.assert_allclose(x, w, rtol=1e-12)


@pytest.mark.parametrize("bias_correction", [False, True])
def test_momentum_matches_formula(bias_correction):
    w0 = np.linspace(-1, 1, 6).reshape(3, 2)
    grads = _grads(5, (3, 2), seed=1)
    got = _run(Momentum, w0, grads, lr=0.05, beta=0.9, bias_correction=bias_correction)
    w, v = w0.copy(), np.zeros_like(w0)
    for t, (g, x) in enumerate(zip(grads, got), start=1):
        v = 0.9 * v + 0.1 * g
        v_hat = v / (1 - 0.9 ** t) if bias_correction else v
        w = w - 0.05 * v_hat
        np.testing.assert_allclose(x, w, rtol=1e-12, atol=1e-15)
    if bias_correction:
        # first step: the corrected average is the gradient itself
        np.testing.assert_allclose(got[0], w0 - 0.05 * grads[0], rtol=1e-12)


def test_rmsprop_matches_formula():
    w0 = np.linspace(-1, 1, 8)
    grads = _grads(6, (8,), seed=2)
    got = _run(RMSprop, w0, grads, lr=0.01, beta2=0.999, eps=1e-8)
    w, s = w0.copy(), np.zeros_like(w0)
    for g, x in zip(grads, got):
        s = 0.999 * s + 0.001 * g * g
        w = w - 0.01 * g / (np.sqrt(s) + 1e-8)
        np.testing.assert_allclose(x, w, rtol=1e-10)


def test_adam_matches_formula_with_bias_correction():
    w0 = np.linspace(-2, 2, 12).reshape(3, 4)
    grads = _grads(8, (3, 4), seed=3)
    got = _run(Adam, w0, grads, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8)
    w, v, s = w0.copy(), np.zeros_like(w0), np.zeros_like(w0)
    for t, (g, x) in enumerate(zip(grads, got), start=1):
        v = 0.9 * v + 0.1 * g
        s = 0.999 * s + 0.001 * g * g
        v_hat = v / (1 - 0.9 ** t)
        s_hat = s / (1 - 0.999 ** t)
        w = w - 0.01 * v_hat / (np.sqrt(s_hat) + 1e-8)
        np.testing.assert_allclose(x, w, rtol=1e-10)
    # bias correction: the first Adam step moves every weight by about lr * sign(g)
    np.testing.assert_allclose(w0 - got[0], 0.01 * np.sign(grads[0]), rtol=1e-5)


def test_adam_large_eps_uses_corrected_denominator():
    # with eps comparable to sqrt(s_hat) the placement of eps matters: check it is the notes' one
    w0 = np.zeros(3)
    g = np.array([1e-3, -2e-3, 5e-4])
    got = _run(Adam, w0, [g, g], lr=1.0, eps=1e-3)
    v = 0.1 * g
    s = 0.001 * g * g
    w1 = -(v / 0.1) / (np.sqrt(s / 0.001) + 1e-3)
    np.testing.assert_allclose(got[0], w1, rtol=1e-10)


def test_float32_stays_float32_and_in_place():
    w = np.ones((4, 5), dtype=np.float32)
    p = P(w)
    opt = Adam([p], lr=0.1)
    p.grad[...] = 0.5
    opt.step()
    assert p.value is w and w.dtype == np.float32
    assert np.allclose(w, 0.9, atol=1e-5)


def test_lr_change_takes_effect_without_reset():
    p = P(np.zeros(3))
    opt = Momentum([p], lr=0.1, beta=0.5)
    p.grad[...] = 1.0
    opt.step()  # v = 0.5, w = -0.05
    opt.lr = 1.0
    opt.step()  # v = 0.75, w = -0.05 - 0.75
    np.testing.assert_allclose(p.value, -0.8)
    assert opt.t == 2


def test_frozen_parameters_are_skipped():
    a, b = P(np.ones(2)), P(np.ones(2), trainable=False)
    opt = SGD([a, b], lr=1.0)
    a.grad[...] = b.grad[...] = 1.0
    opt.step()
    np.testing.assert_array_equal(a.value, 0.0)
    np.testing.assert_array_equal(b.value, 1.0)


@pytest.mark.parametrize("cls", [Momentum, RMSprop, Adam])
def test_state_dict_round_trip_continues_identically(cls):
    grads = _grads(6, (2, 3), seed=4)
    ref = _run(cls, np.ones((2, 3)), grads, lr=0.01)
    p = P(np.ones((2, 3)))
    opt = cls([p], lr=0.01)
    for g in grads[:3]:
        p.grad[...] = g
        opt.step()
    sd = opt.state_dict()
    p2 = P(p.value.copy())
    opt2 = cls([p2], lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.t == 3 and opt2.lr == 0.01
    for g in grads[3:]:
        p2.grad[...] = g
        opt2.step()
    np.testing.assert_allclose(p2.value, ref[-1], rtol=1e-12)


def test_adam_state_dict_holds_true_averages():
    p = P(np.zeros(2))
    opt = Adam([p], lr=0.01)
    p.grad[...] = [2.0, -1.0]
    opt.step()
    sd = opt.state_dict()
    np.testing.assert_allclose(sd["state/0/1"], [0.2, -0.1])
    np.testing.assert_allclose(sd["state/0/2"], [0.004, 0.001])


def test_get_optimizer_builds_and_validates():
    p = [P(np.zeros(2))]
    opt = get_optimizer({"type": "adam", "lr": 0.002, "beta1": 0.8}, p)
    assert isinstance(opt, Adam) and opt.lr == 0.002 and opt.beta1 == 0.8 and opt.beta2 == 0.999
    assert isinstance(get_optimizer("momentum", p), Momentum)
    assert isinstance(get_optimizer({"type": "gd"}, p), SGD)
    assert get_optimizer({"type": "sgd", "lr": 0.1}, p, lr=0.3).lr == 0.3
    assert get_optimizer({"type": "adam"}, p).get_config() == {
        "type": "adam", "lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


@pytest.mark.parametrize("cfg, words", [
    ({"type": "adamw"}, "unknown optimizer"),
    ({"type": "adam", "momentum": 0.9}, "no option 'momentum'"),
    ({"type": "sgd", "lr": -1}, "lr must be"),
    ({"type": "sgd", "lr": "fast"}, "lr must be a number"),
    ({"type": "adam", "beta1": 1.0}, "beta1 must be"),
    ({"type": "momentum", "bias_correction": "yes"}, "bias_correction"),
    ({"lr": 0.1}, "needs a 'type'"),
    (42, "must be a name"),
])
def test_get_optimizer_errors_are_clear(cfg, words):
    with pytest.raises(ConfigError, match=words):
        get_optimizer(cfg, [])


def test_adam_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    w0 = rng.normal(size=(5, 4))
    grads = [rng.normal(size=(5, 4)) for _ in range(10)]
    ours = _run(Adam, w0, grads, lr=0.01)[-1]
    tw = torch.tensor(w0.copy(), requires_grad=True)
    topt = torch.optim.Adam([tw], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    for g in grads:
        tw.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(ours, tw.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_rmsprop_and_momentum_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    w0 = rng.normal(size=(7,))
    grads = [rng.normal(size=(7,)) for _ in range(10)]
    ours = _run(RMSprop, w0, grads, lr=0.01, beta2=0.99)[-1]
    tw = torch.tensor(w0.copy(), requires_grad=True)
    topt = torch.optim.RMSprop([tw], lr=0.01, alpha=0.99, eps=1e-8)
    for g in grads:
        tw.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(ours, tw.detach().numpy(), rtol=1e-10)
    # torch's SGD momentum is v = mu v + g; w -= lr v: ours with lr' = lr / (1 - beta) equals it
    ours = _run(Momentum, w0, grads, lr=0.01 / (1 - 0.9), beta=0.9)[-1]
    tw = torch.tensor(w0.copy(), requires_grad=True)
    topt = torch.optim.SGD([tw], lr=0.01, momentum=0.9)
    for g in grads:
        tw.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(ours, tw.detach().numpy(), rtol=1e-10)
    assert math.isfinite(float(ours.sum()))
