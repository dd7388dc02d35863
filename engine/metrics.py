"""Metrics: how good a classifier is, and what to do next.

- :func:`accuracy` -- share of correct predictions from the network's outputs (argmax of
  several class scores; a single sigmoid output is thresholded at 0.5; sequence outputs
  ``(N, T, C)`` against ``(N, T)`` targets are scored per token, padding ``-1`` ignored).
- :func:`confusion_matrix` -- rows are true classes, columns predicted classes.
- :func:`precision_recall_f1` -- per class and macro average. Precision: of the examples the model
  calls "cat", the share that are cats; recall: of the cats, the share the model finds; F1: their
  harmonic mean, a single-number evaluation metric.
- :func:`classification_report` -- all of the above in one JSON-safe dict.
- :func:`diagnose` -- the bias/variance diagnosis of the notes: avoidable bias is the training
  error minus the Bayes (human-level) error, variance is the dev error minus the training error,
  and each comes with its remedies.

Labels are integer class indices, ``y_true`` of shape (N,). Predictions ``y_pred`` are class
indices of shape (N,) too (use :func:`predicted_classes` to get them from network outputs).
"""

import numpy as np

from .errors import DataError


def decision_threshold(loss_spec, network=None):
    """Where a one-unit binary classifier switches class: 0.0 for a network trained with
    ``bce_logits`` (its output is the logit z), else 0.5 (a sigmoid probability).

    loss_spec : a document's training "loss" (a name, a {"type": ...} dict, or per-output losses, of
        which the first output's counts when ``network`` is given).
    """
    from .losses import get_loss

    spec = loss_spec
    if isinstance(spec, dict) and "type" not in spec:  # per-output losses
        first = network.outputs[0] if network is not None and network.outputs else None
        spec = spec.get(first, next(iter(spec.values()), "softmax_cross_entropy"))
    try:
        return 0.0 if get_loss(spec).name == "bce_logits" else 0.5
    except Exception:  # noqa: BLE001 - an unknown loss is reported where training starts
        return 0.5


def predicted_classes(outputs, threshold=0.5):
    """Class indices from network outputs.

    outputs : ndarray of shape (N, C) with C > 1 (class scores or probabilities: argmax), or of
        shape (N,) / (N, 1) (a sigmoid probability: 1 when >= ``threshold``; pass threshold=0.0 for
        logits), or (N, T, C) for sequences (argmax over the last axis, giving (N, T)).
    Returns an int ndarray of shape (N,) or (N, T).
    """
    out = np.asarray(outputs)
    if out.ndim >= 2 and out.shape[-1] > 1:
        return np.argmax(out, axis=-1)
    if out.ndim >= 2:
        out = out[..., 0]
    return (out >= threshold).astype(np.int64)


def accuracy(outputs, targets, threshold=0.5, ignore_index=-1):
    """Share of correct predictions (per token for sequences, ignoring ``ignore_index`` targets).

    outputs : network outputs (see :func:`predicted_classes`).
    targets : int ndarray of shape (N,) or (N, T); (N, 1) is accepted for binary tasks.
    Returns a float in [0, 1] (nan when there is nothing to score).
    """
    pred = predicted_classes(outputs, threshold)
    y = np.asarray(targets)
    if y.ndim == pred.ndim + 1 and y.shape[-1] == 1:
        y = y[..., 0]
    if y.shape != pred.shape:
        raise DataError(f"accuracy: predictions have shape {pred.shape}, targets {y.shape}")
    y = y.astype(np.int64, copy=False)
    mask = y != ignore_index
    n = int(mask.sum())
    if n == 0:
        return float("nan")
    return float(((pred == y) & mask).sum() / n)


def sequence_accuracy(outputs, targets, ignore_index=-1):
    """Share of whole sequences predicted exactly right (every non-padding token).

    outputs : ndarray of shape (N, T, C); targets : int ndarray of shape (N, T).
    """
    pred = predicted_classes(outputs)
    y = np.asarray(targets).astype(np.int64, copy=False)
    if y.shape != pred.shape:
        raise DataError(f"sequence accuracy: predictions have shape {pred.shape}, targets {y.shape}")
    ok = (pred == y) | (y == ignore_index)
    return float(ok.reshape(len(y), -1).all(axis=1).mean()) if len(y) else float("nan")


def _labels(y_true, y_pred, n_classes):
    t = np.asarray(y_true).reshape(-1).astype(np.int64)
    p = np.asarray(y_pred).reshape(-1).astype(np.int64)
    if t.shape != p.shape:
        raise DataError(f"{t.size} true labels but {p.size} predictions")
    if n_classes is None:
        n_classes = int(max(t.max(initial=-1), p.max(initial=-1)) + 1)
    if t.size and (t.min() < 0 or p.min() < 0 or t.max() >= n_classes or p.max() >= n_classes):
        raise DataError(f"labels must be class indices 0..{n_classes - 1}")
    return t, p, n_classes


