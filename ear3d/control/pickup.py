"""Soft takeover ("pickup") of one absolute control without a motor.

A knob that disagrees with the software's value must not make the value jump: it takes over
only once it reaches or passes the current value. Any change from elsewhere (GUI, another
controller, a scene) lets go again. Positions are fractions 0–1 of the control's travel.
"""

from __future__ import annotations

from dataclasses import dataclass

#: How close (in travel) counts as "at the value": a bit more than one 7-bit step.
TOLERANCE = 1.5 / 127


@dataclass
class Pickup:
    """The state of one binding: where the physical control is and whether it has taken over."""

    physical: float | None = None  # last known travel position, None until it moves
    engaged: bool = False
    last_applied: float | None = None  # the value this control set last (to notice changes from elsewhere)

    def update(self, position: float, low: float, high: float, current_position: float, current_value: float) -> bool:
        """The control moved to ``position`` (through ``low``–``high`` since the last update);
        the parameter is at ``current_position`` (= ``current_value``). True when it may set the value now."""
        if self.engaged and self.last_applied is not None and current_value != self.last_applied:
            self.engaged = False  # someone else moved the parameter
        if not self.engaged:
            if self.physical is not None:
                low, high = min(low, self.physical), max(high, self.physical)
            self.engaged = low - TOLERANCE <= current_position <= high + TOLERANCE
        self.physical = position
        return self.engaged

    def applied(self, value: float) -> None:
        """The value this control's move was turned into."""
        self.last_applied = value
