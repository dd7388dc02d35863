"""The training loop: learning, events, throttling, pause/step/cancel, divergence, early stopping."""

import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import Network
from engine.errors import ConfigError, DataError, EngineError
from engine.layers import Activation, Concatenate, Dense, Input
from engine.training import TrainConfig, Trainer, train

WAIT = 20  # seconds: generous upper bound for thread hand-offs on a loaded machine


def spiral(n, seed=0, noise=0.05):
    """Two interleaved spiral arms in 2-D (class 0 and 1), like TensorFlow Playground's."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    t = rng.uniform(0.1, 1.0, n) * 2.5 * np.pi
    ang = t + np.pi * y
    x = np.stack([t * np.cos(ang), t * np.sin(ang)], axis=1) / (2.5 * np.pi)
    x += rng.normal(0, noise, x.shape)
    return x.astype(np.float32), y.astype(np.int64)


def spiral_data(n=1000, seed=0):
    x, y = spiral(n, seed)
    a, b = int(n * 0.7), int(n * 0.85)
    return SimpleNamespace(x_train=x[:a], y_train=y[:a], x_dev=x[a:b], y_dev=y[a:b], x_test=x[b:], y_test=y[b:],
                           task="classification", classes=["0", "1"], input_shape=(2,))


def mlp(units=(16, 16), act="tanh", n_in=2, n_out=2, out_act="softmax"):
    net = Network()
    h = net.add(Input(shape=(n_in,)), name="x")
    for i, u in enumerate(units):
        h = net.add(Dense(u), [h], name=f"dense{i + 1}")
        h = net.add(Activation(act), [h], name=f"act{i + 1}")
    h = net.add(Dense(n_out), [h], name="logits")
    if out_act:
        net.add(Activation(out_act), [h], name="out")
    return net


def test_spiral_trains_to_high_accuracy():
    data = spiral_data(1000)
    net = mlp((24, 24))
    events = []
    t0 = time.perf_counter()
    result = Trainer(net, data, {"optimizer": {"type": "adam", "lr": 0.02}, "batch_size": 32, "epochs": 60,
                                 "seed": 1}, callback=events.append).run()
    assert time.perf_counter() - t0 < 30
    assert result["stopped"] == "finished"
    assert result["epochs"] == 60
    assert result["test_accuracy"] >= 0.95, result
    assert result["train_accuracy"] >= 0.95
    assert result["dev_accuracy"] >= 0.93
    h = result["history"]
    assert len(h["train_loss"]) == 60 and h["train_loss"][-1] < h["train_loss"][0] / 3
    assert result["seconds_per_epoch"] > 0 and result["seconds"] >= sum(h["seconds"]) * 0.99
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "finished" and events[-1]["result"] is result
    epoch_events = [e for e in events if e["type"] == "epoch"]
    # fast epochs are sent together, at most one event per throttle / 4 seconds, none lost
    assert 1 <= len(epoch_events) <= 60
    sent = [i for e in epoch_events for i in e["history"]["epoch"]]
    assert sent == list(range(60))
    assert all(e["epoch"] == e["history"]["epoch"][-1] for e in epoch_events)
    epoch_ev = epoch_events[-1]
    assert epoch_ev["epoch"] == 59 and epoch_ev["history"]["train_loss"][-1] == h["train_loss"][-1]
    assert set(epoch_ev) >= {"epoch", "train_loss", "train_accuracy", "dev_loss", "dev_accuracy", "lr", "seconds"}


def test_step_events_carry_diagnostics_and_first_one_is_immediate():
    data = spiral_data(300)
    events = []
    Trainer(mlp((8,), act="relu"), data, {"epochs": 2, "batch_size": 50}, callback=events.append,
            throttle=1e9).run()
    steps = [e for e in events if e["type"] == "step"]
    assert len(steps) == 1  # the first step is always reported, then the throttle holds
    e = steps[0]
    assert e["global_step"] == 1 and e["epoch"] == 0 and e["step"] == 0
    assert e["steps_per_epoch"] == 5  # 210 samples / 50
    assert set(e["grad_norms"]) == {"dense1", "logits"} and all(v > 0 for v in e["grad_norms"].values())
    assert set(e["activation_stats"]["act1"]) == {"mean", "std", "dead", "saturated"}
    assert "x" not in e["activation_stats"]
    assert e["lr"] == pytest.approx(0.001) and e["time_left"] >= 0 and np.isfinite(e["loss"])


def test_throttle_bounds_step_events():
    data = spiral_data(2000)
    all_events, few = [], []
    r = Trainer(mlp((8,)), data, {"epochs": 3, "batch_size": 8}, callback=all_events.append, throttle=0).run()
    n_steps = r["global_steps"]
    assert n_steps == 3 * 175
    assert sum(e["type"] == "step" for e in all_events) == n_steps
    throttle = 0.05
    r = Trainer(mlp((8,)), data, {"epochs": 3, "batch_size": 8}, callback=few.append, throttle=throttle).run()
    n_events = sum(e["type"] == "step" for e in few)
    assert 1 <= n_events <= r["seconds"] / throttle + 2
    assert n_events < n_steps
    # every batch loss still reaches the listener through "recent"
    recent = [s for e in few if e["type"] == "step" for s, _ in e["recent"]]
    assert recent == sorted(recent) and len(recent) <= n_steps
    assert recent[0] == 1


def test_cancel_is_honoured_within_one_batch():
    data = spiral_data(2000)
    holder = {}

    def cb(e):
        if e["type"] == "step" and e["global_step"] == 7:
            holder["t"].cancel()

    t = Trainer(mlp((8,)), data, {"epochs": 50, "batch_size": 4}, callback=cb, throttle=0)
    holder["t"] = t
    r = t.run()
    assert r["stopped"] == "cancelled"
    assert r["global_steps"] == 7
    assert r["epochs"] == 0


def test_pause_step_resume_cancel_in_thread():
    data = spiral_data(2000)
    got_step = threading.Event()
    finished = threading.Event()
    steps = []

    def cb(e):
        if e["type"] == "step":
            steps.append(e["global_step"])
            got_step.set()
        elif e["type"] == "finished":
            finished.set()

    t = Trainer(mlp((8,)), data, {"epochs": 1000, "batch_size": 4}, callback=cb, throttle=1e9)
    t.pause()
    wall0 = time.perf_counter()
    t.start()
    assert t.running
    # paused before the first batch: nothing happens until step()
    assert not got_step.wait(0.2)
    assert t.global_step == 0
    t.step()
    assert got_step.wait(WAIT)
    got_step.clear()
    assert steps == [1]
    assert not got_step.wait(0.2)  # still paused after the single step
    assert t.global_step == 1
    t.step(2)
    assert got_step.wait(WAIT)
    deadline = time.monotonic() + WAIT
    while len(steps) < 3 and time.monotonic() < deadline:
        got_step.clear()
        got_step.wait(0.5)
    assert steps == [1, 2, 3]  # every single step is reported, throttle or not
    t.resume()
    deadline = time.monotonic() + WAIT
    while t.global_step < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert t.global_step >= 20
    t.pause()
    t.cancel()  # wakes the paused trainer
    r = t.join(WAIT)
    wall = time.perf_counter() - wall0
    assert r is not None and finished.is_set()
    assert r["stopped"] == "cancelled"
    assert r["seconds"] < wall - 0.3  # at least 0.4 s were spent paused, which is not training time
    assert not t.running
    assert not any(th.name == "trainer-prefetch" and th.is_alive() for th in threading.enumerate())


def test_huge_learning_rate_diverges_naming_a_layer_and_keeps_finite_weights():
    data = spiral_data(500)
    net = mlp((16,), act="relu")
    events = []
    with np.errstate(all="ignore"):
        r = Trainer(net, data, {"optimizer": {"type": "sgd", "lr": 1e30}, "batch_size": 32, "epochs": 5},
                    callback=events.append, throttle=0).run()
    assert r["stopped"] == "diverged"
    div = [e for e in events if e["type"] == "diverged"]
    assert len(div) == 1 and r["diverged"] is div[0]
    assert div[0]["node"] in net.nodes and div[0]["node"] != "x"
    assert "learning rate" in div[0]["message"] and div[0]["node"] in div[0]["message"]
    for w in net.get_weights().values():
        assert np.all(np.isfinite(w))
    assert events[-1]["type"] == "finished"
    out = net.predict(data.x_test)
    assert np.all(np.isfinite(out))


def test_early_stopping_restores_best_weights():
    # dev labels are the opposite of the training labels: dev loss rises as training succeeds
    x, y = spiral(600, seed=3)
    data = SimpleNamespace(x_train=x[:400], y_train=y[:400], x_dev=x[400:500], y_dev=1 - y[400:500],
                           x_test=x[500:], y_test=y[500:], task="classification")
    net = mlp((16,))
    trainer = Trainer(net, data, {"optimizer": {"type": "adam", "lr": 0.01}, "epochs": 100, "batch_size": 32,
                                  "early_stopping": {"patience": 3, "min_delta": 0.0}})
    r = trainer.run()
    assert r["stopped"] == "early_stopping"
    h = r["history"]
    assert r["epochs"] == r["best_epoch"] + 1 + 3 < 100
    best = int(np.argmin(h["dev_loss"]))
    assert r["best_epoch"] == best
    # the network holds the weights of the best epoch: its dev loss is that epoch's, not the last one's
    dev_loss, _ = trainer.evaluate(data.x_dev, data.y_dev)
    assert dev_loss == pytest.approx(h["dev_loss"][best], rel=1e-5)
    assert dev_loss < h["dev_loss"][-1]
    assert r["dev_loss"] == pytest.approx(dev_loss)


def test_early_stopping_needs_a_dev_set():
    d = spiral_data(100)
    d.x_dev = d.y_dev = None
    with pytest.raises(ConfigError, match="dev"):
        Trainer(mlp(), d, {"early_stopping": {"patience": 2}})


def test_set_lr_and_regularization_take_effect_mid_training():
    data = spiral_data(600)
    net = mlp((8,))
    seen = []
    holder = {}

    def cb(e):
        if e["type"] == "step":
            seen.append(e["lr"])
            if e["global_step"] == 3:
                holder["t"].set_lr(0.05)
                holder["t"].set_regularization(l1=0.001, l2=0.01)

    t = Trainer(net, data, {"optimizer": {"type": "adam", "lr": 0.001}, "epochs": 1, "batch_size": 16},
                callback=cb, throttle=0)
    holder["t"] = t
    t.run()
    assert seen[:3] == [pytest.approx(0.001)] * 3
    assert seen[3:] and all(v == pytest.approx(0.05) for v in seen[3:])
    assert net["dense1"].l2 == 0.01 and net["logits"].l1 == 0.001
    with pytest.raises(ConfigError):
        t.set_lr(-1)


def test_schedule_sets_lr_per_epoch():
    data = spiral_data(200)
    r = train(mlp((4,)), data, {"optimizer": {"type": "sgd", "lr": 0.1}, "epochs": 4, "batch_size": 70,
                                "schedule": {"type": "inverse_time", "decay_rate": 1.0}})
    assert r["history"]["lr"] == pytest.approx([0.1, 0.05, 0.1 / 3, 0.025])


def test_regularization_is_included_in_the_reported_cost():
    data = spiral_data(200)
    net = mlp((8,))
    net.build(seed=0)
    r0 = Trainer(net, data, {"epochs": 1, "batch_size": 70})
    base, _ = r0.evaluate(data.x_test, data.y_test)
    net["dense1"].l2 = 1.0
    w = net["dense1"].params["W"]
    loss_reg, _ = Trainer(net, data, {"epochs": 1, "batch_size": 70}).evaluate(data.x_test, data.y_test)
    assert loss_reg == pytest.approx(base + 0.5 * float(np.sum(w.astype(np.float64) ** 2)) / 70, rel=1e-5)


def test_batch_sizes_all_and_stochastic():
    data = spiral_data(100)
    t = Trainer(mlp((4,)), data, {"epochs": 1, "batch_size": "all"})
    assert t.steps_per_epoch == 1 and t.batch_size == 70
    assert Trainer(mlp((4,)), data, {"epochs": 1, "batch_size": 0}).steps_per_epoch == 1
    t = Trainer(mlp((4,)), data, {"epochs": 1, "batch_size": 1})
    assert t.steps_per_epoch == 70
    assert t.run()["global_steps"] == 70


def test_same_seed_same_result():
    data = spiral_data(300)
    cfg = {"epochs": 3, "batch_size": 16, "seed": 5}
    a = train(mlp((8,)), data, cfg)
    b = train(mlp((8,)), data, cfg)
    assert a["history"]["train_loss"] == b["history"]["train_loss"]
    assert a["test_loss"] == b["test_loss"]


def test_clip_norm_bounds_each_update():
    data = spiral_data(300)
    net = mlp((8,))
    net.build(seed=0)
    before = net.get_weights()
    r = train(net, data, {"optimizer": {"type": "sgd", "lr": 1.0}, "epochs": 1, "batch_size": 210,
                          "clip_norm": 1e-3})
    assert r["global_steps"] == 1
    after = net.get_weights()
    delta = np.sqrt(sum(float(np.sum((after[k] - before[k]) ** 2)) for k in before))
    assert 0 < delta <= 1e-3 * 1.0001


def test_augment_runs_in_prefetch_thread_with_rng():
    data = spiral_data(200)
    calls = []

    def augment(xb, rng):
        calls.append((threading.current_thread().name, len(xb), isinstance(rng, np.random.Generator)))
        return xb + rng.normal(0, 0.01, xb.shape).astype(xb.dtype)

    r = Trainer(mlp((4,)), data, {"epochs": 2, "batch_size": 35}, augment=augment).run()
    assert len(calls) == r["global_steps"] == 8  # 140 training samples / 35, two epochs
    assert all(c == ("trainer-prefetch", 35, True) for c in calls)


def test_regression_reports_no_accuracy():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (300, 2)).astype(np.float32)
    y = (x[:, :1] * 2 - x[:, 1:] + 0.5).astype(np.float32)
    data = SimpleNamespace(x_train=x[:200], y_train=y[:200], x_dev=x[200:250], y_dev=y[200:250],
                           x_test=x[250:], y_test=y[250:], task="regression")
    net = mlp((), n_out=1, out_act=None)
    r = train(net, data, {"loss": "mse", "optimizer": {"type": "adam", "lr": 0.05}, "epochs": 40, "batch_size": 20})
    assert r["train_accuracy"] is None and r["test_accuracy"] is None
    assert r["test_loss"] < 1e-3


def test_several_inputs_and_outputs():
    x, y = spiral(400, seed=2)
    net = Network()
    a = net.add(Input(shape=(1,)), name="a")
    b = net.add(Input(shape=(1,)), name="b")
    h = net.add(Concatenate(), [a, b], name="cat")
    h = net.add(Activation("tanh"), [net.add(Dense(16), [h], name="hidden")], name="act")
    net.add(Activation("softmax"), [net.add(Dense(2), [h], name="cls_logits")], name="cls")
    net.add(Dense(1), [h], name="reg")
    xs = {"a": x[:, :1], "b": x[:, 1:]}
    ys = {"cls": (x[:, 0] > x[:, 1]).astype(np.int64), "reg": x[:, :1] + x[:, 1:]}

    def part(d, s):
        return {k: v[s] for k, v in d.items()}

    tr, te = slice(0, 300), slice(300, 400)
    data = SimpleNamespace(x_train=part(xs, tr), y_train=part(ys, tr), x_dev=None, y_dev=None,
                           x_test=part(xs, te), y_test=part(ys, te), task="classification")
    loss = {"cls": "softmax_cross_entropy", "reg": {"type": "mse", "weight": 0.5}}
    r = train(net, data, {"loss": loss, "optimizer": {"type": "adam", "lr": 0.01}, "epochs": 30, "batch_size": 32})
    assert r["stopped"] == "finished"
    assert r["test_accuracy"] is not None and r["test_accuracy"] > 0.9
    assert np.isfinite(r["test_loss"]) and r["test_loss"] < r["history"]["train_loss"][0]


def test_accuracy_fn_hook():
    data = spiral_data(200)
    r = train(mlp((4,)), data, {"epochs": 1}, accuracy_fn=lambda out, y: 0.25)
    assert r["test_accuracy"] == 0.25 and r["history"]["train_accuracy"] == [0.25]


def test_train_config_from_dict_and_overrides():
    cfg = TrainConfig.from_dict({"loss": "softmax_cross_entropy", "optimizer": {"type": "adam", "lr": 0.001},
                                 "batch_size": "all", "epochs": 5, "early_stopping": {"patience": 2}},
                                epochs=7, lr=0.01, optimizer="momentum")
    assert cfg.batch_size is None and cfg.epochs == 7
    assert cfg.optimizer == {"type": "momentum", "lr": 0.01}
    assert cfg.early_stopping == {"patience": 2, "min_delta": 0.0}
    assert cfg.to_dict()["batch_size"] == "all"
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.parametrize("d, words", [
    ({"epochs": 0}, "epochs"),
    ({"epochs": "ten"}, "epochs"),
    ({"batch_size": -3}, "batch_size"),
    ({"batch_size": "some"}, "batch_size"),
    ({"optimizer": {"type": "nadam"}}, "unknown optimizer"),
    ({"schedule": {"type": "cosine"}}, "schedule"),
    ({"loss": "hinge"}, "unknown loss"),
    ({"early_stopping": {"patience": 0}}, "patience"),
    ({"early_stopping": {"wait": 3}}, "no option 'wait'"),
    ({"clip_norm": -1}, "clip_norm"),
    ({"learning_rate": 0.1}, "unknown training setting"),
    ({"seed": -1}, "seed"),
    ("fast", "must be an object"),
])
def test_bad_training_configs(d, words):
    with pytest.raises(ConfigError, match=words):
        TrainConfig.from_dict(d)


def test_bad_data_is_a_clear_error():
    d = spiral_data(100)
    d.y_train = d.y_train[:10]
    with pytest.raises(DataError, match="targets"):
        Trainer(mlp(), d, {})
    d = spiral_data(100)
    d.x_train = d.x_train[:0]
    d.y_train = d.y_train[:0]
    with pytest.raises(DataError, match="no training data"):
        Trainer(mlp(), d, {})


def test_error_in_thread_is_reported():
    d = spiral_data(100)

    def broken_augment(xb, rng):
        raise DataError("augmentation broke")

    events = []
    t = Trainer(mlp(), d, {"epochs": 1}, callback=events.append, augment=broken_augment)
    t.start()
    assert t.join(WAIT) is None
    assert isinstance(t.error, DataError)
    assert events[-1]["type"] == "error" and "augmentation broke" in events[-1]["message"]
    assert not any(th.name == "trainer-prefetch" and th.is_alive() for th in threading.enumerate())


def test_second_run_continues_training():
    data = spiral_data(200)
    events = []
    t = Trainer(mlp((4,)), data, {"optimizer": {"type": "sgd", "lr": 0.1}, "epochs": 2, "batch_size": 70,
                                  "schedule": {"type": "exponential", "decay_rate": 0.5}}, callback=events.append,
                epoch_throttle=0)
    t.run()
    r = t.run()
    assert r["epochs"] == 4 and r["global_steps"] == 8
    assert r["history"]["epoch"] == [0, 1, 2, 3]
    assert r["history"]["lr"] == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    assert [e["epochs"] for e in events if e["type"] == "epoch"] == [2, 2, 4, 4]
    # a cancelled trainer can run again
    t2 = Trainer(mlp((4,)), data, {"epochs": 1})
    t2.cancel()
    assert t2.run()["stopped"] == "cancelled"
    assert t2.run()["stopped"] == "finished"


def test_fast_epochs_are_coalesced_not_flooded():
    data = spiral_data(100)
    events = []
    r = Trainer(mlp((4,)), data, {"epochs": 300, "batch_size": "all"}, callback=events.append,
                throttle=1e9, epoch_throttle=1e9).run()
    epoch_events = [e for e in events if e["type"] == "epoch"]
    # the first epoch goes out at once, the other 299 together at the end
    assert [len(e["history"]["epoch"]) for e in epoch_events] == [1, 299]
    assert epoch_events[-1]["epoch"] == 299 == r["history"]["epoch"][-1]
    every = []
    Trainer(mlp((4,)), data, {"epochs": 5, "batch_size": "all"}, callback=every.append, epoch_throttle=0).run()
    assert [e["epoch"] for e in every if e["type"] == "epoch"] == [0, 1, 2, 3, 4]


def test_dropout_and_batchnorm_train_and_evaluate_deterministically():
    from engine.layers import BatchNorm, Dropout

    data = spiral_data(600)
    net = Network()
    h = net.add(Input(shape=(2,)), name="x")
    h = net.add(Dense(32), [h], name="dense1")
    h = net.add(BatchNorm(), [h], name="bn")
    h = net.add(Activation("relu"), [h], name="act1")
    h = net.add(Dropout(0.2), [h], name="drop")
    net.add(Activation("softmax"), [net.add(Dense(2), [h], name="logits")], name="out")
    t = Trainer(net, data, {"optimizer": {"type": "adam", "lr": 0.02}, "epochs": 40, "batch_size": 32})
    r = t.run()
    assert r["test_accuracy"] >= 0.8
    # evaluation runs with training=False: dropout off, running statistics: repeatable
    assert t.evaluate(data.x_test, data.y_test) == t.evaluate(data.x_test, data.y_test)
    assert r["test_loss"] == pytest.approx(t.evaluate(data.x_test, data.y_test)[0])


training_values = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 500), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(["type", "lr", "beta", "patience", "min_delta", "decay_rate", "step", "x"]),
                    st.one_of(st.none(), st.integers(-3, 50), st.floats(), st.text(max_size=8)), max_size=4),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["loss", "optimizer", "schedule", "batch_size", "epochs", "seed",
                                        "early_stopping", "clip_norm", "augment", "bogus"]),
                       training_values, max_size=6))
def test_fuzzed_training_settings_give_config_or_clear_error(d):
    try:
        cfg = TrainConfig.from_dict(d)
    except ConfigError as exc:
        assert str(exc)
    else:
        assert cfg.epochs >= 1 and (cfg.batch_size is None or cfg.batch_size >= 1)
        TrainConfig.from_dict(cfg.to_dict())


def test_data_that_does_not_fit_fails_before_training():
    d = spiral_data(100)
    d.x_train = np.zeros((70, 3), np.float32)
    with pytest.raises(EngineError, match=r"\(2,\)"):
        Trainer(mlp(), d, {})
    d = spiral_data(100)
    d.y_train = d.y_train + 5  # class indices out of range for 2 classes
    with pytest.raises(DataError, match="out of range"):
        Trainer(mlp(), d, {})


def test_exploding_but_finite_gradient_still_names_a_layer():
    """QA: SGD at lr 1000 on the digits MLP overflowed the float32 squared gradient norm while every
    gradient was still finite; the message said "the value of the cost" and named no layer."""
    data = spiral_data(200)
    net = mlp((8,), act="tanh")
    net.build(seed=0)
    w = net.get_weights()
    big = [k for k in w if k.startswith(net.topological_order()[-2]) and k.endswith("W")]
    assert big, w.keys()
    for k in big:  # the last Dense: logits ~1e20, dW of the first Dense ~1e20 (finite in float32)
        w[k] = (np.sign(w[k]) + (w[k] == 0)) * np.float32(1e20)
    net.set_weights(w)
    events = []
    r = Trainer(net, data, {"optimizer": {"type": "sgd", "lr": 0.1}, "batch_size": 32, "epochs": 1},
                callback=events.append, throttle=0).run()
    assert r["stopped"] == "diverged"
    div = r["diverged"]
    assert div["node"] in net.nodes and div["where"] == "exploding"
    assert div["node"] in div["message"] and "learning rate" in div["message"]


def test_config_shares_no_dict_with_the_document_or_the_defaults():
    from engine.training import DEFAULT_TRAINING

    doc_training = {"optimizer": {"type": "sgd", "lr": 0.1}, "schedule": {"type": "exponential", "decay_rate": 0.9}}
    cfg = TrainConfig.from_dict(doc_training)
    assert cfg.optimizer == doc_training["optimizer"] and cfg.optimizer is not doc_training["optimizer"]
    assert cfg.schedule is not doc_training["schedule"]
    default = TrainConfig.from_dict({})
    default.optimizer["lr"] = 0.5  # a caller changing its config leaves the defaults alone
    assert DEFAULT_TRAINING["optimizer"]["lr"] == 0.001
    assert TrainConfig.from_dict({}).optimizer["lr"] == 0.001
