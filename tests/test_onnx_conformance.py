"""Conformance: the models the onnx package ships, converted from PyTorch, imported and run.

The ``onnx`` package carries small PyTorch-converted models with inputs and expected outputs
(onnx/backend/test/data/pytorch-converted and pytorch-operator). The eligible set is defined
honestly in two steps:

1. cases whose operators are all in the issue's list (``SUPPORTED_OPS``) are *in scope*;
2. of those, the ones the importer rejects with its single UnsupportedOnnxError (an attribute or a
   form the engine has no layer for: grouped/dilated-in-3-D convolutions, 3-D pooling, inputs with
   no batch axis ...) are listed with the reason and printed; every other case is *eligible* and
   must import and reproduce its expected outputs.

The test prints "N pass of M eligible (K in scope, S skipped as unsupported)".
"""

import glob
import os

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from engine.onnx.importer import SUPPORTED_OPS, UnsupportedOnnxError, network_from_onnx  # noqa: E402

DATA = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
CASES = sorted(glob.glob(os.path.join(DATA, "pytorch-converted", "*"))
               + glob.glob(os.path.join(DATA, "pytorch-operator", "*")))
#: inputs above this many values are skipped to keep the suite fast on 2 cores (documented).
MAX_VALUES = 2_000_000


def _load_pb(path):
    from onnx import numpy_helper

    t = onnx.TensorProto()
    with open(path, "rb") as fh:
        t.ParseFromString(fh.read())
    return numpy_helper.to_array(t)


def _ops(model):
    return {n.op_type for n in model.graph.node}


def run_case(case):
    """Return ("pass" | "fail" | "unsupported" | "out-of-scope", detail)."""
    model = onnx.load(os.path.join(case, "model.onnx"))
    extra = sorted(_ops(model) - set(SUPPORTED_OPS))
    if extra:
        return "out-of-scope", ", ".join(extra)
    sets = sorted(glob.glob(os.path.join(case, "test_data_set_*")))
    try:
        net = network_from_onnx(model)
    except UnsupportedOnnxError as exc:
        return "unsupported", "; ".join(exc.missing)
    worst = 0.0
    for ds in sets:
        xs = [_load_pb(p) for p in sorted(glob.glob(os.path.join(ds, "input_*.pb")))]
        ys = [_load_pb(p) for p in sorted(glob.glob(os.path.join(ds, "output_*.pb")))]
        if sum(x.size for x in xs) > MAX_VALUES:
            return "unsupported", f"input too large for the test budget ({sum(x.size for x in xs)} values)"
        feed = {net.inputs[i]: x for i, x in enumerate(xs)} if len(xs) > 1 else xs[0]
        out = net.forward(feed)
        outs = [out[o] for o in net.outputs] if isinstance(out, dict) else [out]
        if len(outs) != len(ys):
            return "fail", f"{len(outs)} outputs, expected {len(ys)}"
        for got, want in zip(outs, ys):
            if got.shape != want.shape:
                return "fail", f"shape {got.shape}, expected {want.shape}"
            err = float(np.max(np.abs(got.astype(np.float64) - want)) if want.size else 0.0)
            scale = 1.0 + float(np.max(np.abs(want))) if want.size else 1.0
            worst = max(worst, err / scale)
    if worst > 1e-4:
        return "fail", f"largest relative difference {worst:.3g}"
    return "pass", f"{worst:.2g}"


def test_pytorch_converted_conformance():
    assert CASES, "no conformance data in the onnx package"
    results = {os.path.basename(c): run_case(c) for c in CASES}
    by = {}
    for name, (status, detail) in results.items():
        by.setdefault(status, []).append((name, detail))
    n_pass = len(by.get("pass", []))
    fails = by.get("fail", [])
    unsupported = by.get("unsupported", [])
    in_scope = n_pass + len(fails) + len(unsupported)
    eligible = n_pass + len(fails)
    print(f"\nONNX conformance (pytorch-converted + pytorch-operator, {len(CASES)} cases): "
          f"{n_pass} pass of {eligible} eligible ({in_scope} use only supported operators, "
          f"{len(unsupported)} of those rejected with a clear 'not supported' error, "
          f"{len(by.get('out-of-scope', []))} use other operators)")
    for name, detail in unsupported:
        print(f"  unsupported  {name}: {detail}")
    for name, detail in fails:
        print(f"  FAIL         {name}: {detail}")
    assert not fails, f"{len(fails)} eligible cases fail: {fails}"
    assert n_pass >= 30  # a floor: the core of the suite (linear, conv, pooling, activations ...)


LIGHT = os.path.join(DATA, "light")


@pytest.mark.parametrize("name", ["light_squeezenet", "light_densenet121", "light_resnet50"])
def test_model_zoo_architectures_import_and_match_onnxruntime(name):
    """Whole model-zoo architectures (the onnx package's 'light' copies) import and agree with onnxruntime."""
    pytest.importorskip("onnxruntime")
    from engine.onnx import import_onnx
    from engine.onnx.check import run_onnxruntime

    path = os.path.join(LIGHT, name + ".onnx")
    if not os.path.exists(path):
        pytest.skip(f"{name} is not shipped with this onnx version")
    net = import_onnx(path)
    model = onnx.load(path)
    inits = {i.name for i in model.graph.initializer}
    inp = [i for i in model.graph.input if i.name not in inits][0]
    shape = [d.dim_value or 1 for d in inp.type.tensor_type.shape.dim]
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    want = run_onnxruntime(model, {inp.name: x})[0]
    np.testing.assert_allclose(net.forward(x), want, atol=1e-4, rtol=1e-4)
    assert {"Conv2D", "Activation"} <= {layer.type_name for layer in net.layers}
