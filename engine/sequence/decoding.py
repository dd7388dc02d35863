"""Decoding a conditional language model: greedy search, beam search, error analysis.

A model is given to these functions as a ``step`` function::

    step(prefixes) -> log_probs

prefixes : list of B token lists (the tokens chosen so far, without any start mark);
log_probs : ndarray of shape (B, V), log p(next token | x, prefix) for each prefix.

Greedy search takes the most probable token at every step. Beam search keeps the B most probable
partial sentences (by the SUM of log probabilities, which does not underflow like a product of
probabilities) and extends each by every token; finished sentences (ending with ``eos``) are set
aside. The final choice uses the length-normalised score

    score(y) = (1 / len(y)^alpha) * sum_t log p(y<t> | x, y<1..t-1>)

(alpha = 0: no normalisation, which favours short outputs; alpha = 1: the average log probability;
alpha ~ 0.7 is a common compromise).

Error analysis (the notes' "who is at fault, the RNN or the beam search?"): compare the model's
probability of the human reference y* with that of the decoded output y_hat. If p(y*) > p(y_hat),
the search missed a better sentence (a search error: widen the beam); otherwise the model itself
prefers the wrong output (a model error: fix the RNN).
"""

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError


def normalised_score(log_prob, length, alpha):
    """(1 / length^alpha) * log_prob."""
    return float(log_prob) / (max(int(length), 1) ** float(alpha))


@dataclass
class Hypothesis:
    tokens: list
    log_prob: float
    finished: bool

    def score(self, alpha):
        return normalised_score(self.log_prob, len(self.tokens), alpha)


def greedy_search(step, eos, max_len, alpha=0.7):
    """Pick the most probable token at each step until ``eos`` or ``max_len`` tokens.

    Returns a :class:`Hypothesis` (tokens include the final ``eos`` when one was produced).
    """
    tokens, total = [], 0.0
    for _ in range(int(max_len)):
        lp = np.asarray(step([tokens]))[0]
        tok = int(np.argmax(lp))
        tokens.append(tok)
        total += float(lp[tok])
        if eos is not None and tok == eos:
            return Hypothesis(tokens, total, True)
    return Hypothesis(tokens, total, False)


def beam_search(step, eos, max_len, beam_width=3, alpha=0.7, keep_greedy=True, return_all=False):
    """Beam search with width B = ``beam_width`` and length normalisation exponent ``alpha``.

    At every step each of the B live hypotheses is extended by every token; the B best by sum of
    log probabilities stay alive, those that end with ``eos`` are finished. After ``max_len``
    steps (or when no hypothesis is alive) the best by :func:`normalised_score` among the finished
    ones (and those still alive at ``max_len``) is returned.

    Beam width 1 is exactly greedy search. With ``keep_greedy`` the greedy hypothesis is also a
    candidate for the final choice: plain beam search can, rarely, prune the greedy path early and
    end with a lower normalised score than greedy; keeping it guarantees that a wider beam never
    scores lower than greedy on the same model (it costs one extra decode).

    Returns the best :class:`Hypothesis`, or with ``return_all`` the list of candidates sorted
    best first.
    """
    B = int(beam_width)
    if B < 1:
        raise ConfigError(f"the beam width must be at least 1, got {beam_width}")
    live = [Hypothesis([], 0.0, False)]
    done = []
    for _ in range(int(max_len)):
        lp = np.asarray(step([h.tokens for h in live]), dtype=np.float64)   # (len(live), V)
        V = lp.shape[1]
        total = lp + np.array([h.log_prob for h in live])[:, None]
        flat = total.ravel()
        k = min(B, flat.size)
        # top-k by sum of log probs; ties broken by lower index (stable, so B=1 matches argmax)
        order = np.argsort(-flat, kind="stable")[:k]
        new_live = []
        for idx in order:
            parent, tok = divmod(int(idx), V)
            h = Hypothesis(live[parent].tokens + [tok], float(flat[idx]), eos is not None and tok == eos)
            (done if h.finished else new_live).append(h)
        live = new_live
        if not live:
            break
    candidates = done + live
    if keep_greedy and B > 1:
        candidates.append(greedy_search(step, eos, max_len, alpha))
    candidates.sort(key=lambda h: -h.score(alpha))
    return candidates if return_all else candidates[0]


def sequence_log_prob(step, tokens):
    """log p(tokens | x) = sum_t log p(y<t> | x, y<1..t-1>) (teacher forcing, one step call)."""
    tokens = [int(t) for t in tokens]
    if not tokens:
        return 0.0
    lp = np.asarray(step([tokens[:t] for t in range(len(tokens))]), dtype=np.float64)
    return float(lp[np.arange(len(tokens)), tokens].sum())


def error_analysis(step, y_star, y_hat, alpha=0.7):
    """Blame a wrong output on the search or on the model, by comparing p(y*) with p(y_hat).

    y_star : the reference (correct) tokens; y_hat : the tokens the search produced.
    Returns a dict with both log probabilities, both normalised scores and ``"fault"``:
    "search" when the model prefers y* (beam search missed it: try a wider beam),
    "model" when the model prefers y_hat (the RNN is at fault), or "none" when y_hat == y*.
    """
    lp_star = sequence_log_prob(step, y_star)
    lp_hat = sequence_log_prob(step, y_hat)
    s_star = normalised_score(lp_star, len(y_star), alpha)
    s_hat = normalised_score(lp_hat, len(y_hat), alpha)
    if list(y_star) == list(y_hat):
        fault = "none"
    elif s_star > s_hat:
        fault = "search"
    else:
        fault = "model"
    return {"log_p_star": lp_star, "log_p_hat": lp_hat, "score_star": s_star, "score_hat": s_hat, "fault": fault}


# -- step functions for networks ------------------------------------------------------------------
def char_model_step(network, prefix_ids=(), start_id=0):
    """A step function for a causal character model (input ids (N, T) starting with ``start_id``).

    prefix_ids : tokens that condition the output (given before the search starts).
    """
    T = network[network.inputs[0]].shape[0]
    base = [int(i) for i in prefix_ids]

    def step(prefixes):
        x = np.full((len(prefixes), T), start_id, dtype=network.dtype)
        pos = []
        for i, p in enumerate(prefixes):
            seq = (base + list(p))[:T - 1]
            x[i, 1:len(seq) + 1] = seq
            pos.append(len(seq))
        probs = network.forward(x, training=False)
        out = probs[np.arange(len(prefixes)), pos]
        return np.log(np.maximum(out, 1e-30))

    return step


def seq2seq_step(network, x):
    """A step function for a model that outputs all T_y distributions at once (the dates model).

    x : one input sample (ids of shape (T_x,)). The outputs do not depend on the prefix, so greedy
    search is already optimal here and beam search returns the same answer.
    """
    probs = network.forward(np.asarray(x, dtype=network.dtype)[None], training=False)[0]
    logp = np.log(np.maximum(probs, 1e-30))

    def step(prefixes):
        return np.stack([logp[min(len(p), len(logp) - 1)] for p in prefixes])

    return step
