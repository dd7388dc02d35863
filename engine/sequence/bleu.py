"""BLEU (bilingual evaluation understudy): one number for how close a translation is to references.

For n = 1..4 the modified n-gram precision p_n counts the candidate's n-grams, each clipped to the
largest number of times it appears in any one reference ("the the the the" gets credit for "the" at
most as often as a reference has it), divided by the number of candidate n-grams. BLEU combines them
as a geometric mean and multiplies by a brevity penalty BP that punishes candidates shorter than
the reference (short outputs would otherwise get high precision):

    BLEU = BP * exp(sum_n w_n log p_n),  w_n = 1/N,
    BP = 1 if c > r else exp(1 - r / c)

with c the candidate length and r the reference length closest to c (the shorter on ties).
Sentences are token lists (or strings, split on spaces).
"""

from collections import Counter
import math

from ..errors import DataError


def _tokens(s):
    return s.split() if isinstance(s, str) else list(s)


def ngrams(tokens, n):
    """Counter of the n-grams (tuples) of ``tokens``."""
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def modified_precision(candidate, references, n):
    """(clipped matches, total candidate n-grams) for n-grams of size ``n``."""
    cand = ngrams(_tokens(candidate), n)
    max_ref = Counter()
    for ref in references:
        for g, c in ngrams(_tokens(ref), n).items():
            max_ref[g] = max(max_ref[g], c)
    clipped = sum(min(c, max_ref[g]) for g, c in cand.items())
    return clipped, sum(cand.values())


def closest_ref_length(candidate, references):
    c = len(_tokens(candidate))
    lengths = [len(_tokens(r)) for r in references]
    return min(lengths, key=lambda r: (abs(r - c), r))


def brevity_penalty(c, r):
    if c == 0:
        return 0.0
    return 1.0 if c > r else math.exp(1 - r / c)


def corpus_bleu(candidates, references_list, max_n=4, weights=None):
    """BLEU over a corpus: n-gram counts and lengths are summed over sentences before combining.

    candidates : list of sentences; references_list : for each candidate, a list of references.
    Returns a float in [0, 1] (0 when some p_n is 0).
    """
    if len(candidates) != len(references_list):
        raise DataError(f"one list of references is needed per candidate: {len(candidates)} candidates, "
                        f"{len(references_list)} reference lists")
    weights = weights or [1.0 / max_n] * max_n
    num = [0] * max_n
    den = [0] * max_n
    c_len = r_len = 0
    for cand, refs in zip(candidates, references_list):
        refs = list(refs)
        if not refs:
            raise DataError(f"candidate {_tokens(cand)!r} has no reference to compare with")
        for n in range(1, max_n + 1):
            m, t = modified_precision(cand, refs, n)
            num[n - 1] += m
            den[n - 1] += t
        c_len += len(_tokens(cand))
        r_len += closest_ref_length(cand, refs)
    if min(num) == 0 or min(den) == 0:
        return 0.0
    log_p = sum(w * math.log(m / t) for w, m, t in zip(weights, num, den))
    return brevity_penalty(c_len, r_len) * math.exp(log_p)


def bleu(candidate, references, max_n=4, weights=None):
    """Sentence BLEU of ``candidate`` against ``references`` (see the module docstring)."""
    return corpus_bleu([candidate], [list(references)], max_n=max_n, weights=weights)


def precisions(candidate, references, max_n=4):
    """[p_1, ..., p_max_n] as floats (for display)."""
    out = []
    for n in range(1, max_n + 1):
        m, t = modified_precision(candidate, references, n)
        out.append(m / t if t else 0.0)
    return out
