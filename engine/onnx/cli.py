"""The ``nnplay export`` and ``nnplay import`` subcommands (registered into engine.cli).

    nnplay export MODEL OUT.onnx [--doc-string TEXT]   writes the file, prints the check and the largest difference
    nnplay import IN.onnx OUT[.npz|.json]       writes a model file (document + weights) the canvas can open
"""

import os

from ..cli import _doc_args, _load, _out, register_subcommand


def _args_export(p):
    _doc_args(p, "MODEL")
    p.add_argument("out", metavar="OUT.onnx", help="where to write the ONNX model")
    p.add_argument("--doc-string", default=None, help="the model's doc string (default: the document's description)")
    p.add_argument("--batch", type=int, default=4, help="how many random samples the onnxruntime check runs")


def cmd_export(args):
    from .export import export_network

    doc = _load(args.doc)
    net = doc.network
    if not net.built:
        net.build(seed=doc.training.get("seed", 0))
    text = args.doc_string if args.doc_string is not None else (doc.description or doc.name or "")
    report = export_network(net, args.out, doc_string=text, batch=max(1, args.batch))
    _out(report.summary())
    _out(f"largest difference: {report.max_abs_diff:.3g}")
    return 0 if report.ok else 1


def _args_import(p):
    p.add_argument("onnx", metavar="IN.onnx", help="an ONNX model (e.g. exported from PyTorch or Keras)")
    p.add_argument("out", metavar="OUT", help="a model file (.npz, with weights) or a document (.json, no weights)")
    p.add_argument("--name", default=None, help="the document's name (default: the file name)")


def cmd_import(args):
    from ..io import Document, save_document, save_model
    from .check import load_onnx_file
    from .importer import import_onnx

    model = load_onnx_file(args.onnx)  # read and checked once: the network and the description
    net = import_onnx(args.onnx, model=model)
    name = args.name or os.path.splitext(os.path.basename(args.onnx))[0]
    desc = model.doc_string or f"imported from {os.path.basename(args.onnx)}"
    if model.producer_name:
        desc += f" (made by {model.producer_name} {model.producer_version}".rstrip() + ")"
    doc = Document(name=name, description=desc, network=net)
    if args.out.lower().endswith(".json"):
        path = save_document(doc, args.out)
        _out(f"wrote {path} (a document: the weights are not kept; use .npz to keep them)")
    else:
        path = save_model(doc, args.out)
        _out(f"wrote {path} ({len(net.nodes)} nodes, {net.param_count()} parameters)")
    _out(net.summary())
    return 0


register_subcommand("export", "export a model to ONNX (opset 17), checked at once against onnxruntime",
                    _args_export, cmd_export)
register_subcommand("import", "turn an ONNX model into a model file (document + weights) for the canvas",
                    _args_import, cmd_import)
