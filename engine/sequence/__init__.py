"""Sequence-model tasks: character language model and sampling, the dates seq2seq task with
attention, greedy and beam search decoding, error analysis and BLEU.

Importing this package registers the "dates" and "names" data sets with engine.data.

    from engine.sequence import sample, translate, beam_search, greedy_search, bleu

- :func:`sample` (charlm): names from a trained character model at a temperature.
- :func:`translate` (dates): human dates -> ISO strings with a trained dates model; the attention
  decoder's ``last_weights`` (N, T_y, T_x) then hold the weights to draw.
- :func:`greedy_search`, :func:`beam_search`, :func:`error_analysis` (decoding) take a ``step``
  function; :func:`char_model_step` and :func:`seq2seq_step` make one from a network.
- :func:`bleu`, :func:`corpus_bleu` (bleu).
"""

from . import charlm, dates  # noqa: E402
from .bleu import bleu, corpus_bleu, precisions  # noqa: F401,E402
from .charlm import apply_temperature, sample  # noqa: F401,E402
from .dates import translate  # noqa: F401,E402
from .decoding import (  # noqa: F401,E402
    Hypothesis, beam_search, char_model_step, error_analysis, greedy_search, normalised_score, seq2seq_step,
    sequence_log_prob,
)

dates.register()
charlm.register()
