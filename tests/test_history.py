"""Run history (SQLite, no Qt) and health-overlay computations; the history panel's overlay."""

import csv
import io
import math
import os

import pytest

from engine.errors import DataError
from playground.training import health
from playground.training.history import EPOCH_FIELDS, RunHistory, default_path


def _epoch(i, loss):
    return {"epoch": i, "train_loss": loss, "train_accuracy": 1 - loss / 2, "dev_loss": loss * 1.1,
            "dev_accuracy": None, "lr": 0.01, "seconds": 0.5}


def test_runs_epochs_and_final_scores(tmp_path):
    path = tmp_path / "sub" / "runs.sqlite"
    h = RunHistory(str(path))
    a = h.start_run("spiral", {"training": {"epochs": 3}, "data": {"name": "spiral"}}, dataset="spiral")
    h.add_epochs(a, [_epoch(1, 0.9), _epoch(2, 0.5)])
    h.add_epoch(a, _epoch(3, float("nan")))  # a NaN cost is stored as missing, not as garbage
    h.finish_run(a, "finished", {"test_accuracy": 0.93, "history": {"epoch": [0, 1, 2]}})
    b = h.start_run("digits", {"training": {"epochs": 1}}, dataset="digits")
    h.close()
    # reopen: everything was committed
    h = RunHistory(str(path))
    runs = h.runs()
    assert [r["id"] for r in runs] == [b, a]  # newest first
    ra = h.run(a)
    assert ra["status"] == "finished" and ra["epochs"] == 3 and ra["dataset"] == "spiral"
    assert ra["final"] == {"test_accuracy": 0.93}  # the per-epoch history is not duplicated
    assert ra["settings"]["training"]["epochs"] == 3
    assert h.run(b)["status"] == "running" and h.run(b)["finished"] is None
    e = h.epochs(a)
    assert e["epoch"] == [1, 2, 3]
    assert e["train_loss"][:2] == [0.9, 0.5] and e["train_loss"][2] is None
    assert e["dev_accuracy"] == [None, None, None]
    with pytest.raises(DataError):
        h.run(999)
    h.delete_run(b)
    assert [r["id"] for r in h.runs()] == [a]


def test_export_csv_atomic(tmp_path):
    h = RunHistory(":memory:")
    a = h.start_run("net", {"training": {"lr": 0.1}}, dataset="xor")
    h.add_epochs(a, [_epoch(1, 0.8), _epoch(2, 0.4)])
    h.finish_run(a, "cancelled", {"dev_accuracy": 0.7})
    out = tmp_path / "run.csv"
    h.export_csv(a, str(out))
    text = out.read_text()
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    assert rows[0] == list(EPOCH_FIELDS)
    assert len(rows) == 3 and float(rows[2][1]) == 0.4 and rows[1][4] == ""
    assert "cancelled" in text and '"dev_accuracy": 0.7' in text
    assert [p.name for p in tmp_path.iterdir()] == ["run.csv"]  # no temp file left behind


def test_default_path_env(monkeypatch, tmp_path):
    monkeypatch.setenv("NNPLAY_DATA_DIR", str(tmp_path))
    assert default_path() == os.path.join(str(tmp_path), "runs.sqlite")
    monkeypatch.delenv("NNPLAY_DATA_DIR")
    assert default_path().endswith("runs.sqlite") and "network-playground" in default_path()


def test_bad_database_is_a_clear_error(tmp_path):
    bad = tmp_path / "runs.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DataError, match="run history"):
        RunHistory(str(bad))
    # a data folder that cannot be created (a file is in the way) is the same clear error
    with pytest.raises(DataError, match="run history"):
        RunHistory(str(bad / "sub" / "runs.sqlite"))


def test_health_thresholds_and_hints():
    g = health.node_health("gradient", {"a": 1e-8, "b": 0.5, "c": 5e3, "d": float("nan")}, {})
    assert "vanishes" in g["a"][1] and g["b"][1] == "" and "explodes" in g["c"][1]
    assert "learning rate" in g["c"][1] and "not a number" in g["d"][1]
    assert g["b"][0] == health.GOOD and g["c"][0] == health.BAD
    stats = {"relu_1": {"dead": 0.8, "saturated": 0.0}, "tanh_1": {"dead": 0.0, "saturated": 0.9},
             "relu_2": {"dead": 0.1, "saturated": 0.0}}
    d = health.node_health("dead", {}, stats)
    assert d["relu_1"][1] == ("most units of relu_1 are dead (80% never fire): lower the learning rate "
                              "or use leaky ReLU")
    assert d["relu_2"][1] == ""
    s = health.node_health("saturation", {}, stats)
    assert "saturated" in s["tanh_1"][1] and s["relu_1"][1] == ""
    hints = health.hints({"x": 5e3, "y": 1e-9}, stats)
    assert "explodes" in hints[0] and any("dead" in h for h in hints) and any("vanishes" in h for h in hints)
    with pytest.raises(ValueError):
        health.node_health("colour", {}, {})
    # colours shade continuously towards the bands
    near_vanish = health.gradient_health("n", 1e-5)[0]
    assert near_vanish != health.GOOD and all(0 <= c <= 255 for c in near_vanish)
    assert not math.isnan(health.gradient_health("n", 0.0)[0][0])


def test_history_panel_overlays_two_runs(qtbot):
    pytest.importorskip("pytestqt")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from playground.training.evaluation import HistoryPanel

    h = RunHistory(":memory:")
    a = h.start_run("a", {}, "spiral")
    h.add_epochs(a, [_epoch(1, 0.9), _epoch(2, 0.5), _epoch(3, 0.3)])
    b = h.start_run("b", {}, "spiral")
    h.add_epochs(b, [_epoch(1, 0.7), _epoch(2, 0.6)])
    panel = HistoryPanel()
    qtbot.addWidget(panel)
    panel.set_history(h)
    assert panel.table.rowCount() == 2
    panel.table.selectAll()
    assert sorted(panel.selected_runs()) == [a, b]
    x0, y0 = panel.curves[0].getData()
    x1, y1 = panel.curves[1].getData()
    # newest first: run b is curve 0, run a curve 1; the default curve is the dev loss
    assert list(x0) == [1, 2] and list(y0) == pytest.approx([0.77, 0.66])
    assert list(x1) == [1, 2, 3] and list(y1) == pytest.approx([0.99, 0.55, 0.33])
    drawn = panel.overlay([a], "train_loss")
    assert len(drawn) == 1 and list(drawn[0][1]) == [0.9, 0.5, 0.3]
    assert panel.curves[1].getData()[0] is None or len(panel.curves[1].getData()[0]) == 0


def test_one_data_folder_rule_for_autosave_history_and_samples(monkeypatch, tmp_path):
    from playground.mainwindow import user_data_dir
    from playground.training.history import data_dir, default_path

    monkeypatch.setenv("NNPLAY_DATA_DIR", str(tmp_path))
    assert data_dir() == str(tmp_path)
    assert user_data_dir() == tmp_path
    assert default_path() == str(tmp_path / "runs.sqlite")
