"""Values back to a controller: messages that move motor faders and light LED rings and pads,
and the guard that keeps those messages from coming back in as new changes.

:func:`feedback_messages` encodes a parameter value for one binding (CC scaled by its range
and curve, 14-bit pairs, NRPN, pitch bend, note velocities for switches). Relative encoders,
action buttons and program changes get nothing back.

:class:`EchoGuard` remembers what was just sent; a message that comes back unchanged within
``window_s`` (a motor fader reporting the position it was moved to, or a port looped back
into the input) is recognised and dropped once.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

import mido

from ear3d.control.mapping import Binding
from ear3d.control.params import ParamSpec

#: Seconds within which a sent value that comes back is taken for its echo.
ECHO_WINDOW_S = 0.5
#: Sent values remembered per control.
_ECHOES_PER_CONTROL = 8


def feedback_messages(binding: Binding, spec: ParamSpec, value: float) -> list[mido.Message]:
    """The messages that show ``value`` (of ``spec``) on ``binding``'s control; [] when it shows none."""
    if not binding.feedback or binding.param is None or binding.relative:
        return []
    channel = binding.channel if binding.channel is not None else 0
    if binding.source == "note":
        on = spec.hi if binding.on is None else binding.on
        velocity = binding.feedback_on if value == on else binding.feedback_off
        return [mido.Message("note_on", channel=channel, note=binding.number, velocity=velocity)]
    position = binding.scaling.position(spec, value)
    if binding.source == "pitchbend":
        return [mido.Message("pitchwheel", channel=channel, pitch=round(position * 16383) - 8192)]
    if binding.bits == 14:
        raw = round(position * 16383)
        msb, lsb = raw >> 7, raw & 0x7F
    else:
        msb, lsb = round(position * 127), None
    if binding.source == "nrpn":
        n = binding.number
        out = [_cc(channel, 99, n >> 7), _cc(channel, 98, n & 0x7F), _cc(channel, 6, msb)]
        return out + ([_cc(channel, 38, lsb)] if lsb is not None else [])
    out = [_cc(channel, binding.number, msb)]
    return out + ([_cc(channel, binding.number + 32, lsb)] if lsb is not None else [])


def _cc(channel: int, control: int, value: int) -> mido.Message:
    return mido.Message("control_change", channel=channel, control=control, value=value)


def _key_value(msg: Any) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """(which control, what value) of a channel message; None for others."""
    try:
        data = msg.bytes()
    except AttributeError:
        return None
    if not data or not 0x80 <= data[0] < 0xF0:
        return None
    status = data[0]
    if status & 0xF0 in (0x80, 0x90):  # note on and off light the same pad
        return (0x90 | status & 0x0F, data[1]), tuple(data[2:]) if status & 0xF0 == 0x90 else (0,)
    if status & 0xF0 in (0xC0, 0xD0, 0xE0):
        return (status,), tuple(data[1:])
    return (status, data[1]), tuple(data[2:])


class EchoGuard:
    """Recognises the echo of sent messages; thread-safe (sent on the frame loop, checked on the
    MIDI thread)."""

    def __init__(self, window_s: float = ECHO_WINDOW_S) -> None:
        self.window_s = window_s
        self._lock = threading.Lock()
        self._sent: dict[tuple[int, ...], deque[tuple[tuple[int, ...], float]]] = {}
        self.echoes = 0

    def sent(self, messages: list[mido.Message]) -> None:
        """Remember ``messages`` as just sent."""
        deadline = time.monotonic() + self.window_s
        with self._lock:
            for msg in messages:
                kv = _key_value(msg)
                if kv is not None:
                    self._sent.setdefault(kv[0], deque(maxlen=_ECHOES_PER_CONTROL)).append((kv[1], deadline))

    def expects(self, key: tuple[int, ...]) -> bool:
        """Whether an echo may still come for the control ``key`` ((status, CC) of a control
        change). A hint without the lock: a stale answer errs towards the full check."""
        return bool(self._sent.get(key))

    def is_echo(self, msg: Any) -> bool:
        """True (once) when ``msg`` repeats a value sent to the same control less than ``window_s`` ago."""
        kv = _key_value(msg)
        if kv is None:
            return False
        key, value = kv
        now = time.monotonic()
        with self._lock:
            sent = self._sent.get(key)
            if not sent:
                return False
            while sent and sent[0][1] < now:
                sent.popleft()
            for i, (v, _) in enumerate(sent):
                if v == value:
                    del sent[i]
                    self.echoes += 1
                    return True
            return False
