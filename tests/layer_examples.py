"""A small example configuration for every registered layer type.

tests/test_config_roundtrip.py round-trips every layer type through get_config/from_config using
these examples, and FAILS for a registered type that has no entry here. When you add a layer type,
append an entry:

    LAYER_EXAMPLES["MyLayer"] = [
        {"config": {"units": 3}, "input_shapes": [(5,)]},
    ]

config : the keyword settings (JSON-safe) given to from_config (no "name" needed).
input_shapes : per-sample input shapes (no batch axis), one tuple per input.
Integer-input layers (Embedding) set ``integer_inputs = True`` and ``input_dim`` on the layer; the
tests then feed random ids below input_dim.
"""

LAYER_EXAMPLES = {
    "Input": [
        {"config": {"shape": [4]}, "input_shapes": [(4,)]},
        {"config": {"shape": [1, 28, 28]}, "input_shapes": [(1, 28, 28)]},
    ],
    "Dense": [
        {"config": {"units": 3}, "input_shapes": [(5,)]},
        {"config": {"units": 2, "use_bias": False, "initializer": "he", "l1": 0.01, "l2": 0.1,
                    "trainable": False}, "input_shapes": [(4,)]},
    ],
    "Flatten": [{"config": {}, "input_shapes": [(2, 3, 4)]}],
    "Reshape": [
        {"config": {"shape": [1, 2, 3]}, "input_shapes": [(6,)]},
        {"config": {"shape": [-1, 2]}, "input_shapes": [(2, 3, 2)]},
    ],
    "Activation": [
        {"config": {"kind": k}, "input_shapes": [(3, 4)]}
        for k in ("sigmoid", "tanh", "relu", "linear", "softmax", "step")
    ] + [
        {"config": {"kind": "leaky_relu", "alpha": 0.2}, "input_shapes": [(5,)]},
        {"config": {"kind": "elu", "alpha": 0.7}, "input_shapes": [(5,)]},
    ],
    "Dropout": [
        {"config": {"rate": 0.3}, "input_shapes": [(6,)]},
        {"config": {"rate": 0.5, "seed": 3}, "input_shapes": [(2, 4, 4)]},
    ],
    "BatchNorm": [
        {"config": {}, "input_shapes": [(5,)]},
        {"config": {"momentum": 0.8, "epsilon": 1e-3}, "input_shapes": [(3, 4, 4)]},
        {"config": {}, "input_shapes": [(2, 7)]},
        {"config": {"trainable": False}, "input_shapes": [(3, 2, 2)]},
    ],
    "Add": [
        {"config": {}, "input_shapes": [(4,), (4,)]},
        {"config": {}, "input_shapes": [(2, 3, 3), (2, 3, 3), (2, 3, 3)]},
    ],
    "Concatenate": [
        {"config": {}, "input_shapes": [(3,), (2,)]},
        {"config": {"axis": 0}, "input_shapes": [(2, 3, 3), (1, 3, 3)]},
    ],
}

# ONNX import layers (engine/layers/onnx_ops.py, helper E)
LAYER_EXAMPLES["Transpose"] = [{"config": {"perm": [1, 0]}, "input_shapes": [(3, 4)]},
                               {"config": {"perm": [2, 0, 1]}, "input_shapes": [(2, 3, 4)]}]
LAYER_EXAMPLES["Take"] = [{"config": {"indices": [2, 0], "axis": 0}, "input_shapes": [(3, 4)]},
                          {"config": {"indices": 1, "axis": -1}, "input_shapes": [(2, 3)]}]
LAYER_EXAMPLES["LogSoftmax"] = [{"config": {"axis": -1}, "input_shapes": [(5,)]},
                                {"config": {"axis": 0}, "input_shapes": [(3, 2, 2)]}]
LAYER_EXAMPLES["SoftmaxAxis"] = [{"config": {"axis": 0}, "input_shapes": [(3, 2, 2)]}]
LAYER_EXAMPLES["ResetAfterGRU"] = [{"config": {"units": 3, "return_sequences": True}, "input_shapes": [(4, 2)]},
                                   {"config": {"units": 2, "initial_state": "learned"}, "input_shapes": [(3, 3)]}]
LAYER_EXAMPLES["Elementwise"] = [{"config": {"op": "mul"}, "input_shapes": [(3, 4), (1, 4)]},
                                 {"config": {"op": "div"}, "input_shapes": [(2, 3), (2, 3)]}]
LAYER_EXAMPLES["BatchMatMul"] = [{"config": {}, "input_shapes": [(3, 4), (4, 2)]}]
LAYER_EXAMPLES["ConstantOp"] = [{"config": {"op": "add", "value": [1.0, -2.0, 0.5]}, "input_shapes": [(3,)]},
                                {"config": {"op": "mul", "value": [[2.0], [0.5]], "trainable": True},
                                 "input_shapes": [(2, 3)]}]

