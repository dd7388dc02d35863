"""Options of the data sets that other parts of the engine register (engine/sequence), declared
here so the window's form can edit them and :func:`~engine.data.base.check_dataset_options` can
check them. A loader that passes ``options=`` to ``register_dataset`` itself replaces these.

Both options below change the length of the input sequences: the network's Input layer must have
the same length (the training dock says so before a run starts).
"""

from .base import OptionSpec, declare_options

declare_options("names", (
    OptionSpec("corpus", "choice", "names", choices=("names",),
               help="The bundled word list the character-level language model learns from."),
    OptionSpec("max_len", "int", None, 2, 100, label="longest word", optional=True,
               none_text="the longest name",
               help="Longest word, in characters: longer words are cut. The input sequences are one "
                    "step longer (the start mark), so the network's Input length must follow."),
))

declare_options("dates", (
    OptionSpec("n", "int", 10000, 100, 1_000_000, step=1000, label="samples",
               help="Number of (human date, ISO date) pairs drawn; the split fractions share them into "
                    "train, dev and test."),
    OptionSpec("tx", "int", 30, 12, 200, label="input length",
               help="Length T_x of the human-readable input sequence (padded); the network's Input "
                    "length must be the same."),
))
