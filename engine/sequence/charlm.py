"""Character-level language model on a bundled list of names, and sampling at a temperature.

The model reads a name one character at a time and predicts the next one: the input sequence is
"\\n" + name (the newline marks the start), the target sequence is name + "\\n" (the newline marks
the end, EOS). Positions after the end are padding (target -1, ignored by the loss). Trained, the
model gives p(next character | characters so far); sampling draws one character at a time from it
and feeds it back in until it draws the end mark.

Temperature T reshapes the distribution before drawing: p_i^(1/T) renormalised. T < 1 makes the
model bolder about its favourite characters (more common-looking names), T > 1 flatter (more
surprising ones), T -> 0 is greedy.
"""

import os

import numpy as np

from ..errors import DataError

EOS = "\n"
CORPUS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "resources", "text")
CORPORA = {"names": "names.txt"}


def read_corpus(name="names"):
    """The words of a bundled corpus (lower-case, one per line). Returns a list of str."""
    fname = CORPORA.get(name)
    if fname is None:
        raise DataError(f"unknown corpus '{name}' (known: {', '.join(sorted(CORPORA))})")
    path = os.path.join(CORPUS_DIR, fname)
    try:
        with open(path, encoding="utf-8") as fh:
            words = [w.strip().lower() for w in fh if w.strip()]
    except OSError as exc:
        raise DataError(f"cannot read the bundled corpus {path}: {exc.strerror or exc}") from None
    return words


def corpus_vocab(words):
    """EOS first, then every character of the corpus in sorted order."""
    return [EOS] + sorted({c for w in words for c in w} - {EOS})


def encode_words(words, vocab, T):
    """Words -> (x ids (N, T), y ids (N, T)) for next-character prediction (y padded with -1)."""
    index = {c: i for i, c in enumerate(vocab)}
    x = np.zeros((len(words), T), dtype=np.int64)
    y = np.full((len(words), T), -1, dtype=np.int64)
    for i, w in enumerate(words):
        w = w[:T - 1]
        ids = [index[c] for c in w if c in index]
        x[i, 1:len(ids) + 1] = ids
        y[i, :len(ids)] = ids
        y[i, len(ids)] = 0
    return x, y


def load_names(options, split, seed):
    """Bundled given names for a character-level language model: ids (N, T) -> next ids (N, T)."""
    from ..data.base import check_options, get_number, make_splits

    options = check_options(options, {"corpus", "max_len"}, "names")
    corpus = options.get("corpus", "names")
    if not isinstance(corpus, str):
        raise DataError("option 'corpus' must be a corpus name such as \"names\"")
    words = read_corpus(corpus)
    vocab = corpus_vocab(words)
    max_len = get_number(options, "max_len", max(len(w) for w in words), 2, 100, integer=True)
    T = max_len + 1
    x, y = encode_words(words, vocab, T)
    info = {"vocab": vocab, "T": T, "corpus": corpus}
    return make_splits(x.astype(np.float32), y, split, seed, task="classification", classes=vocab,
                       name="names", stratify=False, info=info)


def vocab_for_data(data_cfg):
    """The vocabulary a document's "data" dict implies (for sampling from a saved model)."""
    options = (data_cfg or {}).get("options") or {}
    return corpus_vocab(read_corpus(options.get("corpus", "names")))


def apply_temperature(probs, temperature):
    """Reshape probabilities: p^(1/T) renormalised along the last axis (T > 0)."""
    if not temperature > 0:
        raise DataError(f"the temperature must be positive, got {temperature}")
    logp = np.log(np.maximum(np.asarray(probs, dtype=np.float64), 1e-30)) / temperature
    logp -= logp.max(axis=-1, keepdims=True)
    p = np.exp(logp)
    return p / p.sum(axis=-1, keepdims=True)


def sample(network, vocab, count=10, temperature=1.0, seed=None, max_len=None, prefix=""):
    """Generate ``count`` words from a trained character model.

    network : a causal character model whose input is ids of shape (N, T) and output next-character
        probabilities of shape (N, T, len(vocab)).
    Returns a list of str (without the end mark). All samples are drawn in one batch; step t runs
    the network on the first t characters (padded to T; later padding cannot affect earlier outputs
    of a forward-only RNN).
    """
    if count < 1:
        raise DataError(f"count must be at least 1, got {count}")
    rng = np.random.default_rng(seed)
    T = network[network.inputs[0]].shape[0]
    max_len = T - 1 if max_len is None else min(int(max_len), T - 1)
    index = {c: i for i, c in enumerate(vocab)}
    start = [index[c] for c in prefix.lower() if c in index][:max_len]
    x = np.zeros((count, T), dtype=network.dtype)
    x[:, 1:len(start) + 1] = start
    done = np.zeros(count, dtype=bool)
    words = [list(start) for _ in range(count)]
    for t in range(len(start), max_len):
        probs = network.forward(x, training=False)[:, t, :]
        p = apply_temperature(probs, temperature)
        cum = p.cumsum(axis=1)
        draws = (cum < rng.random((count, 1)) * cum[:, -1:]).sum(axis=1)
        draws = np.minimum(draws, len(vocab) - 1)
        for i in range(count):
            if done[i]:
                continue
            if draws[i] == 0:
                done[i] = True
            else:
                words[i].append(int(draws[i]))
                if t + 1 < T:
                    x[i, t + 1] = draws[i]  # the drawn character is the next step's input
        if done.all():
            break
    return ["".join(vocab[i] for i in w) for w in words]


def register():
    from ..data import register_dataset

    register_dataset("names", load_names, "Bundled given names for a character-level language model (next character)")
