"""Errors the engine raises for people, not for programmers.

Every error here carries a message that can be shown as it is: on the canvas, in a dialog or as the
one line the command line prints before exiting with code 2.
"""


class EngineError(Exception):
    """Base class of every user-facing engine error."""


class ShapeError(EngineError):
    """A layer cannot accept the shape it is given.

    ``node`` names the graph node (or layer) at fault so the canvas can turn that node red.
    """

    def __init__(self, message, node=None):
        super().__init__(message)
        self.node = node


class GraphError(EngineError):
    """The graph itself is wrong: a cycle, a dangling link, a missing input or output."""

    def __init__(self, message, node=None):
        super().__init__(message)
        self.node = node


class ConfigError(EngineError):
    """An unknown layer type, option or a hyperparameter out of range."""


class DocumentError(EngineError):
    """A network document or model file cannot be read (malformed, foreign, truncated)."""


class DataError(EngineError):
    """A data set cannot be found, read or does not fit the network."""
