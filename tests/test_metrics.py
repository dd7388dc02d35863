"""Metrics with hand-computed values."""

import numpy as np
import pytest

from engine.errors import DataError
from engine.metrics import (
    accuracy, classification_report, confusion_matrix, diagnose, format_report, precision_recall_f1,
    predicted_classes, sequence_accuracy,
)

# 3 classes, 8 examples, worked out by hand:
Y_TRUE = np.array([0, 0, 0, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 1, 0, 1, 2, 2, 2, 0])
# confusion (rows true, cols predicted):
#   0: [2, 1, 0]   1: [0, 1, 1]   2: [1, 0, 2]
CM = [[2, 1, 0], [0, 1, 1], [1, 0, 2]]
# precision: col sums 3, 2, 3 -> 2/3, 1/2, 2/3 ; recall: row sums 3, 2, 3 -> 2/3, 1/2, 2/3
# f1 = 2pr/(p+r) -> 2/3, 1/2, 2/3 ; macro f1 = (2/3 + 1/2 + 2/3)/3 = 11/18


def test_confusion_matrix():
    cm = confusion_matrix(Y_TRUE, Y_PRED)
    assert cm.tolist() == CM
    assert confusion_matrix(Y_TRUE, Y_PRED, n_classes=4).shape == (4, 4)
    assert confusion_matrix([1, 1], [1, 0], n_classes=2).tolist() == [[0, 0], [1, 1]]


def test_precision_recall_f1():
    prf = precision_recall_f1(Y_TRUE, Y_PRED)
    np.testing.assert_allclose(prf["precision"], [2 / 3, 1 / 2, 2 / 3])
    np.testing.assert_allclose(prf["recall"], [2 / 3, 1 / 2, 2 / 3])
    np.testing.assert_allclose(prf["f1"], [2 / 3, 1 / 2, 2 / 3])
    np.testing.assert_allclose(prf["support"], [3, 2, 3])


def test_precision_differs_from_recall():
    # class 1: predicted 4 times, right 2 of them (precision 0.5), 2 of 2 found (recall 1.0)
    t = [0, 0, 0, 0, 1, 1]
    p = [0, 0, 1, 1, 1, 1]
    prf = precision_recall_f1(t, p)
    assert prf["precision"][1] == pytest.approx(0.5)
    assert prf["recall"][1] == pytest.approx(1.0)
    assert prf["f1"][1] == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    assert prf["precision"][0] == pytest.approx(1.0)
    assert prf["recall"][0] == pytest.approx(0.5)


def test_never_predicted_class_scores_zero():
    prf = precision_recall_f1([0, 1, 2], [0, 1, 1], n_classes=3)
    assert prf["precision"][2] == 0 and prf["recall"][2] == 0 and prf["f1"][2] == 0


def test_classification_report():
    rep = classification_report(Y_TRUE, Y_PRED, classes=["cat", "dog", "bird"])
    assert rep["accuracy"] == pytest.approx(5 / 8)
    assert rep["n"] == 8
    assert [c["name"] for c in rep["classes"]] == ["cat", "dog", "bird"]
    assert rep["classes"][1]["precision"] == pytest.approx(0.5)
    assert rep["classes"][2]["support"] == 3
    assert rep["macro"]["f1"] == pytest.approx(11 / 18)
    assert rep["confusion_matrix"] == CM
    import json
    json.dumps(rep)  # JSON-safe
    text = format_report(rep)
    assert "bird" in text and "0.625" in text


def test_predicted_classes_and_accuracy():
    scores = np.array([[0.1, 0.7, 0.2], [0.8, 0.1, 0.1], [0.2, 0.2, 0.6]])
    assert predicted_classes(scores).tolist() == [1, 0, 2]
    assert accuracy(scores, [1, 0, 0]) == pytest.approx(2 / 3)
    sig = np.array([[0.2], [0.6], [0.5]])
    assert predicted_classes(sig).tolist() == [0, 1, 1]
    assert accuracy(sig, np.array([[0], [1], [0]])) == pytest.approx(2 / 3)
    assert predicted_classes(np.array([-1.0, 0.5]), threshold=0.0).tolist() == [0, 1]
    with pytest.raises(DataError):
        accuracy(scores, [1, 0])


def test_sequence_accuracy_per_token_and_per_sequence():
    out = np.zeros((2, 3, 4))
    # sequence 0 predicts [1, 2, 3], sequence 1 predicts [0, 0, 1]
    for n, seq in enumerate([[1, 2, 3], [0, 0, 1]]):
        for t, c in enumerate(seq):
            out[n, t, c] = 1
    y = np.array([[1, 2, 3], [0, 1, -1]])  # -1: padding, ignored
    assert accuracy(out, y) == pytest.approx(4 / 5)
    assert sequence_accuracy(out, y) == pytest.approx(0.5)


def test_diagnose_high_bias():
    d = diagnose(0.01, 0.15, 0.16)
    assert d["avoidable_bias"] == pytest.approx(0.14)
    assert d["variance"] == pytest.approx(0.01)
    assert d["focus"] == "bias"
    assert "bias" in d["verdict"]
    assert any("bigger network" in r for r in d["remedies"])
    assert any("train longer" in r for r in d["remedies"])
    assert not any("more training data" in r for r in d["remedies"])


def test_diagnose_high_variance():
    d = diagnose(0.01, 0.015, 0.11)
    assert d["avoidable_bias"] == pytest.approx(0.005)
    assert d["variance"] == pytest.approx(0.095)
    assert d["focus"] == "variance"
    assert any("more training data" in r for r in d["remedies"])
    assert any("L2" in r and "dropout" in r for r in d["remedies"])
    assert any("augmentation" in r for r in d["remedies"])


def test_diagnose_both_and_neither():
    d = diagnose(0.0, 0.15, 0.30)
    assert d["focus"] == "both"
    # variance (0.15) equals bias (0.15): bias remedies first, then the variance ones
    assert d["remedies"][0].startswith("train a bigger network")
    assert any("more training data" in r for r in d["remedies"])
    d = diagnose(0.0, 0.05, 0.30)
    assert d["focus"] == "both" and d["remedies"][0] == "get more training data"
    d = diagnose(0.02, 0.025, 0.03)
    assert d["focus"] == "none" and d["remedies"] == []


def test_diagnose_rejects_bad_rates():
    with pytest.raises(DataError):
        diagnose(0.1, 1.5, 0.2)
    with pytest.raises(DataError):
        diagnose("x", 0.1, 0.2)


def test_decision_threshold_follows_the_loss():
    from engine.metrics import decision_threshold

    assert decision_threshold("bce_logits") == 0.0
    assert decision_threshold({"type": "bce_logits"}) == 0.0
    assert decision_threshold("binary_cross_entropy") == 0.5
    assert decision_threshold("softmax_cross_entropy") == 0.5
    assert decision_threshold({"a": "bce_logits", "b": "mse"}) == 0.0  # the first output's loss


def test_diagnosis_explains_a_dev_error_below_training_error():
    from engine.metrics import diagnose

    d = diagnose(0.0, 0.30, 0.26)
    assert d["variance"] < 0
    assert "dev error is below training error" in d["verdict"]
    assert "below training error" not in diagnose(0.0, 0.30, 0.30)["verdict"]
