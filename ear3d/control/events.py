"""MIDI messages → control events: what a control did, with 14-bit pairs and NRPN assembled.

A :class:`ControlEvent` names a physical control (``kind``, ``channel``, ``number``) and its
raw value. :class:`EventDecoder` keeps the per-port state that multi-message controls need:

* 14-bit CC pairs: CC n (0–31) is the MSB, CC n + 32 the LSB (only for the pairs it is told
  about; every other CC is a plain 7-bit control). The MSB alone gives value MSB·128, as the
  MIDI specification resets the LSB with each MSB.
* NRPN: CC 99/98 select parameter MSB/LSB; CC 6/38 then carry its data MSB/LSB and CC 96/97
  step it up/down. CC 6, 38, 96 and 97 are NRPN data only once CC 99/98 were seen on that
  channel (an RPN select, CC 101/100, ends that).
* pitch bend (0–16383, centre 8192), program change, note on and off (note on with velocity
  0 is a note off).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: Event kinds and the largest raw value of each.
KINDS: dict[str, int] = {"cc": 127, "cc14": 16383, "nrpn": 16383, "nrpn_step": 1, "pitchbend": 16383,
                         "program": 127, "note_on": 127, "note_off": 127}

_NRPN_MSB, _NRPN_LSB, _RPN_MSB, _RPN_LSB = 99, 98, 101, 100
_DATA_MSB, _DATA_LSB, _DATA_INC, _DATA_DEC = 6, 38, 96, 97


@dataclass(frozen=True, slots=True)
class ControlEvent:
    """One movement of one control: ``value`` is raw (0–127, or 0–16383 for 14-bit kinds;
    ±1 for ``nrpn_step``); ``number`` is the CC, NRPN, note or program number (0 for pitch bend)."""

    kind: str
    channel: int
    number: int
    value: int

    @property
    def full_scale(self) -> int:
        """The largest raw value of this kind (127 or 16383)."""
        return KINDS[self.kind]

    @property
    def position(self) -> float:
        """The value as a fraction 0–1 of the full scale."""
        return min(max(self.value / KINDS[self.kind], 0.0), 1.0)

    def describe(self) -> str:
        """How people name the control: "CC 7 ch 1", "NRPN 1024 ch 1", "note 36 ch 10"."""
        what = {"cc": "CC", "cc14": "CC14", "nrpn": "NRPN", "nrpn_step": "NRPN", "pitchbend": "pitch bend",
                "program": "program", "note_on": "note", "note_off": "note"}[self.kind]
        number = "" if self.kind == "pitchbend" else f" {self.number}"
        return f"{what}{number} ch {self.channel + 1}"


class EventDecoder:
    """Stateful decoder of one port's messages; ``pairs14`` are the MSB numbers (0–31) of 14-bit CC pairs."""

    def __init__(self, pairs14: Iterable[int] = ()) -> None:
        self.pairs14 = frozenset(pairs14)
        self._msb: dict[tuple[int, int], int] = {}
        self._nrpn: dict[int, list[int | None]] = {}  # channel → [param MSB, param LSB]
        self._data_msb: dict[int, int] = {}

    def decode(self, msg: Any) -> list[ControlEvent]:
        """The events in ``msg`` (a mido message); [] for anything that moves no control."""
        kind = getattr(msg, "type", None)
        if kind == "control_change":
            return self._cc(msg.channel, msg.control, msg.value)
        if kind == "note_on":
            return [ControlEvent("note_on" if msg.velocity > 0 else "note_off", msg.channel, msg.note, msg.velocity)]
        if kind == "note_off":
            return [ControlEvent("note_off", msg.channel, msg.note, msg.velocity)]
        if kind == "pitchwheel":
            return [ControlEvent("pitchbend", msg.channel, 0, msg.pitch + 8192)]
        if kind == "program_change":
            return [ControlEvent("program", msg.channel, msg.program, msg.program)]
        return []

    def _cc(self, channel: int, control: int, value: int) -> list[ControlEvent]:
        if control in (_NRPN_MSB, _NRPN_LSB):
            selecting = self._nrpn.setdefault(channel, [None, None])
            selecting[0 if control == _NRPN_MSB else 1] = value
            self._data_msb.pop(channel, None)
            return []
        if control in (_RPN_MSB, _RPN_LSB):
            self._nrpn.pop(channel, None)  # data entry now belongs to an RPN, which ear3d does not map
            return []
        select = self._nrpn.get(channel)
        if select is not None and control in (_DATA_MSB, _DATA_LSB, _DATA_INC, _DATA_DEC):
            if select[0] is None or select[1] is None:
                return []
            number = select[0] << 7 | select[1]
            if control == _DATA_MSB:
                self._data_msb[channel] = value
                return [ControlEvent("nrpn", channel, number, value << 7)]
            if control == _DATA_LSB:
                return [ControlEvent("nrpn", channel, number, self._data_msb.get(channel, 0) << 7 | value)]
            return [ControlEvent("nrpn_step", channel, number, 1 if control == _DATA_INC else -1)]
        if control in self.pairs14:
            self._msb[(channel, control)] = value
            return [ControlEvent("cc14", channel, control, value << 7)]
        if 32 <= control < 64 and control - 32 in self.pairs14:
            msb = self._msb.get((channel, control - 32), 0)
            return [ControlEvent("cc14", channel, control - 32, msb << 7 | value)]
        return [ControlEvent("cc", channel, control, value)]
