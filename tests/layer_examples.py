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
LAYER_EXAMPLES["ConstantOp"] = [{"config": {"op": "add", "value": [1.0, -2.0, 0.5]}, "input_shapes": [(3,)]},
                                {"config": {"op": "mul", "value": [[2.0], [0.5]], "trainable": True},
                                 "input_shapes": [(2, 3)]}]
