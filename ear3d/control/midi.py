"""MIDI input: messages → parameter commands through a mapping, coalesced per frame.

:class:`MidiRouter` turns ``mido.Message`` objects into :class:`~ear3d.messages.Command`
objects (see :mod:`ear3d.control.params` for their meaning) and keeps them until the app
calls :meth:`MidiRouter.drain` at ``ControlConfig.apply_hz``; repeated values of one
parameter collapse into the newest, so a fader flood costs one update per frame.

:class:`MidiInput` opens a port through mido (python-rtmidi backend) and feeds the router
from the port's callback thread. When MIDI is unavailable (no ALSA sequencer, no JACK
server, no matching port) it logs one warning and carries on with ``available`` False.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any, Sequence

import mido

from ear3d.config import ControlConfig
from ear3d.control.mapping import Action, CCBinding, MidiMapping
from ear3d.control.params import ALL_PARAMS, ParamSpec
from ear3d.messages import Command

log = logging.getLogger(__name__)

#: What rtmidi raises without a usable MIDI system (its errors derive from OSError;
#: SystemError and RuntimeError are caught as well in case a backend raises the builtins).
BACKEND_ERRORS: tuple[type[BaseException], ...] = (OSError, SystemError, RuntimeError, ImportError, ValueError)

_CHANNEL_DATA_LEN = {0x80: 2, 0x90: 2, 0xA0: 2, 0xB0: 2, 0xC0: 1, 0xD0: 1, 0xE0: 2}
_SYSTEM_DATA_LEN = {0xF1: 1, 0xF2: 2, 0xF3: 1, 0xF6: 0}


def _action_command(action: Action) -> Command:
    if action.verb == "set":
        return Command(action.param, action.value)
    return Command(f"{action.param}:{action.verb}")


class MidiRouter:
    """Translates MIDI messages into parameter commands and coalesces them until :meth:`drain`.

    All methods are thread-safe; :meth:`handle` runs on the MIDI callback thread and never raises.
    """

    def __init__(self, mapping: MidiMapping, specs: Sequence[ParamSpec] = ALL_PARAMS, max_pending: int = 1024) -> None:
        self.mapping = mapping
        self._specs = {s.name: s for s in specs}
        self._lock = threading.Lock()
        # key → Command; a set is keyed by its parameter, each action by a unique number.
        self._pending: OrderedDict[Any, Command] = OrderedDict()
        self._serial = 0
        self._max_pending = max_pending
        self._counts = {"received": 0, "mapped": 0, "ignored": 0, "malformed": 0, "dropped": 0}

    def translate(self, msg: Any) -> list[Command]:
        """The commands ``msg`` maps to; pure (no state changes), [] for anything unmapped or odd."""
        try:
            kind = msg.type
            if kind == "control_change":
                binding = self.mapping.cc.get(msg.control)
                if binding is not None and binding.channel in (None, msg.channel):
                    return self._cc_commands(binding, msg.value)
            elif kind == "note_on" and msg.velocity > 0:
                binding = self.mapping.notes.get(msg.note)
                if binding is not None and binding.channel in (None, msg.channel):
                    return [_action_command(binding.action)]
        except (AttributeError, TypeError, ValueError):
            pass
        return []

    def _cc_commands(self, binding: CCBinding, value: int) -> list[Command]:
        if binding.action is not None:
            if binding.trigger == "change" or value >= 64:
                return [_action_command(binding.action)]
            return []
        spec = self._specs.get(binding.param or "")
        if spec is None:  # the mapping was validated against other specs
            return []
        return [Command(spec.name, spec.between(binding.lo, binding.hi, min(max(value, 0), 127) / 127.0))]

    def handle(self, msg: Any) -> list[Command]:
        """Translate ``msg`` and queue its commands for :meth:`drain`; returns the commands."""
        commands = self.translate(msg)
        with self._lock:
            self._counts["received"] += 1
            self._counts["mapped" if commands else "ignored"] += 1
            for command in commands:
                self._queue(command)
        return commands

    def _queue(self, command: Command) -> None:
        param, sep, _ = command.name.partition(":")
        if sep:
            self._serial += 1
            self._pending[self._serial] = command
            if len(self._pending) > self._max_pending:
                self._pending.popitem(last=False)
                self._counts["dropped"] += 1
            return
        # An absolute value supersedes everything still pending for that parameter.
        for key in [k for k, c in self._pending.items() if c.name.partition(":")[0] == param]:
            del self._pending[key]
        self._pending[param] = command

    def feed_bytes(self, data: bytes) -> list[Command]:
        """Parse raw MIDI bytes (counting malformed parts) and handle every message found."""
        problems: list[str] = []
        commands = []
        for msg in parse_bytes(data, problems):
            commands.extend(self.handle(msg))
        if problems:
            with self._lock:
                self._counts["malformed"] += len(problems)
        return commands

    def drain(self) -> list[Command]:
        """The pending commands in arrival order, newest value only per parameter; clears them."""
        with self._lock:
            commands = list(self._pending.values())
            self._pending.clear()
            return commands

    @property
    def counts(self) -> dict[str, int]:
        """received, mapped, ignored messages; malformed byte sequences; actions dropped on overflow."""
        with self._lock:
            return dict(self._counts)


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


def _resolve_backend(backend: str | mido.Backend | None) -> Any:
    if backend is None:
        return mido.backend  # MIDO_BACKEND at import time, or whatever mido.set_backend() chose
    if isinstance(backend, str):
        return mido.Backend(backend)
    return backend


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def list_input_names(backend: str | mido.Backend | None = None) -> list[str]:
    """Names of the MIDI input ports; [] with a warning when the backend cannot list them."""
    try:
        return list(_resolve_backend(backend).get_input_names())
    except BACKEND_ERRORS as e:
        log.warning("MIDI: cannot list input ports (%s); carrying on without MIDI", _describe(e))
        return []


class MidiInput:
    """An open MIDI input port that feeds a :class:`MidiRouter`, or nothing when MIDI is unavailable.

    Never raises for a missing MIDI system or port: ``available`` is False and ``problem``
    says why (also logged once as a warning). Closes its port on :meth:`close` or on leaving
    a ``with`` block.
    """

    def __init__(self, config: ControlConfig, router: MidiRouter, backend: str | mido.Backend | None = None) -> None:
        self.router = router
        self.problem: str | None = None
        self._port: Any = None
        self._reader: threading.Thread | None = None
        self._stop = threading.Event()
        self._closed = False
        wanted = config.midi_input.strip()
        if not wanted:
            self.problem = "no MIDI input configured (control.midi_input = '')"
            log.info("MIDI: %s", self.problem)
            return
        self._open(wanted, _resolve_backend(backend))

    @classmethod
    def from_port(cls, port: Any, router: MidiRouter) -> "MidiInput":
        """Wrap an already open mido input port (taken over: :meth:`close` closes it)."""
        self = cls.__new__(cls)
        self.router, self.problem, self._port, self._reader = router, None, None, None
        self._stop, self._closed = threading.Event(), False
        self._attach(port)
        return self

    def _open(self, wanted: str, backend: Any) -> None:
        where = f"MIDI backend {getattr(backend, 'name', backend)}" + (
            f"/{backend.api}" if getattr(backend, "api", None) else ""
        )
        try:
            names = list(backend.get_input_names())
        except BACKEND_ERRORS as e:
            self._unavailable(f"cannot list MIDI input ports with {where} ({_describe(e)})", None)
            return
        if wanted == "*":
            chosen = names[0] if names else None
        else:
            chosen = next((n for n in names if wanted.lower() in n.lower()), None)
        if chosen is None:
            what = "there are no MIDI input ports" if wanted == "*" else f"no MIDI input port matches {wanted!r}"
            self._unavailable(f"{what} ({where})", names)
            return
        try:
            port = backend.open_input(chosen)
        except BACKEND_ERRORS as e:
            self._unavailable(f"cannot open MIDI input {chosen!r} ({_describe(e)})", names)
            return
        self._attach(port)
        log.info("MIDI: listening on %r", chosen)

    def _unavailable(self, problem: str, names: list[str] | None) -> None:
        ports = "unknown" if names is None else (", ".join(repr(n) for n in names) or "none")
        self.problem = problem
        log.warning("MIDI: %s; available input ports: %s; carrying on without MIDI", problem, ports)

    def _attach(self, port: Any) -> None:
        self._port = port
        if hasattr(port, "callback"):
            port.callback = self._on_message
        else:  # ports without callbacks (EchoPort, MultiPort, ...) are polled by a daemon thread
            self._reader = threading.Thread(target=self._poll, name=f"midi-in {port.name}", daemon=True)
            self._reader.start()

    def _on_message(self, msg: Any) -> None:
        try:
            self.router.handle(msg)
        except Exception:  # the callback runs on the backend's thread: never let it die
            log.exception("MIDI: error while handling %r", msg)

    def _poll(self, interval: float = 0.002) -> None:
        port = self._port
        while not self._stop.is_set() and not port.closed:
            try:
                for msg in port.iter_pending():
                    self._on_message(msg)
            except Exception as e:  # a port closed under us, or a broken port: stop quietly
                if not port.closed:
                    log.warning("MIDI: stopped reading %r: %s", getattr(port, "name", port), _describe(e))
                return
            self._stop.wait(interval)

    @property
    def available(self) -> bool:
        """True while a port is open and feeding the router."""
        return self._port is not None and not self._closed

    @property
    def port_name(self) -> str | None:
        """The open port's name (None when unavailable)."""
        return getattr(self._port, "name", None) if self._port is not None else None

    def close(self) -> None:
        """Stop feeding the router and close the port; safe to call more than once."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        port = self._port
        if port is None:
            return
        try:
            if hasattr(port, "callback"):
                port.callback = None
        except BACKEND_ERRORS:
            pass
        if self._reader is not None:
            self._reader.join(timeout=1.0)
        try:
            port.close()
        except BACKEND_ERRORS as e:
            log.warning("MIDI: error closing %r: %s", self.port_name, _describe(e))

    def __enter__(self) -> "MidiInput":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
