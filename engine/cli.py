"""``nnplay``: the engine from the command line (also ``python -m engine``).

    nnplay train DOC [--epochs N] [--batch-size B] [--lr X] [--optimizer NAME] [--seed S] [--save OUT] [--json]
    nnplay summary DOC
    nnplay gradcheck DOC
    nnplay evaluate MODEL
    nnplay predict MODEL INPUT.npy --out OUT.npy
    nnplay list
    nnplay download-mnist [--cache-dir DIR]

DOC is a network document (.json), a model file (.npz) or the name of a preset ("spiral" ->
presets/spiral.json). Bad input ends with one line on stderr, "nnplay: error: ...", and exit code 2.

Subcommands live in :data:`SUBCOMMANDS`, a table name -> (help, add_arguments, run). To add one,
write ``_args_<name>(parser)`` and ``cmd_<name>(args) -> exit code`` and add a row (or call
:func:`register_subcommand` from another module imported here).
"""

import argparse
import json
import math
import os
import sys

import numpy as np

from .errors import EngineError

PROG = "nnplay"


class CLIError(EngineError):
    """A command-line usage problem (bad arguments): printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise CLIError(f"{message} (see '{self.prog} --help')")


def _out(line=""):
    print(line, flush=True)


def _fmt(v, digits=4):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _json_safe(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, (np.floating, np.integer)):
        return _json_safe(v.item())
    if isinstance(v, dict):
        return {str(k): _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    return v


# -- shared helpers --------------------------------------------------------------------------------
def _load(spec, strict=True):
    from .io import load_any

    return load_any(spec, strict=strict)


def _splits(doc):
    from .data import load_dataset

    return load_dataset(doc.data)


def _doc_args(p, what="DOC"):
    p.add_argument("doc", metavar=what, help="a document (.json), a model file (.npz) or a preset name")


# -- train -----------------------------------------------------------------------------------------
def _args_train(p):
    _doc_args(p)
    p.add_argument("--epochs", type=int, help="number of passes over the training set")
    p.add_argument("--batch-size", type=int, help="mini-batch size (1: stochastic gradient descent)")
    p.add_argument("--lr", type=float, help="learning rate alpha")
    p.add_argument("--optimizer", help="sgd, momentum, rmsprop or adam")
    p.add_argument("--seed", type=int, help="seed of the weights and the shuffling")
    p.add_argument("--save", metavar="OUT", help="write the trained model (.npz: document + weights)")
    p.add_argument("--json", action="store_true", help="make the last line of stdout one JSON object of results")
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")


RESULT_KEYS = ("train_loss", "train_accuracy", "dev_accuracy", "test_accuracy", "epochs", "seconds",
               "seconds_per_epoch")


def cmd_train(args):
    from .io import save_document, save_model
    from .training import TrainConfig, Trainer

    doc = _load(args.doc)
    config = TrainConfig.from_dict(doc.training, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                   optimizer=args.optimizer, seed=args.seed)
    splits = _splits(doc)
    net = doc.network
    if not net.built:
        net.build(seed=config.seed)
    n_train, n_dev, n_test = splits.sizes()
    if not args.quiet:
        _out(f"{doc.name}: {net.param_count()} parameters; {splits.describe()}")

    def on_event(ev):
        kind = ev.get("type")
        if kind == "epoch" and not args.quiet:
            _out(f"epoch {ev['epoch'] + 1}/{ev['epochs']}  train_loss {_fmt(ev['train_loss'])}  "
                 f"train_acc {_fmt(ev['train_accuracy'])}  dev_loss {_fmt(ev['dev_loss'])}  "
                 f"dev_acc {_fmt(ev['dev_accuracy'])}  lr {ev['lr']:.3g}  {ev['seconds']:.2f}s")
        elif kind == "diverged":
            print(f"{PROG}: training diverged: {ev.get('message')}", file=sys.stderr, flush=True)

    trainer = Trainer(net, splits, config, callback=on_event, throttle=1.0, epoch_throttle=0.0)
    result = trainer.run()
    if not args.quiet:
        _out(f"finished ({result.get('stopped')}): train_acc {_fmt(result.get('train_accuracy'))}  "
             f"dev_acc {_fmt(result.get('dev_accuracy'))}  test_acc {_fmt(result.get('test_accuracy'))}  "
             f"test_loss {_fmt(result.get('test_loss'))}  {result.get('seconds', 0):.1f}s")
    if args.save:
        doc.training = config.to_dict()
        if args.save.lower().endswith(".json"):
            save_document(doc, args.save)
            print(f"{PROG}: note: a .json document holds no weights; use .npz to keep them", file=sys.stderr)
        else:
            save_model(doc, args.save)
        if not args.quiet:
            _out(f"saved {args.save}")
    if args.json:
        out = {k: result.get(k) for k in RESULT_KEYS}
        out.update({k: result.get(k) for k in ("dev_loss", "test_loss", "stopped") if k in result})
        _out(json.dumps(_json_safe(out)))
    return 1 if result.get("stopped") == "diverged" else 0


# -- summary ---------------------------------------------------------------------------------------
def _args_summary(p):
    _doc_args(p)


def cmd_summary(args):
    doc = _load(args.doc, strict=False)
    net = doc.network
    _out(f"{doc.name}" + (f": {doc.description}" if doc.description else ""))
    _out(net.summary())
    errors = [r for r in net.summary_rows() if r["error"]]
    if errors:
        raise CLIError(errors[0]["error"])
    return 0


# -- gradcheck -------------------------------------------------------------------------------------
def _args_gradcheck(p):
    _doc_args(p)
    p.add_argument("--batch", type=int, default=4, help="number of training samples to check on (default 4)")
    p.add_argument("--max-checks", type=int, default=200,
                   help="components of each layer's theta to check (default 200; 0: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threshold", type=float, default=1e-5, help="largest acceptable relative error (1e-5)")


def cmd_gradcheck(args):
    from .gradcheck import check_network

    if args.batch < 1:
        raise CLIError("--batch must be at least 1")
    doc = _load(args.doc)
    splits = _splits(doc)
    net = doc.network
    if not net.built:
        net.build(seed=args.seed)
    x, y = splits.x_train[:args.batch], splits.y_train[:args.batch]
    errors = check_network(net, x, y, doc.training["loss"], max_checks=args.max_checks or None, seed=args.seed)
    worst = 0.0
    _out(f"{'layer':<28}{'relative error':>16}")
    for name, err in errors.items():
        bad = not (err <= args.threshold)
        worst = max(worst, err) if math.isfinite(err) else float("inf")
        _out(f"{name:<28}{err:>16.3e}{'  FAIL' if bad else ''}")
    ok = worst <= args.threshold
    _out(f"{'passed' if ok else 'FAILED'}: largest relative error {worst:.3e} (threshold {args.threshold:g})")
    return 0 if ok else 1


# -- evaluate --------------------------------------------------------------------------------------
def _args_evaluate(p):
    _doc_args(p, "MODEL")
    p.add_argument("--split", choices=("test", "dev", "train"), default="test", help="which part of the data (test)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")


def cmd_evaluate(args):
    from . import metrics

    doc = _load(args.doc)
    splits = _splits(doc)
    x, y = getattr(splits, f"x_{args.split}"), getattr(splits, f"y_{args.split}")
    if len(x) == 0:
        raise CLIError(f"the {args.split} split of '{splits.name}' is empty")
    out = doc.network.predict(x)
    if isinstance(out, dict):
        raise CLIError("evaluate handles networks with one output; this one has " + ", ".join(out))
    if splits.task != "classification":
        mse = float(np.mean((out.reshape(len(y), -1) - np.asarray(y).reshape(len(y), -1)) ** 2))
        report = {"task": "regression", "n": int(len(y)), "mse": mse}
        _out(json.dumps(report) if args.json else f"{args.split}: {len(y)} samples, mean squared error {mse:.6f}")
        return 0
    # a bce_logits network outputs logits z: class 1 is z >= 0 (as the trainer scores it), not z >= 0.5
    threshold = metrics.decision_threshold(doc.training["loss"], doc.network)
    pred = metrics.predicted_classes(out, threshold=threshold)
    y = np.asarray(y)
    if y.ndim > 1:  # sequences: score every time step
        mask = y.reshape(-1) >= 0
        y, pred = y.reshape(-1)[mask], np.asarray(pred).reshape(-1)[mask]
    report = metrics.classification_report(y, pred, splits.classes or None)
    if args.json:
        _out(json.dumps(_json_safe(report)))
        return 0
    _out(f"{doc.name} on the {args.split} split of {splits.name} ({report['n']} samples)")
    _out(metrics.format_report(report))
    _out("confusion matrix (rows: true class, columns: predicted):")
    names = [r["name"][:8] for r in report["classes"]]
    width = max(6, max(len(n) for n in names) + 1, len(str(report["n"])) + 1)
    _out(" " * width + "".join(f"{n:>{width}}" for n in names))
    for n, row in zip(names, report["confusion_matrix"]):
        _out(f"{n:>{width}}" + "".join(f"{v:>{width}d}" for v in row))
    return 0


# -- predict ---------------------------------------------------------------------------------------
def _args_predict(p):
    _doc_args(p, "MODEL")
    p.add_argument("input", metavar="INPUT.npy", help="a batch of inputs, shape (n, *input_shape)")
    p.add_argument("--out", metavar="OUT.npy", help="where to write the outputs (default: print them)")


def _save_npy_atomic(path, array):
    from .io import atomic_write

    if isinstance(array, dict):
        atomic_write(path, lambda fh: np.savez(fh, **array))
    else:
        atomic_write(path, lambda fh: np.save(fh, array, allow_pickle=False))


def cmd_predict(args):
    from .errors import DataError

    doc = _load(args.doc)
    net = doc.network
    try:
        x = np.load(args.input, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"cannot read {args.input} as a .npy array: {exc}") from None
    if not isinstance(x, np.ndarray):
        raise DataError(f"{args.input} must hold one array (.npy), not an archive")
    if not np.issubdtype(x.dtype, np.number):
        raise DataError(f"{args.input} holds {x.dtype} values, not numbers")
    shapes = net.infer_shapes()
    in_names = net.inputs
    if len(in_names) != 1:
        raise DataError(f"the network has {len(in_names)} inputs; predict takes one")
    want = shapes[in_names[0]]
    if tuple(x.shape) == tuple(want):
        x = x[None]  # one sample: add the batch axis
    if tuple(x.shape[1:]) != tuple(want):
        raise DataError(f"{args.input} has shape {x.shape}; the network takes (n, {', '.join(map(str, want))})")
    if np.issubdtype(x.dtype, np.floating):
        x = x.astype(net.dtype, copy=False)
    y = net.predict(x)
    if args.out:
        _save_npy_atomic(args.out, y)
        shape = {k: v.shape for k, v in y.items()} if isinstance(y, dict) else y.shape
        _out(f"wrote {args.out}: outputs of shape {shape}")
    else:
        with np.printoptions(precision=4, suppress=True, threshold=10000):
            if isinstance(y, dict):
                for k, v in y.items():
                    _out(f"{k}:\n{v}")
            else:
                _out(str(y))
    return 0


# -- list ------------------------------------------------------------------------------------------
def _args_list(p):
    pass


def cmd_list(args):
    from .data import DATASET_DESCRIPTIONS, dataset_names
    from .io import PRESETS_DIR, list_presets, load_document

    _out(f"presets ({PRESETS_DIR}):")
    for name in list_presets():
        try:
            desc = load_document(os.path.join(PRESETS_DIR, name + ".json"), strict=False).description
        except EngineError as exc:
            desc = f"(unreadable: {exc})"
        _out(f"  {name:<24}{desc.splitlines()[0] if desc else ''}")
    _out("data sets:")
    for name in dataset_names():
        _out(f"  {name:<24}{DATASET_DESCRIPTIONS.get(name, '')}")
    return 0


# -- download-mnist --------------------------------------------------------------------------------
def _args_download_mnist(p):
    p.add_argument("--cache-dir", help="where to keep the files (default: the user cache folder)")
    p.add_argument("--base-url", help="a mirror holding the four .gz files")


def cmd_download_mnist(args):
    from .data.mnist import MNIST_URL, download_mnist

    def progress(name, done, total):
        if total and done == total:
            _out(f"  {name}: {total} bytes")

    folder = download_mnist(args.cache_dir, base_url=args.base_url or MNIST_URL, progress=progress)
    _out(f"MNIST is in {folder} (SHA-256 checked); use {{\"name\": \"mnist\", \"options\": "
         f"{{\"cache_dir\": {json.dumps(folder)}}}}} or just {{\"name\": \"mnist\"}} for the default folder")
    return 0


#: name -> (help, add_arguments(parser), run(args) -> exit code). Others add rows here.
SUBCOMMANDS = {
    "train": ("train a network; one line per epoch", _args_train, cmd_train),
    "summary": ("each layer's output shape and parameter count, and any shape error", _args_summary, cmd_summary),
    "gradcheck": ("check backpropagation against two-sided differences; exit 1 above 1e-5",
                  _args_gradcheck, cmd_gradcheck),
    "evaluate": ("accuracy, precision, recall, F1 and confusion matrix of a model on the test split",
                 _args_evaluate, cmd_evaluate),
    "predict": ("the outputs of a model for a batch of inputs (.npy)", _args_predict, cmd_predict),
    "list": ("the presets and data sets", _args_list, cmd_list),
    "download-mnist": ("download the full MNIST once into a cache folder, checking SHA-256 sums",
                       _args_download_mnist, cmd_download_mnist),
}


def register_subcommand(name, help, add_arguments, run):
    """Add a subcommand (for modules that extend the command line)."""
    SUBCOMMANDS[name] = (help, add_arguments, run)


def build_parser():
    from . import __version__
    from .onnx import cli as _onnx_cli  # noqa: F401  (registers the export and import subcommands)
    from .sequence import cli as _sequence_cli  # noqa: F401  (registers the sample subcommand)

    parser = _Parser(prog=PROG, description="Network Playground's engine from the command line.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (help_text, add_arguments, _run) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_arguments(p)
    return parser


def main(argv=None):
    """Entry point of ``nnplay``; returns (and exits with) the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser().parse_args(argv)
        if not args.command:
            build_parser().print_help()
            return 2
        code = SUBCOMMANDS[args.command][2](args)
    except BrokenPipeError:  # pragma: no cover - e.g. `nnplay ... | head` (an OSError: catch it first)
        code = 0
    except (EngineError, OSError, ValueError) as exc:
        msg = str(exc).strip().replace("\n", " ") or type(exc).__name__
        print(f"{PROG}: error: {msg}", file=sys.stderr, flush=True)
        code = 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        code = 130
    return code


def run():  # pragma: no cover - console script wrapper
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
