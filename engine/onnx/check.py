"""Reading ONNX files safely and checking an export against onnxruntime."""

import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import DocumentError


@dataclass
class ExportReport:
    """What the check right after an export found.

    max_abs_diff : largest |engine - onnxruntime| over every output of a sample batch (float32).
    checker_ok : onnx.checker accepted the model.
    path : where the model was written (None when only built in memory).
    """

    max_abs_diff: float
    checker_ok: bool
    path: str = None
    opset: int = 17
    tolerance: float = 1e-4
    checker_message: str = ""
    batch_size: int = 0
    notes: list = field(default_factory=list)

    @property
    def ok(self):
        return self.checker_ok and self.max_abs_diff <= self.tolerance

    def summary(self):
        """One line for the status bar or the command line."""
        verdict = "OK" if self.ok else "MISMATCH"
        checker = "passed" if self.checker_ok else f"FAILED ({self.checker_message})"
        where = f" -> {self.path}" if self.path else ""
        return (f"ONNX export{where} (opset {self.opset}): onnx.checker {checker}; onnxruntime vs engine on "
                f"{self.batch_size} samples: largest difference {self.max_abs_diff:.3g} "
                f"(tolerance {self.tolerance:g}) {verdict}")


def _require_onnx():
    try:
        import onnx  # noqa: F401
    except ImportError:  # pragma: no cover - onnx is a declared dependency
        raise DocumentError("ONNX support needs the 'onnx' package (pip install onnx)") from None
    return onnx


def load_onnx_file(path):
    """Read and validate an .onnx file; any damage is a DocumentError with a readable message."""
    onnx = _require_onnx()
    from google.protobuf.message import DecodeError

    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise DocumentError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not data:
        raise DocumentError(f"{path} is empty: not an ONNX model")
    try:
        model = onnx.ModelProto()
        model.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise DocumentError(f"{path} is not a readable ONNX model (truncated or corrupted?): {exc}") from None
    except Exception as exc:  # noqa: BLE001 - protobuf raises assorted errors on garbage
        raise DocumentError(f"{path} is not a readable ONNX model (truncated or corrupted?): {exc}") from None
    if not model.HasField("graph") or len(model.graph.node) == 0 and len(model.graph.output) == 0:
        raise DocumentError(f"{path} holds no ONNX graph (truncated or not an ONNX model)")
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer):
        try:
            from onnx.external_data_helper import load_external_data_for_model

            load_external_data_for_model(model, os.path.dirname(os.path.abspath(path)))
        except Exception as exc:  # noqa: BLE001
            raise DocumentError(f"{path}: its weights live in external files that cannot be read: {exc}") from None
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # noqa: BLE001 - checker raises ValidationError and others
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DocumentError(f"{path} is not a valid ONNX model: {first}") from None
    return model


def sample_batch(network, batch=4, seed=0):
    """A batch of inputs for every Input node: indices for embeddings, normal values otherwise."""
    rng = np.random.default_rng(seed)
    shapes = network.infer_shapes()
    feed = {}
    for name in network.inputs:
        shape = (batch,) + tuple(shapes[name])
        vocab = None
        for reader in network.consumers(name):
            layer = network[reader]
            if layer.type_name == "Embedding":
                vocab = int(getattr(layer, "input_dim", getattr(layer, "vocab_size", 0)) or 0)
        if vocab:
            feed[name] = rng.integers(0, vocab, size=shape).astype(np.float32)
        else:
            feed[name] = rng.standard_normal(shape).astype(np.float32)
    return feed


def run_onnxruntime(model, feeds):
    """Run an in-memory ModelProto with onnxruntime on the CPU; returns a list of outputs."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    return sess.run(None, {n: feeds[n] for n in names})


def compare_with_onnxruntime(network, model, batch=4, seed=0):
    """Largest |engine - onnxruntime| difference over every output for a random float32 batch."""
    feed = sample_batch(network, batch=batch, seed=seed)
    ort_feed = {}
    for i, name in zip(model.graph.input, network.inputs):
        ort_feed[i.name] = feed[name]
    ort_out = run_onnxruntime(model, ort_feed)
    eng = network.forward(feed if len(feed) > 1 else feed[network.inputs[0]], training=False)
    if not isinstance(eng, dict):
        eng = {network.outputs[0]: eng}
    diff = 0.0
    for o, arr in zip(network.outputs, ort_out):
        e = np.asarray(eng[o], dtype=np.float64)
        a = np.asarray(arr, dtype=np.float64)
        if e.shape != a.shape:
            return float("inf")
        if e.size:
            diff = max(diff, float(np.max(np.abs(e - a))))
    return diff
