"""Every layer type of the engine. Importing this package registers them all."""

from .base import LAYER_TYPES, Layer, layer_from_config, register  # noqa: F401
from .core import Dense, Flatten, Input, Reshape  # noqa: F401
from .activations import Activation  # noqa: F401
from .conv import (  # noqa: F401
    AvgPool2D, Conv1D, Conv1x1, Conv2D, GlobalAveragePooling1D, GlobalAveragePooling2D, MaxPool2D, ZeroPadding2D,
)
from .recurrent import GRU, LSTM, Bidirectional, SimpleRNN, TimeDistributed  # noqa: F401
from .embedding import Embedding  # noqa: F401
from .regularization import Dropout  # noqa: F401
from .normalization import BatchNorm  # noqa: F401
from .merge import Add, Concatenate  # noqa: F401
from .attention import AdditiveAttention, AttentionDecoder, ScaledDotProductAttention  # noqa: F401
from .onnx_ops import (  # noqa: F401,E402  (ONNX import)
    BatchMatMul, ConstantOp, Elementwise, LogSoftmax, ResetAfterGRU, SoftmaxAxis, Take, Transpose,
)
from .blocks import InceptionModule, ResidualConvBlock, ResidualIdentityBlock  # noqa: F401