def confusion_matrix(y_true, y_pred, n_classes=None):
    """Counts of (true, predicted) pairs.

    y_true, y_pred : int ndarrays of shape (N,).
    Returns an int64 ndarray of shape (n_classes, n_classes): rows = true class, columns =
    predicted class, so the diagonal holds the correct predictions.
    """
    t, p, k = _labels(y_true, y_pred, n_classes)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def precision_recall_f1(y_true, y_pred, n_classes=None):
    """Per-class precision, recall, F1 and support.

    Returns a dict of float64 ndarrays of shape (n_classes,): "precision", "recall", "f1",
    "support" (number of true examples per class). A class never predicted has precision 0;
    a class with no examples has recall 0 (and F1 0), as scikit-learn does.
    """
    cm = confusion_matrix(y_true, y_pred, n_classes)
    tp = np.diag(cm).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)
    actual = cm.sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / np.maximum(predicted, 1), 0.0)
        recall = np.where(actual > 0, tp / np.maximum(actual, 1), 0.0)
        denom = precision + recall
        f1 = np.where(denom > 0, 2 * precision * recall / np.where(denom > 0, denom, 1), 0.0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": actual}


def classification_report(y_true, y_pred, classes=None):
    """Everything about a classifier's predictions as one JSON-safe dict.

    y_true, y_pred : int ndarrays of shape (N,).
    classes : list of class names (its length fixes the number of classes), or None.
    Returns {"accuracy", "n", "classes": [{"name", "precision", "recall", "f1", "support"}],
    "macro": {"precision", "recall", "f1"}, "confusion_matrix": [[int]] (rows true, cols predicted)}.
    """
    n_classes = len(classes) if classes is not None else None
    t, p, k = _labels(y_true, y_pred, n_classes)
    names = [str(c) for c in classes] if classes is not None else [str(i) for i in range(k)]
    prf = precision_recall_f1(t, p, k)
    rows = [
        {"name": names[i], "precision": float(prf["precision"][i]), "recall": float(prf["recall"][i]),
         "f1": float(prf["f1"][i]), "support": int(prf["support"][i])}
        for i in range(k)
    ]
    return {
        "accuracy": float((t == p).mean()) if t.size else float("nan"),
        "n": int(t.size),
        "classes": rows,
        "macro": {key: float(prf[key].mean()) if k else float("nan") for key in ("precision", "recall", "f1")},
        "confusion_matrix": confusion_matrix(t, p, k).tolist(),
    }


def format_report(report):
    """A plain-text table of :func:`classification_report` output."""
    lines = [f"{'class':<12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for r in report["classes"]:
        lines.append(f"{r['name']:<12}{r['precision']:>10.3f}{r['recall']:>10.3f}{r['f1']:>10.3f}{r['support']:>10d}")
    m = report["macro"]
    lines.append(f"{'macro avg':<12}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>10.3f}{report['n']:>10d}")
    lines.append(f"accuracy {report['accuracy']:.4f}")
    return "\n".join(lines)


#: remedies named in the course notes
BIAS_REMEDIES = [
    "train a bigger network (more layers or more units per layer)",
    "train longer",
    "use a better optimizer (momentum, RMSprop, Adam) or tune the learning rate",
    "try a better network architecture",
]
VARIANCE_REMEDIES = [
    "get more training data",
    "regularize: L2 (weight decay) or dropout",
    "use data augmentation",
    "try a better network architecture",
]


def diagnose(bayes_error, train_error, dev_error, tolerance=0.01):
    """Bias/variance diagnosis in the course notes' terms.

    bayes_error : the best error possible (human-level error as a proxy), e.g. 0.01.
    train_error, dev_error : error rates (1 - accuracy) on the training and dev sets.
    tolerance : a gap below this is not worth acting on.
    Returns {"avoidable_bias": train - bayes, "variance": dev - train, "verdict": str,
    "focus": "bias"/"variance"/"both"/"none", "remedies": [str]}: the remedies of the larger
    problem come first.
    """
    for name, v in (("Bayes error", bayes_error), ("training error", train_error), ("dev error", dev_error)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not 0 <= v <= 1:
            raise DataError(f"{name} must be a rate between 0 and 1, got {v!r}")
    avoidable_bias = float(train_error) - float(bayes_error)
    variance = float(dev_error) - float(train_error)
    high_bias = avoidable_bias > tolerance + 1e-12  # (rounding: 0.16 - 0.15 is not above 0.01)
    high_var = variance > tolerance + 1e-12
    if high_bias and high_var:
        focus = "both"
        verdict = (f"high avoidable bias ({avoidable_bias:.1%}) and high variance ({variance:.1%}): "
                   "the network underfits the training set and does not generalize to the dev set")
        first, second = (BIAS_REMEDIES, VARIANCE_REMEDIES) if avoidable_bias >= variance else (VARIANCE_REMEDIES, BIAS_REMEDIES)
        remedies = first + [r for r in second if r not in first]
    elif high_bias:
        focus = "bias"
        verdict = (f"high avoidable bias ({avoidable_bias:.1%} above Bayes error): the network underfits "
                   "the training set")
        remedies = list(BIAS_REMEDIES)
    elif high_var:
        focus = "variance"
        verdict = (f"high variance (dev error {variance:.1%} above training error): the network overfits "
                   "the training set")
        remedies = list(VARIANCE_REMEDIES)
    else:
        focus = "none"
        verdict = "low avoidable bias and low variance: the network is close to Bayes error"
        remedies = []
    if avoidable_bias < 0:
        verdict += " (training error is below the Bayes error you gave: check it, or the network may be overfitting)"
    if variance < -tolerance:
        verdict += (" (dev error is below training error: usual while dropout or data augmentation make "
                    "training harder than the dev set, or when the dev set is small or easier)")
    return {"avoidable_bias": avoidable_bias, "variance": variance, "verdict": verdict,
            "focus": focus, "remedies": remedies}
