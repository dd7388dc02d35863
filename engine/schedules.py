"""Learning-rate schedules: learning-rate decay by epoch.

Once training nears a minimum a smaller learning rate lets it settle instead of bouncing around it
(the course notes' "learning rate decay"). A schedule maps the base learning rate ``lr0`` and the
epoch number (0 for the first epoch) to the learning rate used during that epoch:

- ``constant``: ``lr0``
- ``inverse_time``: ``lr0 / (1 + decay_rate * epoch)``
- ``exponential``: ``lr0 * decay_rate ** epoch``
- ``staircase``: ``lr0 * decay_rate ** floor(epoch / step)`` (drops every ``step`` epochs)

Document form: ``{"type": "inverse_time", "decay_rate": 0.5}``, ``{"type": "exponential",
"decay_rate": 0.95}``, ``{"type": "staircase", "decay_rate": 0.5, "step": 10}`` (``rate`` is
accepted as another name for ``decay_rate``).
"""

import math
import numbers

from .errors import ConfigError


class Schedule:
    """Base class. ``schedule(lr0, epoch)`` returns the learning rate for that epoch."""

    type_name = ""
    options = ()

    def __call__(self, lr0, epoch):
        return float(lr0)

    def get_config(self):
        cfg = {"type": self.type_name}
        for k in self.options:
            cfg[k] = getattr(self, k)
        return cfg

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


class Constant(Schedule):
    """The learning rate never changes."""

    type_name = "constant"


class InverseTime(Schedule):
    """``lr0 / (1 + decay_rate * epoch)``."""

    type_name = "inverse_time"
    options = ("decay_rate",)

    def __init__(self, decay_rate=1.0):
        self.decay_rate = float(decay_rate)

    def __call__(self, lr0, epoch):
        return float(lr0) / (1.0 + self.decay_rate * epoch)


class Exponential(Schedule):
    """``lr0 * decay_rate ** epoch``."""

    type_name = "exponential"
    options = ("decay_rate",)

    def __init__(self, decay_rate=0.95):
        self.decay_rate = float(decay_rate)

    def __call__(self, lr0, epoch):
        return float(lr0) * self.decay_rate ** epoch


class Staircase(Schedule):
    """``lr0 * decay_rate ** floor(epoch / step)``: a drop every ``step`` epochs."""

    type_name = "staircase"
    options = ("decay_rate", "step")

    def __init__(self, decay_rate=0.5, step=10):
        self.decay_rate = float(decay_rate)
        self.step = int(step)

    def __call__(self, lr0, epoch):
        return float(lr0) * self.decay_rate ** math.floor(epoch / self.step)


SCHEDULES = {
    "constant": Constant,
    "inverse_time": InverseTime,
    "exponential": Exponential,
    "staircase": Staircase,
}


def schedule_names():
    return list(SCHEDULES)


def get_schedule(config):
    """Build a schedule from a name or a ``{"type": ..., options}`` dict (None: constant).

    Raises ConfigError for unknown names/options and out-of-range values.
    """
    if config is None:
        return Constant()
    if isinstance(config, str):
        config = {"type": config}
    if not isinstance(config, dict):
        raise ConfigError(f"the schedule must be a name or an object with a 'type', got {config!r}")
    cfg = dict(config)
    name = cfg.pop("type", "constant")
    if not isinstance(name, str) or name.lower() not in SCHEDULES:
        raise ConfigError(f"unknown learning-rate schedule {name!r} (known: {', '.join(SCHEDULES)})")
    cls = SCHEDULES[name.lower()]
    if "rate" in cfg:
        if "decay_rate" in cfg:
            raise ConfigError(f"schedule '{name}': give 'decay_rate' or 'rate', not both")
        cfg["decay_rate"] = cfg.pop("rate")
    unknown = [k for k in cfg if k not in cls.options]
    if unknown:
        allowed = ", ".join(cls.options) or "none"
        raise ConfigError(f"schedule '{name}' has no option {unknown[0]!r} (its options: {allowed})")
    for key, value in cfg.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ConfigError(f"schedule '{name}': {key} must be a number, got {value!r}")
    if "decay_rate" in cfg:
        r = cfg["decay_rate"]
        if cls is InverseTime and r < 0:
            raise ConfigError(f"schedule '{name}': decay_rate must be >= 0, got {r}")
        if cls is not InverseTime and not 0 < r <= 1:
            raise ConfigError(f"schedule '{name}': decay_rate must be in (0, 1], got {r}")
    if "step" in cfg:
        if cfg["step"] != int(cfg["step"]) or cfg["step"] < 1:
            raise ConfigError(f"schedule '{name}': step must be a whole number of epochs >= 1, got {cfg['step']}")
        cfg["step"] = int(cfg["step"])
    return cls(**cfg)
