"""Sequence-model tasks: character language model and sampling, the dates seq2seq task with
attention, greedy and beam search decoding, error analysis and BLEU."""
