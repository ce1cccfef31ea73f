"""MIDI input of one controller: messages → parameter commands through its mapping, coalesced per frame.

:class:`MidiRouter` runs on the MIDI library's callback thread (:meth:`MidiRouter.handle`):
it decodes messages into control events (control.events), lets MIDI learn take the next one
(control.learn), drops echoes of its own feedback (control.feedback.EchoGuard) and queues what
the mapping's bindings make of the rest: positions of absolute controls (newest per
parameter), encoder steps (summed), and button actions (in order, rate-limited). The frame
loop calls :meth:`MidiRouter.drain` once a frame; that turns the queue into
:class:`~ear3d.messages.Command` objects against the current values (soft takeover,
control.pickup; relative steps; toggles). :meth:`MidiRouter.feedback` encodes changed values
for the controller's output. Opening ports and hot-plug are control.ports' business.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mido

from ear3d.control.coalesce import CoalescingQueue
from ear3d.control.events import ControlEvent, EventDecoder
from ear3d.control.feedback import EchoGuard, feedback_messages
from ear3d.control.mapping import Binding, MidiMapping
from ear3d.control.params import ControlError, Parameters
from ear3d.control.pickup import Pickup
from ear3d.messages import Command

if TYPE_CHECKING:
    from ear3d.control.learn import Learn

log = logging.getLogger(__name__)

#: What rtmidi raises without a usable MIDI system (its errors derive from OSError;
#: SystemError and RuntimeError are caught as well: the ALSA backend raises SystemError
#: where there is no sequencer).
BACKEND_ERRORS: tuple[type[BaseException], ...] = (OSError, SystemError, RuntimeError, ImportError, ValueError)

#: NRPN and RPN select and data-entry controllers: their meaning depends on what came before.
_NRPN_CCS = frozenset((6, 38, 96, 97, 98, 99, 100, 101))
_CHANNEL_DATA_LEN = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}
_SYSTEM_DATA_LEN = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0}


def relative_ticks(value: int, mode: str) -> int:
    """Encoder steps in a 7-bit relative CC value (+ clockwise, − counter-clockwise)."""
    if mode == "twos_complement":  # 1…63 up, 127…65 down (−1…−63)
        return value - 128 if value >= 64 else value
    if mode == "binary_offset":  # 65…127 up, 63…0 down, 64 = none
        return value - 64
    if mode == "sign_magnitude":  # bit 6 is the sign: 1…63 up, 65…127 down
        return -(value - 64) if value >= 64 else value
    raise ValueError(f"not a relative mode: {mode!r}")


def _key(binding: Binding) -> tuple[str, int]:
    return binding.source, binding.number


@dataclass(frozen=True, slots=True)
class _Move:
    """An absolute control moved to ``position``, through ``low``–``high`` since the last drain."""

    binding: Binding
    position: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class _Step:
    binding: Binding
    ticks: int


@dataclass(frozen=True, slots=True)
class _Set:
    binding: Binding
    on: bool  # a note switch pressed (on) or released (off)


@dataclass(frozen=True, slots=True)
class _Toggle:
    binding: Binding


def _merge(old: Any, new: Any) -> Any:
    """Two pending changes of one parameter in one frame: positions keep the range swept,
    steps add up, anything else: the newest wins."""
    if isinstance(old, _Move) and isinstance(new, _Move) and old.binding == new.binding:
        return _Move(new.binding, new.position, min(old.low, new.low), max(old.high, new.high))
    if isinstance(old, _Step) and isinstance(new, _Step) and old.binding == new.binding:
        return _Step(new.binding, old.ticks + new.ticks)
    return new


class MidiRouter:
    """One controller's mapping at work; :meth:`handle` is called on the MIDI thread, :meth:`drain`
    and :meth:`feedback` on the frame loop. ``params`` is the registry the values are read
    from (for soft takeover, encoders and toggles); a private one with the defaults when None."""

    def __init__(self, mapping: MidiMapping, params: Parameters | None = None, learn: Learn | None = None,
                 name: str = "", actions_per_drain: int = 32, max_pending: int = 1024) -> None:
        self.params = params if params is not None else Parameters()
        self.learn = learn
        self.name = name
        self.echo = EchoGuard()
        self._queue: CoalescingQueue[Any] = CoalescingQueue(actions_per_drain, max_pending)
        self._lock = threading.Lock()
        self._counts = {"received": 0, "mapped": 0, "ignored": 0, "malformed": 0, "echoes": 0, "coalesced": 0}
        self._pickups: dict[tuple[str, int], Pickup] = {}
        self._applied: dict[tuple[str, int], float] = {}  # the value each control set last
        self._last_sent: dict[tuple[str, int], tuple[bytes, ...]] = {}
        self.mapping = mapping

    @property
    def mapping(self) -> MidiMapping:
        """The mapping in use; assigning one (e.g. after MIDI learn) takes effect with the next message."""
        return self._mapping

    @mapping.setter
    def mapping(self, mapping: MidiMapping) -> None:
        by_param: dict[str, list[Binding]] = {}
        for b in mapping.bindings():
            if b.param is not None:
                by_param.setdefault(b.param, []).append(b)
        self._decoder = EventDecoder(mapping.pairs14)
        self._by_param = by_param
        self._plain: dict[tuple[int, int], bool] = {}  # (status, CC) → whether a later value makes it moot
        self._mapping = mapping

    # -- the MIDI thread ------------------------------------------------------------------

    def handle(self, msg: Any) -> bool:
        """Take one message (never raises); True when it moved a bound control."""
        mapped = False
        try:
            if self.echo.is_echo(msg):
                self._count("echoes")
                return False
            for event in self._decoder.decode(msg):
                if self.learn is not None and self.learn.capture(self, event):
                    mapped = True
                    continue
                binding = self._mapping.lookup(event)
                if binding is not None:
                    mapped = self._queue_event(binding, event) or mapped
        except (AttributeError, TypeError, ValueError) as e:  # not a mido message, or a broken one
            log.debug("MIDI %s: ignored %r: %s", self.name, msg, e)
        with self._lock:
            self._counts["received"] += 1
            self._counts["mapped" if mapped else "ignored"] += 1
        return mapped

    def _count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self._counts["received"] += 1
            self._counts[what] += n

    def _queue_event(self, b: Binding, e: ControlEvent) -> bool:
        if b.action is not None:
            if b.source == "program":
                self._queue.put_action("app", b.action.command(e.number + b.offset))
                return True
            pressed = e.kind == "note_on" if b.source == "note" else e.position >= 0.5
            if b.source == "note" and e.kind == "note_off":
                return False
            if b.trigger == "change" or pressed:
                self._queue.put_action(b.action.param, b.action.command())
                return True
            return False
        param = b.param
        if b.source == "note":
            if b.mode == "toggle":
                if e.kind == "note_on":
                    self._queue.put_action(param, _Toggle(b))
                return e.kind == "note_on"
            if b.mode == "trigger" and e.kind == "note_off":
                return False
            self._queue.put_latest(param, _Set(b, e.kind == "note_on"))
            return True
        if e.kind == "nrpn_step" or b.relative:
            ticks = e.value if e.kind == "nrpn_step" else relative_ticks(e.value, b.mode)
            if ticks:
                self._queue.put_latest(param, _Step(b, ticks), _merge)
            return bool(ticks)
        x = e.position
        self._queue.put_latest(param, _Move(b, x, x, x), _merge)
        return True

    def feed_bytes(self, data: bytes) -> int:
        """Parse raw MIDI bytes (counting malformed parts) and handle every message found;
        returns how many moved a bound control."""
        problems: list[str] = []
        mapped = sum(self.handle(msg) for msg in parse_bytes(data, problems))
        if problems:
            with self._lock:
                self._counts["malformed"] += len(problems)
        return mapped

    def feed_batch(self, batch: Sequence[Sequence[int]]) -> None:
        """Handle raw messages (byte lists, as rtmidi delivers them) in order, skipping a control
        change that a later one of the same plain absolute control in ``batch`` makes moot (see
        :meth:`_plain_key`; counted as ``coalesced``): a flood costs a dict entry per message on
        the interpreter lock the frame loop needs, not a mido message and a decode each."""
        learning = self.learn is not None and self.learn.learning is not None
        keys = [None if learning else self._plain_key(raw) for raw in batch]
        last = {key: i for i, key in enumerate(keys) if key is not None}
        coalesced = malformed = 0
        for i, raw in enumerate(batch):
            key = keys[i]
            if key is not None and last[key] != i:
                coalesced += 1
                continue
            try:
                msg = mido.Message.from_bytes(raw)
            except (ValueError, TypeError) as e:
                log.debug("MIDI %s: ignored bytes %r: %s", self.name, raw, e)
                malformed += 1
                continue
            self.handle(msg)
        if coalesced or malformed:
            with self._lock:
                self._counts["received"] += coalesced + malformed
                self._counts["mapped"] += coalesced
                self._counts["coalesced"] += coalesced
                self._counts["malformed"] += malformed

    def _plain_key(self, raw: Sequence[int]) -> tuple[int, int] | None:
        """(status, CC) of a control change whose effect a later one of the same control replaces
        entirely: a 7-bit absolute CC bound to a parameter without soft takeover (whose swept
        range matters), outside NRPN/RPN and 14-bit pairs, with no feedback echo expected on it;
        None for any other message."""
        if len(raw) != 3 or not 0xB0 <= raw[0] <= 0xBF or raw[1] > 127 or raw[2] > 127:
            return None
        key = (raw[0], raw[1])
        plain = self._plain.get(key)
        if plain is None:
            control = raw[1]
            pairs = self._mapping.pairs14
            b = self._mapping.lookup(ControlEvent("cc", raw[0] & 0x0F, control, 0))
            plain = self._plain[key] = (b is not None and b.param is not None and b.action is None
                                        and not b.relative and not b.pickup and control not in _NRPN_CCS
                                        and control not in pairs and control - 32 not in pairs)
        return key if plain and not self.echo.expects(key) else None

    # -- the frame loop -------------------------------------------------------------------

    def drain(self) -> list[Command]:
        """What the controls did since the last drain, as commands against the current values:
        at most one value per parameter (absolute moves, summed encoder steps), then actions
        in order (at most ``actions_per_drain``)."""
        commands = []
        for item in self._queue.drain():
            try:
                command = item if isinstance(item, Command) else self._resolve(item)
            except ControlError as e:  # a parameter this registry lacks: the mapping was made for other specs
                log.warning("MIDI %s: %s", self.name, e)
                continue
            if command is not None:
                commands.append(command)
        return commands

    def _resolve(self, item: Any) -> Command | None:
        b: Binding = item.binding
        spec = self.params.spec(b.param)  # type: ignore[arg-type]
        current = self.params.get(spec.name)
        if isinstance(item, (_Set, _Toggle)):
            on = spec.clamp(spec.hi if b.on is None else b.on)
            off = spec.clamp(spec.lo if b.off is None else b.off)
            value = (off if current == on else on) if isinstance(item, _Toggle) else (on if item.on else off)
        elif isinstance(item, _Step):
            if spec.integer:
                value = spec.clamp(current + item.ticks)
            else:
                value = b.scaling.value(spec, b.scaling.position(spec, current) + item.ticks * b.step)
        else:
            value = b.scaling.value(spec, item.position)
            if b.pickup:
                pickup = self._pickups.setdefault(_key(b), Pickup())
                if not pickup.update(item.position, item.low, item.high, b.scaling.position(spec, current), current):
                    return None
                pickup.applied(value)
        self._applied[_key(b)] = value
        return Command(spec.name, value)

    def feedback(self, changed: Mapping[str, float], everything: bool = False) -> list[mido.Message]:
        """Messages that show ``changed`` values on the controller, remembered for the echo guard.
        A control is not told the value it set itself, nor a value it already shows, unless
        ``everything`` (the full state, e.g. on connect)."""
        out: list[mido.Message] = []
        for name, value in changed.items():
            for b in self._by_param.get(name, ()):
                key = _key(b)
                if not everything and self._applied.get(key) == value:
                    continue
                try:
                    messages = feedback_messages(b, self.params.spec(name), value)
                except ControlError:
                    continue
                signature = tuple(bytes(m.bytes()) for m in messages)
                if not messages or not everything and self._last_sent.get(key) == signature:
                    continue
                self._last_sent[key] = signature
                self._applied.pop(key, None)
                out.extend(messages)
        self.echo.sent(out)
        return out

    def pickup_state(self, name: str) -> tuple[float, bool] | None:
        """(value where the physical control is, whether it has taken over) for the first
        soft-takeover control of ``name`` that has moved; None when there is none."""
        for b in self._by_param.get(name, ()):
            pickup = self._pickups.get(_key(b))
            if b.pickup and pickup is not None and pickup.physical is not None:
                return b.scaling.value(self.params.spec(name), pickup.physical), pickup.engaged
        return None

    @property
    def counts(self) -> dict[str, int]:
        """received, mapped, ignored messages; malformed byte sequences; echoes of feedback
        dropped; control changes coalesced unparsed (:meth:`feed_batch`, counted as mapped
        too); actions dropped on overflow."""
        with self._lock:
            return {**self._counts, "dropped": self._queue.dropped}


def parse_bytes(data: bytes, problems: list[str] | None = None) -> list[mido.Message]:
    """Raw MIDI bytes → messages, with running status and real-time bytes anywhere.

    Malformed parts (stray data bytes, messages cut short by a status byte or the end,
    unterminated sysex, undefined status bytes, invalid values) are skipped; each is
    described in ``problems`` when given, and one warning with their count is logged.
    """
    found: list[str] = []
    messages: list[mido.Message] = []

    def emit(raw: list[int]) -> None:
        try:
            messages.append(mido.Message.from_bytes(raw))
        except (ValueError, TypeError) as e:
            found.append(f"invalid message {bytes(raw).hex(' ')}: {e}")

    running: int | None = None  # running status byte of channel messages
    buf: list[int] = []
    need = 0
    sysex: list[int] | None = None
    for b in bytes(data):
        if b >= 0xF8:  # real-time: one byte, allowed anywhere
            if b in (0xF9, 0xFD):
                found.append(f"undefined real-time byte 0x{b:02x}")
            else:
                emit([b])
            continue
        if sysex is not None:
            if b < 0x80:
                sysex.append(b)
                continue
            if b == 0xF7:
                emit(sysex + [b])
                sysex = None
                continue
            found.append(f"sysex of {len(sysex) - 1} data bytes cut short by status byte 0x{b:02x}")
            sysex = None
        if b >= 0x80:
            if buf:
                found.append(f"incomplete message {bytes(buf).hex(' ')} cut short by status byte 0x{b:02x}")
                buf = []
            if b < 0xF0:
                running, need, buf = b, _CHANNEL_DATA_LEN[b & 0xF0], [b]
            else:
                running = None
                if b == 0xF0:
                    sysex = [b]
                elif b in _SYSTEM_DATA_LEN:
                    need, buf = _SYSTEM_DATA_LEN[b], [b]
                else:
                    found.append(f"{'stray end of sysex' if b == 0xF7 else 'undefined status byte'} 0x{b:02x}")
        else:
            if not buf:
                if running is None:
                    found.append(f"stray data byte 0x{b:02x}")
                    continue
                need, buf = _CHANNEL_DATA_LEN[running & 0xF0], [running]
            buf.append(b)
        if buf and len(buf) == need + 1:
            emit(buf)
            buf = []
    if buf:
        found.append(f"truncated message {bytes(buf).hex(' ')} at the end of the data")
    if sysex is not None:
        found.append(f"unterminated sysex of {len(sysex) - 1} data bytes at the end of the data")
    if found:
        log.warning("MIDI: skipped %d malformed part(s) of %d bytes; first: %s", len(found), len(data), found[0])
        if problems is not None:
            problems.extend(found)
    return messages


def resolve_backend(backend: str | mido.Backend | None) -> Any:
    """A mido backend: None = MIDO_BACKEND at import time (or whatever mido.set_backend() chose)."""
    if backend is None:
        return mido.backend
    if isinstance(backend, str):
        return mido.Backend(backend)
    return backend


def describe_error(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def list_input_names(backend: str | mido.Backend | None = None) -> list[str]:
    """Names of the MIDI input ports; [] with a warning when the backend cannot list them."""
    try:
        return list(resolve_backend(backend).get_input_names())
    except BACKEND_ERRORS as e:
        log.warning("MIDI: cannot list input ports (%s); carrying on without MIDI", describe_error(e))
        return []