# Convolution family and composite blocks (engine/layers/conv.py, blocks.py, helper C)
LAYER_EXAMPLES["Conv2D"] = [
    {"config": {"filters": 3, "kernel_size": 3}, "input_shapes": [(2, 6, 6)]},
    {"config": {"filters": 2, "kernel_size": [3, 2], "stride": [2, 1], "padding": "same", "dilation": 1,
                "use_bias": False, "initializer": "he", "l2": 0.01}, "input_shapes": [(1, 7, 5)]},
    {"config": {"filters": 2, "kernel_size": 3, "padding": 2, "dilation": 2}, "input_shapes": [(2, 5, 5)]},
    # 4+ input channels, stride 1: the shift kernels (engine.blas) instead of im2col
    {"config": {"filters": 3, "kernel_size": [3, 2], "padding": "same"}, "input_shapes": [(4, 5, 6)]},
]
LAYER_EXAMPLES["Conv1x1"] = [{"config": {"filters": 2}, "input_shapes": [(4, 3, 3)]}]
LAYER_EXAMPLES["Conv1D"] = [
    {"config": {"filters": 3, "kernel_size": 3}, "input_shapes": [(2, 8)]},
    {"config": {"filters": 2, "kernel_size": 5, "stride": 2, "padding": "same", "dilation": 1}, "input_shapes": [(3, 9)]},
]
LAYER_EXAMPLES["ZeroPadding2D"] = [{"config": {"padding": 1}, "input_shapes": [(2, 3, 3)]},
                                   {"config": {"padding": [1, 0, 2, 1]}, "input_shapes": [(1, 3, 4)]}]
LAYER_EXAMPLES["MaxPool2D"] = [{"config": {"pool_size": 2}, "input_shapes": [(2, 6, 6)]},
                               {"config": {"pool_size": 3, "stride": 2, "padding": "same"}, "input_shapes": [(2, 7, 7)]}]
LAYER_EXAMPLES["AvgPool2D"] = [{"config": {"pool_size": 2}, "input_shapes": [(2, 6, 6)]},
                               {"config": {"pool_size": [2, 3], "stride": 1, "padding": 1}, "input_shapes": [(1, 5, 5)]}]
LAYER_EXAMPLES["GlobalAveragePooling2D"] = [{"config": {}, "input_shapes": [(3, 4, 4)]}]
LAYER_EXAMPLES["GlobalAveragePooling1D"] = [{"config": {}, "input_shapes": [(3, 7)]}]
LAYER_EXAMPLES["ResidualIdentityBlock"] = [{"config": {"filters": 3}, "input_shapes": [(3, 4, 4)]}]
LAYER_EXAMPLES["ResidualConvBlock"] = [{"config": {"filters": 4, "stride": 2}, "input_shapes": [(2, 5, 5)]}]
LAYER_EXAMPLES["InceptionModule"] = [{"config": {"f1": 2, "f3_reduce": 2, "f3": 3, "f5_reduce": 1, "f5": 2,
                                                 "pool_proj": 2}, "input_shapes": [(3, 4, 4)]}]

# Sequence layers (engine/layers/recurrent.py, embedding.py, attention.py, helper D)
LAYER_EXAMPLES["SimpleRNN"] = [
    {"config": {"units": 4}, "input_shapes": [(5, 3)]},
    {"config": {"units": 3, "return_sequences": True, "go_backwards": True, "initial_state": "learned",
                "l2": 0.01}, "input_shapes": [(4, 2)]},
    {"config": {"units": 3, "return_sequences": True}, "input_shapes": [(4, 2), (3,)]},
]
LAYER_EXAMPLES["GRU"] = [
    {"config": {"units": 4}, "input_shapes": [(5, 3)]},
    {"config": {"units": 3, "return_sequences": True, "initial_state": "learned"}, "input_shapes": [(4, 2)]},
]
LAYER_EXAMPLES["LSTM"] = [
    {"config": {"units": 4}, "input_shapes": [(5, 3)]},
    {"config": {"units": 3, "return_sequences": True, "go_backwards": True}, "input_shapes": [(4, 2)]},
    {"config": {"units": 3}, "input_shapes": [(4, 2), (3,), (3,)]},
]
LAYER_EXAMPLES["Bidirectional"] = [
    {"config": {"layer": {"type": "LSTM", "config": {"units": 3, "return_sequences": True}}},
     "input_shapes": [(4, 2)]},
    {"config": {"layer": {"type": "GRU", "config": {"units": 3}}, "merge": "sum"}, "input_shapes": [(4, 2)]},
]
LAYER_EXAMPLES["TimeDistributed"] = [
    {"config": {"layer": {"type": "Dense", "config": {"units": 3}}}, "input_shapes": [(4, 5)]},
]
LAYER_EXAMPLES["Embedding"] = [
    {"config": {"input_dim": 10, "output_dim": 4}, "input_shapes": [(6,)]},
]
LAYER_EXAMPLES["AdditiveAttention"] = [
    {"config": {"units": 5}, "input_shapes": [(3,), (6, 4)]},
    {"config": {"units": 2}, "input_shapes": [(2, 3), (6, 4)]},
]
LAYER_EXAMPLES["ScaledDotProductAttention"] = [
    {"config": {}, "input_shapes": [(3, 4), (5, 4), (5, 2)]},
    {"config": {"causal": True}, "input_shapes": [(4, 4), (4, 4)]},
]
LAYER_EXAMPLES["AttentionDecoder"] = [
    {"config": {"steps": 3, "units": 4, "attention_units": 5}, "input_shapes": [(6, 4)]},
]
