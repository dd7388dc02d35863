"""The dates translation task: human-readable dates -> ISO dates (YYYY-MM-DD).

"3 may 1979", "tuesday, march 5 2002", "05.03.02" ... are generated with Python's ``datetime``
from random days; the target is "1979-05-03". A sequence-to-sequence model with attention reads
the T_x characters of the human date and writes the T_y = 10 characters of the ISO date.

Conventions the generator keeps, so the task has one right answer: numeric dates are day first
(dd.mm.yy, dd/mm/yyyy), and a two-digit year yy means 19yy when yy >= 50, else 20yy (dates are
drawn from 1950-01-01 to 2049-12-31).

Vocabularies: ``HUMAN_VOCAB`` (input characters; id 0 is padding "<pad>", 1 is "<unk>") and
``MACHINE_VOCAB`` ("-" and the ten digits). Inputs are id arrays of shape (N, T_x), targets int
arrays of shape (N, T_y).
"""

import datetime

import numpy as np

from ..errors import DataError

TX = 30
TY = 10
PAD, UNK = "<pad>", "<unk>"
_CHARS = " ,-./0123456789abcdefghijklmnopqrstuvwxyz"
HUMAN_VOCAB = [PAD, UNK] + list(_CHARS)
MACHINE_VOCAB = list("-0123456789")
_H_INDEX = {c: i for i, c in enumerate(HUMAN_VOCAB)}
_M_INDEX = {c: i for i, c in enumerate(MACHINE_VOCAB)}

_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
           "october", "november", "december"]
_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]

_START = datetime.date(1950, 1, 1).toordinal()
_END = datetime.date(2049, 12, 31).toordinal()


def _formats(d):
    """Every human way this generator writes date ``d``."""
    month, mon = _MONTHS[d.month - 1], _MONTHS[d.month - 1][:3]
    day = _DAYS[d.weekday()]
    yy = f"{d.year % 100:02d}"
    return [
        f"{d.day} {month} {d.year}",
        f"{d.day} {mon} {d.year}",
        f"{day}, {month} {d.day} {d.year}",
        f"{day} {d.day} {month} {d.year}",
        f"{month} {d.day}, {d.year}",
        f"{mon} {d.day} {d.year}",
        f"{d.day:02d}.{d.month:02d}.{yy}",
        f"{d.day:02d}/{d.month:02d}/{d.year}",
        f"{d.day}.{d.month}.{d.year}",
        f"{d.year}-{d.month:02d}-{d.day:02d}",
        f"{d.day:02d} {mon} {yy}",
        f"{day[:3]}, {d.day} {mon} {d.year}",
    ]


def human_date(d, rng):
    """One random human-readable rendering of ``d`` (a datetime.date)."""
    forms = _formats(d)
    return forms[int(rng.integers(len(forms)))]


def random_dates(n, seed=0):
    """``n`` pairs (human, iso) of random dates. Returns two lists of str."""
    rng = np.random.default_rng(seed)
    ords = rng.integers(_START, _END + 1, size=n)
    human, iso = [], []
    for o in ords:
        d = datetime.date.fromordinal(int(o))
        human.append(human_date(d, rng))
        iso.append(d.isoformat())
    return human, iso


def encode_human(texts, tx=TX):
    """Strings -> ids of shape (N, tx) (lower-cased, truncated to tx, padded with 0)."""
    out = np.zeros((len(texts), tx), dtype=np.int64)
    for i, s in enumerate(texts):
        ids = [_H_INDEX.get(c, 1) for c in s.lower()[:tx]]
        out[i, :len(ids)] = ids
    return out


def encode_machine(texts):
    """ISO strings -> ids of shape (N, 10)."""
    try:
        return np.array([[_M_INDEX[c] for c in s] for s in texts], dtype=np.int64).reshape(len(texts), TY)
    except (KeyError, ValueError):
        raise DataError("ISO dates must be 10 characters of digits and '-'") from None


def decode_machine(ids):
    """ids of shape (N, 10) (or (10,)) -> ISO strings (a list, or one str)."""
    ids = np.asarray(ids)
    if ids.ndim == 1:
        return "".join(MACHINE_VOCAB[int(i)] for i in ids)
    return ["".join(MACHINE_VOCAB[int(i)] for i in row) for row in ids]


def load_dates(options, split, seed):
    """Human-readable dates to ISO dates (seq2seq with attention): ids (N, 30) -> ids (N, 10)."""
    from ..data.base import check_options, get_number, make_splits

    options = check_options(options, {"n", "tx"}, "dates")
    n = get_number(options, "n", 10000, 100, 1_000_000, integer=True)
    tx = get_number(options, "tx", TX, 12, 200, integer=True)
    human, iso = random_dates(n, seed=seed + 12345)
    x = encode_human(human, tx).astype(np.float32)
    y = encode_machine(iso)
    info = {"input_vocab": HUMAN_VOCAB, "output_vocab": MACHINE_VOCAB, "tx": tx, "ty": TY,
            "accuracy": "sequence"}  # the Trainer scores whole dates (exact match)
    splits = make_splits(x, y, split, seed, task="classification", classes=MACHINE_VOCAB, name="dates",
                         stratify=False, info=info)
    return splits


def translate(network, texts, tx=None):
    """Translate human dates with a trained network (greedy, argmax per step). Returns ISO strings."""
    if tx is None:
        tx = network[network.inputs[0]].shape[0]
    probs = network.predict(encode_human(texts, tx).astype(network.dtype))
    return decode_machine(np.argmax(probs, axis=-1))


def exact_match(network, x, y):
    """Share of dates translated exactly right. x : ids (N, T_x); y : ids (N, T_y)."""
    pred = np.argmax(network.predict(x), axis=-1)
    return float(np.mean(np.all(pred == np.asarray(y), axis=1))) if len(y) else float("nan")


def register():
    from ..data import register_dataset

    register_dataset("dates", load_dates,
                     "Human-readable dates (\"3 may 1979\", \"05.03.02\") to ISO dates: a seq2seq task for attention")
