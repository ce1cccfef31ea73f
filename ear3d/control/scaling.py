"""How a control's travel (a position 0–1) maps onto a parameter's value, and back for feedback.

The travel is first shaped by a curve, then spread over ``lo``–``hi`` (the parameter's whole
range when None) along the parameter's own scale (geometric for log-scale parameters such as
the learning rate):

* ``linear``: even;
* ``exp``: fine near the bottom, coarse near the top (y = (e^(k·x) − 1) / (e^k − 1));
* ``log``: coarse near the bottom, fine near the top (the inverse of exp).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ear3d.control.params import ParamSpec

CURVES = ("linear", "log", "exp")
#: Steepness of the exp and log curves: mid-travel lands at 12 % (exp) or 88 % (log).
CURVE_K = 4.0
_EK = math.expm1(CURVE_K)


def shape(x01: float, curve: str) -> float:
    """The travel ``x01`` (clamped to 0–1) bent by ``curve``; 0 and 1 stay put."""
    x = min(max(float(x01), 0.0), 1.0)
    if curve == "exp":
        return math.expm1(CURVE_K * x) / _EK
    if curve == "log":
        return math.log1p(_EK * x) / CURVE_K
    return x


def unshape(y01: float, curve: str) -> float:
    """The inverse of :func:`shape`."""
    return shape(y01, {"exp": "log", "log": "exp"}.get(curve, curve))


@dataclass(frozen=True)
class Scaling:
    """A control's range and curve; ``lo`` > ``hi`` inverts the control."""

    lo: float | None = None
    hi: float | None = None
    curve: str = "linear"

    def ends(self, spec: ParamSpec) -> tuple[float, float]:
        """The values at the bottom and the top of the travel."""
        return (spec.lo if self.lo is None else self.lo), (spec.hi if self.hi is None else self.hi)

    def value(self, spec: ParamSpec, x01: float) -> float:
        """The parameter value at travel position ``x01`` (clamped into the range, rounded for integers)."""
        a, b = self.ends(spec)
        return spec.between(a, b, shape(x01, self.curve))

    def position(self, spec: ParamSpec, value: float) -> float:
        """Where on the travel (0–1) ``value`` lies: the inverse of :meth:`value`."""
        a, b = self.ends(spec)
        if a == b:
            return 0.0
        if spec.scale == "log" and a > 0 and b > 0 and value > 0:
            y = math.log(value / a) / math.log(b / a)
        else:
            y = (float(value) - a) / (b - a)
        return unshape(min(max(y, 0.0), 1.0), self.curve)
