"""The health overlay: what each node's gradient norm and activation statistics say, as a colour
and a one-line hint. Pure computation (no Qt); the dock turns the colours into QColors and hands
them to the canvas scene.

Thresholds follow the course notes: a gradient whose norm is below :data:`VANISHING` (1e-6) barely
moves the weights ("vanishing gradient"); above :data:`EXPLODING` (1e3) one step overshoots and the
cost diverges ("exploding gradient"). A ReLU unit that is zero for every example of a batch is
"dead" (its gradient is zero, so it never learns again); a tanh/sigmoid unit stuck near its flat
ends is "saturated" (its slope, and so its gradient, is almost zero).
"""

import math

VANISHING = 1e-6
EXPLODING = 1e3
#: share of dead units / saturated values above which a node is flagged.
DEAD_WARN = 0.5
SATURATED_WARN = 0.5

MODES = ("gradient", "dead", "saturation")

GOOD = (76, 175, 80)
WARN = (255, 179, 0)
BAD = (229, 57, 53)
COLD = (66, 133, 244)


def _mix(a, b, t):
    t = min(max(float(t), 0.0), 1.0)
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b))


def gradient_health(name, norm):
    """(rgb, hint) for a node's gradient norm; hint is "" when all is well."""
    if norm is None or not math.isfinite(norm):
        return BAD, f"the gradient of {name} is not a number: the cost diverged, lower the learning rate"
    if norm < VANISHING:
        return COLD, (f"the gradient reaching {name} vanishes (|dW| = {norm:.1e}): use ReLU, He "
                      f"initialization, BatchNorm or a residual connection")
    if norm > EXPLODING:
        return BAD, (f"the gradient of {name} explodes (|dW| = {norm:.1e}): lower the learning rate "
                     f"or clip the gradient norm")
    # between the bands: green in the comfortable middle, shading towards the band edges
    lg = math.log10(max(norm, 1e-30))
    lo, hi = math.log10(VANISHING), math.log10(EXPLODING)
    if lg < -4:
        return _mix(COLD, GOOD, (lg - lo) / 2.0), ""
    if lg > 2:
        return _mix(GOOD, WARN, (lg - 2) / (hi - 2)), ""
    return GOOD, ""


def dead_health(name, stats):
    dead = float(stats.get("dead", 0.0) or 0.0)
    color = _mix(GOOD, BAD, dead / max(DEAD_WARN, 1e-9) if dead < DEAD_WARN else 1.0)
    if dead >= DEAD_WARN:
        return color, (f"most units of {name} are dead ({dead:.0%} never fire): lower the learning "
                       f"rate or use leaky ReLU")
    return color, ""


def saturation_health(name, stats):
    sat = float(stats.get("saturated", 0.0) or 0.0)
    color = _mix(GOOD, WARN, sat / max(SATURATED_WARN, 1e-9) if sat < SATURATED_WARN else 1.0)
    if sat >= SATURATED_WARN:
        return color, (f"most values of {name} are saturated ({sat:.0%} on the flat ends of "
                       f"tanh/sigmoid, where the slope is ~0): use Xavier initialization, normalize "
                       f"the inputs or add BatchNorm")
    return color, ""


def node_health(mode, grad_norms, activation_stats):
    """{node: (rgb, hint)} for the given overlay mode.

    mode : "gradient" (nodes with parameters, from ``grad_norms``), "dead" or "saturation"
        (nodes with activation statistics).
    grad_norms : {node: float}; activation_stats : {node: {"mean", "std", "dead", "saturated"}}.
    """
    out = {}
    if mode == "gradient":
        for name, norm in (grad_norms or {}).items():
            out[name] = gradient_health(name, norm)
    elif mode == "dead":
        for name, stats in (activation_stats or {}).items():
            out[name] = dead_health(name, stats)
    elif mode == "saturation":
        for name, stats in (activation_stats or {}).items():
            out[name] = saturation_health(name, stats)
    else:
        raise ValueError(f"unknown health mode '{mode}' (one of {', '.join(MODES)})")
    return out


def hints(grad_norms, activation_stats):
    """Every warning of every mode, worst first (exploding/NaN, dead, vanishing, saturated)."""
    found = []
    for mode in MODES:
        for name, (_, hint) in node_health(mode, grad_norms, activation_stats).items():
            if hint:
                found.append(hint)
    order = ("not a number", "explodes", "dead", "vanishes", "saturated")
    found.sort(key=lambda h: next((i for i, k in enumerate(order) if k in h), len(order)))
    return found
