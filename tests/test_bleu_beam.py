"""BLEU against hand-computed values; greedy and beam search; error analysis p(y*) vs p(y_hat)."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from engine.errors import ConfigError
from engine.sequence.bleu import bleu, brevity_penalty, corpus_bleu, modified_precision, precisions
from engine.sequence.decoding import (
    beam_search, error_analysis, greedy_search, normalised_score, sequence_log_prob,
)

REFS = ["the cat is on the mat", "there is a cat on the mat"]


# -- BLEU ---------------------------------------------------------------------------------------------
def test_modified_precision_clips_repeated_words():
    # "the" appears 7 times in the candidate but at most twice in one reference: p1 = 2/7
    assert modified_precision("the the the the the the the", REFS, 1) == (2, 7)
    assert bleu("the the the the the the the", REFS, max_n=1) == pytest.approx(2 / 7)


def test_bleu_four_grams_by_hand():
    cand = "the cat the cat on the mat"
    # unigrams: the 3->2, cat 2->1, on 1, mat 1 = 5/7; bigrams: the cat 2->1, cat the 0, cat on 1,
    # on the 1, the mat 1 = 4/6; trigrams: cat on the, on the mat = 2/5; 4-grams: cat on the mat = 1/4
    assert precisions(cand, REFS) == pytest.approx([5 / 7, 4 / 6, 2 / 5, 1 / 4])
    # c = 7 and the closest reference has 7 words: BP = 1
    expected = (5 / 7 * 4 / 6 * 2 / 5 * 1 / 4) ** 0.25
    assert bleu(cand, REFS) == pytest.approx(expected)
    assert bleu(cand, REFS) == pytest.approx(0.4671379777)


def test_brevity_penalty_by_hand():
    # candidate of 2 words against a 6-word reference: p1 = p2 = 1, BP = exp(1 - 6/2) = e^-2
    assert bleu("the cat", ["the cat is on the mat"], max_n=2) == pytest.approx(math.exp(-2))
    assert brevity_penalty(7, 6) == 1.0
    assert brevity_penalty(5, 6) == pytest.approx(math.exp(1 - 6 / 5))


def test_perfect_and_disjoint_translations():
    assert bleu("the cat is on the mat", REFS) == pytest.approx(1.0)
    assert bleu("a dog sleeps here now", REFS) == 0.0
    # a candidate with no matching 4-gram scores 0 (geometric mean)
    assert bleu("the cat on mat", REFS) == 0.0


def test_corpus_bleu_sums_counts_before_combining():
    cands = ["the cat the cat on the mat", "the cat is on the mat"]
    refs = [REFS, REFS]
    # summed: p1 = (5+6)/(7+6), p2 = (4+5)/(6+5), p3 = (2+4)/(5+4), p4 = (1+3)/(4+3); c = 13, r = 7 + 6
    expected = math.exp(sum(math.log(p) for p in (11 / 13, 9 / 11, 6 / 9, 4 / 7)) / 4)
    assert corpus_bleu(cands, refs) == pytest.approx(expected)


def test_corpus_bleu_bad_input_is_a_clear_error():
    from engine.errors import DataError

    with pytest.raises(DataError, match="one list of references"):
        corpus_bleu(["the cat"], [REFS, REFS])
    with pytest.raises(DataError, match="no reference"):
        bleu("the cat", [])


# -- toy conditional language models -------------------------------------------------------------------
def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _toy_model(seed, V=4, L=5, sharp=2.0):
    """A random model p(y<t> | position t, previous token); token 0 is the end mark."""
    table = _log_softmax(sharp * np.random.default_rng(seed).standard_normal((L + 1, V + 1, V)))

    def step(prefixes):
        return np.stack([table[len(p), (p[-1] + 1) if p else 0] for p in prefixes])

    return step


def _trap_model():
    """Greedy picks 'a' (0.6) but every continuation of 'a' is spread thin; 'b' then end is better."""
    # tokens: 0 = end, 1 = a, 2 = b, 3 = c
    def step(prefixes):
        out = []
        for p in prefixes:
            if not p:
                probs = [0.0, 0.6, 0.4, 0.0]
            elif p == [1]:
                probs = [0.25, 0.25, 0.25, 0.25]
            elif p == [2]:
                probs = [0.95, 0.02, 0.02, 0.01]
            else:
                probs = [0.97, 0.01, 0.01, 0.01]
            out.append(np.log(np.maximum(probs, 1e-12)))
        return np.array(out)

    return step


def test_beam_width_one_is_greedy():
    for seed in range(20):
        step = _toy_model(seed)
        g = greedy_search(step, eos=0, max_len=5)
        b = beam_search(step, eos=0, max_len=5, beam_width=1)
        assert b.tokens == g.tokens
        assert b.log_prob == pytest.approx(g.log_prob)


def test_beam_finds_the_sentence_greedy_misses():
    step = _trap_model()
    g = greedy_search(step, eos=0, max_len=4)
    b = beam_search(step, eos=0, max_len=4, beam_width=3, alpha=0.0, keep_greedy=False)
    assert g.tokens[0] == 1
    assert b.tokens == [2, 0]
    assert b.log_prob == pytest.approx(math.log(0.4 * 0.95))
    assert b.log_prob > g.log_prob


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), width=st.integers(2, 6), alpha=st.sampled_from([0.0, 0.5, 0.7, 1.0]))
def test_wider_beam_never_scores_lower_than_greedy(seed, width, alpha):
    step = _toy_model(seed)
    g = greedy_search(step, eos=0, max_len=5, alpha=alpha)
    b = beam_search(step, eos=0, max_len=5, beam_width=width, alpha=alpha)
    assert b.score(alpha) >= g.score(alpha) - 1e-12
    # the reported log probability is the model's, recomputed by teacher forcing
    assert sequence_log_prob(step, b.tokens) == pytest.approx(b.log_prob)


def test_beam_as_wide_as_the_search_space_is_exact():
    V, L, alpha = 3, 4, 0.7
    step = _toy_model(3, V=V, L=L)
    best = -np.inf
    for n in range(1, L + 1):
        for seq in itertools.product(range(V), repeat=n):
            seq = list(seq)
            if 0 in seq[:-1] or (seq[-1] != 0 and n < L):
                continue  # an end mark ends the sentence; unfinished ones only at max_len
            best = max(best, normalised_score(sequence_log_prob(step, seq), n, alpha))
    b = beam_search(step, eos=0, max_len=L, beam_width=V ** L, alpha=alpha, keep_greedy=False)
    assert b.score(alpha) == pytest.approx(best)


def test_length_normalisation_alpha():
    # without normalisation (alpha = 0) the short sentence wins, averaging (alpha = 1) prefers the long one
    assert normalised_score(-2.0, 1, 0.0) > normalised_score(-3.0, 4, 0.0)
    assert normalised_score(-2.0, 1, 1.0) < normalised_score(-3.0, 4, 1.0)
    with pytest.raises(ConfigError):
        beam_search(_toy_model(0), eos=0, max_len=3, beam_width=0)


def test_error_analysis_blames_search_or_model():
    step = _trap_model()
    y_hat = greedy_search(step, eos=0, max_len=4).tokens
    # the reference "b <end>" is more probable than greedy's output: the search is at fault
    r = error_analysis(step, [2, 0], y_hat, alpha=0.0)
    assert r["fault"] == "search" and r["log_p_star"] > r["log_p_hat"]
    # the reference "c <end>" is less probable than what beam search found: the model is at fault
    best = beam_search(step, eos=0, max_len=4, beam_width=3, alpha=0.0).tokens
    r = error_analysis(step, [3, 0], best, alpha=0.0)
    assert r["fault"] == "model" and r["log_p_star"] < r["log_p_hat"]
    assert error_analysis(step, best, best)["fault"] == "none"
