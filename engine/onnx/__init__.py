"""ONNX export and import, checked against onnxruntime.

``export_network(network, path, doc_string=...)`` writes an ONNX model (opset 17) and checks it at
once (onnx.checker and onnxruntime against the engine); ``import_onnx(path)`` turns an ONNX model
made of common operators (as PyTorch and Keras export them) into a :class:`~engine.graph.Network`
with its weights. The ``onnx`` and ``onnxruntime`` packages are imported only when these run.
"""

from .check import ExportReport, load_onnx_file  # noqa: F401
from .export import OPSET, export_network, to_onnx_model  # noqa: F401
from .importer import import_onnx, network_from_onnx  # noqa: F401
