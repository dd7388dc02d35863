"""The training dock: controls, a worker thread running the engine's Trainer, live plots,
evaluation and the run history.

Import :class:`playground.training.dock.TrainingDock` for the dock itself; :mod:`.history` and
:mod:`.health` need no Qt.
"""
