"""Run history: every training run's settings, per-epoch metrics and final scores in SQLite.

The database lives in the user's data folder (``platformdirs.user_data_dir``), or wherever the
``NNPLAY_DATA_DIR`` environment variable points. Each epoch is committed as it arrives, so closing
the window mid-run loses nothing already reported. This module needs no Qt.
"""

import csv
import io
import json
import os
import sqlite3
import time

from engine.errors import DataError

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    dataset TEXT NOT NULL DEFAULT '',
    started REAL NOT NULL,
    finished REAL,
    status TEXT NOT NULL DEFAULT 'running',
    settings TEXT NOT NULL DEFAULT '{}',
    final TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS epochs (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    train_loss REAL, train_accuracy REAL, dev_loss REAL, dev_accuracy REAL,
    lr REAL, seconds REAL,
    PRIMARY KEY (run_id, epoch)
);
"""

#: per-epoch columns, in CSV order.
EPOCH_FIELDS = ("epoch", "train_loss", "train_accuracy", "dev_loss", "dev_accuracy", "lr", "seconds")


def data_dir():
    """The app's data folder (run history, autosave, own digit samples): $NNPLAY_DATA_DIR, or the
    platform's user data folder."""
    folder = os.environ.get("NNPLAY_DATA_DIR")
    if not folder:
        import platformdirs

        folder = platformdirs.user_data_dir("network-playground", "network-playground")
    return folder


def default_path():
    """Where the run database lives: runs.sqlite in :func:`data_dir`."""
    return os.path.join(data_dir(), "runs.sqlite")


def _num(v):
    """A JSON/SQLite-safe float (None for missing or non-finite values)."""
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f and abs(f) != float("inf") else None


def _json(obj):
    return json.dumps(obj, default=lambda o: _num(o) if not isinstance(o, (list, dict)) else str(o),
                      allow_nan=False)


class RunHistory:
    """The SQLite run history.

    Parameters
    ----------
    path : str or None
        Database file; None uses :func:`default_path`. ":memory:" works for tests.
    """

    def __init__(self, path=None):
        self.path = path or default_path()
        try:
            if self.path != ":memory:":
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self._db = sqlite3.connect(self.path)
            self._db.execute("PRAGMA foreign_keys = ON")
            if self.path != ":memory:":
                # write-ahead log, no fsync per commit: a commit costs microseconds instead of a disk
                # flush, so the GUI thread can store every epoch as it arrives. Committed rows
                # survive the application closing or crashing (only a power cut may lose the
                # last ones).
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.executescript(SCHEMA)
            self._db.commit()
        except (sqlite3.DatabaseError, OSError) as exc:  # e.g. a data folder that cannot be created
            raise DataError(f"cannot open the run history {self.path}: {exc}") from None

    def close(self):
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- writing -------------------------------------------------------------------------------
    def start_run(self, name, settings, dataset=""):
        """Record a new run; return its id. ``settings``: the document's training and data dicts."""
        cur = self._db.execute(
            "INSERT INTO runs (name, dataset, started, settings) VALUES (?, ?, ?, ?)",
            (str(name), str(dataset), time.time(), _json(settings)))
        self._db.commit()
        return int(cur.lastrowid)

    def add_epochs(self, run_id, epochs):
        """Store per-epoch metric dicts (keys of :data:`EPOCH_FIELDS`); committed at once."""
        rows = [(run_id, int(e["epoch"]), *(_num(e.get(k)) for k in EPOCH_FIELDS[1:])) for e in epochs]
        if rows:
            self._db.executemany("INSERT OR REPLACE INTO epochs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self._db.commit()

    def add_epoch(self, run_id, epoch):
        self.add_epochs(run_id, [epoch])

    def finish_run(self, run_id, status, final=None):
        """Mark a run finished ("finished", "cancelled", "diverged", "early_stopping", "error")."""
        final = {k: v for k, v in (final or {}).items() if k != "history"}
        self._db.execute("UPDATE runs SET finished = ?, status = ?, final = ? WHERE id = ?",
                         (time.time(), str(status), _json(final), run_id))
        self._db.commit()

    def delete_run(self, run_id):
        self._db.execute("DELETE FROM epochs WHERE run_id = ?", (run_id,))
        self._db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        self._db.commit()

    # -- reading -------------------------------------------------------------------------------
    def runs(self):
        """Every run, newest first: dicts with id, name, dataset, started, finished, status,
        settings (dict), final (dict) and epochs (count)."""
        cur = self._db.execute(
            "SELECT r.id, r.name, r.dataset, r.started, r.finished, r.status, r.settings, r.final, "
            "(SELECT COUNT(*) FROM epochs e WHERE e.run_id = r.id) FROM runs r ORDER BY r.id DESC")
        return [self._run_dict(row) for row in cur.fetchall()]

    def run(self, run_id):
        cur = self._db.execute(
            "SELECT r.id, r.name, r.dataset, r.started, r.finished, r.status, r.settings, r.final, "
            "(SELECT COUNT(*) FROM epochs e WHERE e.run_id = r.id) FROM runs r WHERE r.id = ?", (run_id,))
        row = cur.fetchone()
        if row is None:
            raise DataError(f"no run #{run_id} in the history")
        return self._run_dict(row)

    @staticmethod
    def _run_dict(row):
        keys = ("id", "name", "dataset", "started", "finished", "status", "settings", "final", "epochs")
        d = dict(zip(keys, row))
        for k in ("settings", "final"):
            try:
                d[k] = json.loads(d[k] or "{}")
            except ValueError:
                d[k] = {}
        return d

    def epochs(self, run_id):
        """Per-epoch metrics of a run as {field: list} (fields of :data:`EPOCH_FIELDS`)."""
        cur = self._db.execute(
            f"SELECT {', '.join(EPOCH_FIELDS)} FROM epochs WHERE run_id = ? ORDER BY epoch", (run_id,))
        rows = cur.fetchall()
        return {k: [r[i] for r in rows] for i, k in enumerate(EPOCH_FIELDS)}

    def to_csv(self, run_id):
        """The run as CSV text: '#'-comment lines with its settings and final scores, then one
        row per epoch."""
        run = self.run(run_id)
        data = self.epochs(run_id)
        buf = io.StringIO()
        buf.write(f"# run {run['id']}: {run['name']} ({run['dataset']}), status {run['status']}\n")
        buf.write(f"# settings: {json.dumps(run['settings'], sort_keys=True)}\n")
        buf.write(f"# final: {json.dumps(run['final'], sort_keys=True)}\n")
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(EPOCH_FIELDS)
        for i in range(len(data["epoch"])):
            w.writerow(["" if data[k][i] is None else data[k][i] for k in EPOCH_FIELDS])
        return buf.getvalue()

    def export_csv(self, run_id, path):
        """Write :meth:`to_csv` to ``path`` atomically (``engine.io.atomic_write``: temp file in the
        same folder + os.replace); an unwritable folder raises DocumentError."""
        from engine.io import atomic_write

        text = self.to_csv(run_id)
        atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))
        return path
