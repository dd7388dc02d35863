"""``nnplay sample MODEL --temperature T --count N``: generate words from a trained character model.

Registered with engine.cli.register_subcommand (engine.cli imports this module when it builds its
parser).
"""

from ..errors import DataError


def _args_sample(p):
    p.add_argument("model", metavar="MODEL", help="a trained character model (.npz from `nnplay train DOC --save`)")
    p.add_argument("--temperature", type=float, default=1.0,
                   help="below 1: bolder, more typical samples; above 1: more surprising ones (default 1)")
    p.add_argument("--count", type=int, default=10, help="how many sequences to generate (default 10)")
    p.add_argument("--seed", type=int, default=None, help="seed of the random draws (default: different every run)")
    p.add_argument("--prefix", default="", help="start every sample with these characters")
    p.add_argument("--json", action="store_true", help="print one JSON list instead of one sample per line")


def cmd_sample(args):
    import json

    from ..io import is_model_file, load_any, resolve_path
    from .charlm import sample, vocab_for_data

    path = resolve_path(args.model)
    if not is_model_file(path):
        raise DataError(f"{args.model} is not a trained model: train one with "
                        "`nnplay train presets/char_names.json --save names.npz` and sample from names.npz")
    doc = load_any(path)
    if args.count < 1 or args.count > 100000:
        raise DataError(f"--count must be between 1 and 100000, got {args.count}")
    if not args.temperature > 0:
        raise DataError(f"--temperature must be positive, got {args.temperature}")
    net = doc.network
    if len(net.inputs) != 1 or len(net.outputs) != 1:
        raise DataError("sampling needs a character model with one input and one output")
    vocab = vocab_for_data(doc.data) if doc.data.get("name") == "names" else None
    shapes = net.infer_shapes()
    out_shape = shapes[net.outputs[0]]
    if vocab is None or len(out_shape) != 2 or out_shape[-1] != len(vocab):
        raise DataError("this model is not a character model (it must be trained on the 'names' data set and "
                        "output next-character probabilities of shape (T, vocabulary))")
    words = sample(net, vocab, count=args.count, temperature=args.temperature, seed=args.seed, prefix=args.prefix)
    if args.json:
        print(json.dumps(words), flush=True)
    else:
        for w in words:
            print(w, flush=True)
    return 0


def register():
    from ..cli import register_subcommand

    register_subcommand("sample", "generate sequences from a trained character model at a temperature",
                        _args_sample, cmd_sample)


register()
