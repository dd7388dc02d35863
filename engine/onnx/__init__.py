"""ONNX export and import, checked against onnxruntime.

``export_network(network, path, doc_string=...)`` writes an ONNX model (opset 17, float32, a dynamic
batch dimension "batch") and checks it at once: onnx.checker, then onnxruntime on a random batch
against the engine; it returns an :class:`ExportReport` (``max_abs_diff``, ``checker_ok``, ``path``,
``ok``, ``summary()``). ``import_onnx(path)`` turns an ONNX model into a built
:class:`~engine.graph.Network` with its weights. The ``onnx``/``onnxruntime`` packages are imported
only when these run.

Export mapping (layer names become ONNX node names; a layer needing several ONNX nodes names them
"<layer>/<part>"; weights are initializers "<layer>/<key>")
    Dense -> Gemm (MatMul without bias); Activation -> Sigmoid/Tanh/Relu/LeakyRelu/Elu/Identity/
    Softmax(axis=-1), step -> Greater + Cast; Dropout -> left out; BatchNorm -> BatchNormalization
    (inference form, running statistics); Conv2D/Conv1x1/Conv1D -> Conv (explicit pads);
    MaxPool2D/AvgPool2D -> MaxPool/AveragePool (count_include_pad=0, as the engine averages real
    pixels only); GlobalAveragePooling -> GlobalAveragePool + Flatten; ZeroPadding2D -> Pad;
    Flatten, Reshape, Add (Sum for 3+), Concatenate -> Concat; SimpleRNN/GRU/LSTM -> RNN/GRU/LSTM
    (time-major Transposes around them; GRU with linear_before_reset=0 and its update gate negated,
    since ONNX's z keeps the old state; ResetAfterGRU -> GRU with linear_before_reset=1; go_backwards -> direction "reverse"; learned initial states
    -> Expand to the batch); Bidirectional -> the bidirectional form (concat or sum); TimeDistributed
    (Dense) -> MatMul + Add on the sequence, other inner layers between two Reshapes; Embedding ->
    Cast + Gather; ScaledDotProductAttention and AdditiveAttention -> MatMul/Softmax sub-graphs;
    composite layers (residual and Inception blocks, AttentionDecoder unrolled over its steps) ->
    their sub-graphs. The onnx_ops layers (Transpose, Take, LogSoftmax, SoftmaxAxis, ConstantOp)
    export to their operators.

Composite layers are listed in the model's metadata ("network-playground.composites"); our importer
folds each sub-graph back into one layer (``import_onnx(path, composites=False)`` imports the plain
operators instead). Other tools just see ordinary operators.

Import
    Operators: Gemm, MatMul (with constant weights -> Dense, of two computed tensors -> BatchMatMul),
    Add/Sub/Mul/Div (with a constant -> ConstantOp, of two computed tensors -> Add or Elementwise), Sum, Conv,
    MaxPool, AveragePool, GlobalAveragePool, BatchNormalization, Relu, LeakyRelu, Elu, Sigmoid, Tanh,
    Softmax, LogSoftmax, Flatten, Reshape, Transpose, Concat, Gather, RNN, GRU, LSTM, Dropout,
    Identity, Constant, Shape, Unsqueeze, Squeeze, Expand, Cast, ConstantOfShape, Slice (constant
    bounds), Pad (zeros), Greater (x > 0). Anything computed only from constants and from the
    known input shapes is folded with NumPy, which removes PyTorch's Shape/Gather/Unsqueeze/Concat/
    ConstantOfShape/Expand plumbing around recurrent layers; time-major tensors around RNN/GRU/LSTM
    are lazy views, so no layer is needed for their Transposes and Squeezes. MatMul + Add of a
    constant become one Dense (TimeDistributed Dense on sequences); asymmetric convolution padding
    becomes "same" when it is the same, else a ZeroPadding2D in front.

    Not supported (each one is listed in ONE UnsupportedOnnxError, a ConfigError): grouped or
    depthwise and 3-D convolutions, 3-D and dilated pooling, ceil_mode, reflect/edge padding,
    peepholes, non-constant initial states, anything that mixes the batch axis with the others
    (inputs without a shared batch axis, constants that differ across the batch, reshapes across
    it). PyTorch's and Keras' GRU (linear_before_reset=1) imports as the engine layer
    ResetAfterGRU (engine/layers/onnx_ops.py); the course notes' GRU is linear_before_reset=0.

Conformance (tests/test_onnx_conformance.py) over the onnx package's pytorch-converted and
pytorch-operator models: 49 of 49 eligible cases reproduce their outputs; 85 of the 117 use only
supported operators, 36 of those are rejected with the clear error above (listed by the test).
Counting only cases whose operators are all in the issue's own list: 76 such cases, 48 reproduce
their outputs, the other 28 are rejected with that error. The onnx package's "light" model-zoo copies of SqueezeNet, DenseNet-121 and
ResNet-50 import whole and agree with onnxruntime.
A damaged, truncated or empty file raises DocumentError.
"""

from .check import ExportReport, load_onnx_file  # noqa: F401
from .export import OPSET, export_network, to_onnx_model  # noqa: F401
from .importer import UnsupportedOnnxError, import_onnx, network_from_onnx  # noqa: F401
