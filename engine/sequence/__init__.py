"""Sequence-model tasks: character language model and sampling, the dates seq2seq task with
attention, greedy and beam search decoding, error analysis and BLEU.

Importing this package registers the "dates" and "names" data sets with engine.data.
"""

from . import charlm, dates  # noqa: E402

dates.register()
charlm.register()
