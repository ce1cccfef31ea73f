"""MIDI ports by name: listing, opening, and hot-plug.

:class:`MidiPorts` lists and opens ports through a mido backend (rtmidi by default; the
``MIDO_BACKEND`` environment variable picks another, e.g. ``mido.backends.rtmidi/UNIX_JACK``).
With rtmidi it keeps one probe client for listing, so a scan a second is cheap.

:class:`MidiDevice` is one controller: its router (control.midi), its input port and its
output port of the same name (for feedback), which come and go.

:class:`PortWatcher` scans the input ports about once a second on a background thread: a
wanted port that appears is opened (``on_connect`` then sends it the full state), one that
disappears is closed with one warning; the show goes on and a port plugged in again gets
its old mapping back.
"""

from __future__ import annotations

import collections
import logging
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

import mido

from ear3d.control.mapping import port_matches
from ear3d.control.midi import BACKEND_ERRORS, MidiRouter, describe_error, resolve_backend

log = logging.getLogger(__name__)

#: Ports '*' leaves alone: ALSA's through port and the ports rtmidi opens for ear3d itself.
SKIPPED_BY_STAR = ("Midi Through", "RtMidi Input", "RtMidi Output")


def port_key(name: str) -> str:
    """A port's identity across plugging: ALSA's trailing client:port numbers dropped
    ("BCF2000:BCF2000 MIDI 1 20:0" → "BCF2000:BCF2000 MIDI 1")."""
    return re.sub(r"\s+\d+:\d+$", "", name).strip()


def port_label(name: str) -> str:
    """The port's own name without its client ("RtMidiOut Client:ctl" → "ctl")."""
    return port_key(name).split(":", 1)[-1].strip()


def wanted(patterns: Sequence[str], name: str) -> bool:
    """Whether the config's ``midi_input`` patterns select the port ``name``."""
    for pattern in patterns:
        if pattern.strip() == "*":
            if not any(skip.lower() in name.lower() for skip in SKIPPED_BY_STAR):
                return True
        elif port_matches(pattern, name):
            return True
    return False


class MidiPorts:
    """Port listing and opening through one mido backend; BACKEND_ERRORS pass through."""

    def __init__(self, backend: str | mido.Backend | None = None) -> None:
        self.backend = resolve_backend(backend)
        self._probes: tuple[Any, Any] | None = None

    @property
    def where(self) -> str:
        """The backend, for messages: "mido.backends.rtmidi/UNIX_JACK"."""
        api = getattr(self.backend, "api", None)
        return f"{getattr(self.backend, 'name', self.backend)}" + (f"/{api}" if api else "")

    def _rtmidi_probes(self) -> tuple[Any, Any] | None:
        module = self.backend.module
        rtmidi = getattr(module, "rtmidi", None)
        if rtmidi is None:
            return None
        if self._probes is None:
            api = getattr(self.backend, "api", None)
            rtapi = getattr(rtmidi, f"API_{api}") if api else rtmidi.API_UNSPECIFIED
            self._probes = (rtmidi.MidiIn(rtapi=rtapi, name="ear3d probe"),
                            rtmidi.MidiOut(rtapi=rtapi, name="ear3d probe"))
        return self._probes

    def inputs(self) -> list[str]:
        probes = self._rtmidi_probes()
        return list(probes[0].get_ports()) if probes else list(self.backend.get_input_names())

    def outputs(self) -> list[str]:
        probes = self._rtmidi_probes()
        return list(probes[1].get_ports()) if probes else list(self.backend.get_output_names())

    def open_input(self, name: str) -> Any:
        return self.backend.open_input(name)

    def open_output(self, name: str) -> Any:
        return self.backend.open_output(name)

    def output_for(self, input_name: str) -> str | None:
        """The output port of the same controller: the same name, else the same port name under
        another client (how JACK shows a device's two directions)."""
        try:
            outputs = self.outputs()
        except BACKEND_ERRORS:
            return None
        if input_name in outputs:
            return input_name
        key, label = port_key(input_name), port_label(input_name)
        return next((o for o in outputs if port_key(o) == key), None) or next(
            (o for o in outputs if port_label(o) == label), None)

    def close(self) -> None:
        if self._probes is not None:
            for probe in self._probes:
                probe.delete()
            self._probes = None


#: Seconds a flood of MIDI messages gathers before it is parsed as one batch (about the frame
#: loop's control.apply_hz: the values wait no longer than they would for the frame).
BATCH_INTERVAL_S = 0.008


def _raw_input(port: Any) -> Any:
    """The python-rtmidi MidiIn under a mido rtmidi input port (mido keeps it as ``_rt``; there
    is no public way to its raw callback), or None for any other port."""
    if port is None or getattr(port, "is_input", False) is not True:
        return None
    rt = getattr(port, "_rt", None)
    return rt if rt is not None and hasattr(rt, "set_callback") and hasattr(rt, "cancel_callback") else None


class MidiDevice:
    """One controller: ``router`` plus its ports while it is plugged in. Thread-safe."""

    def __init__(self, name: str, router: MidiRouter) -> None:
        self.name = name
        self.router = router
        self.input: Any = None
        self.output: Any = None
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None
        self._stop = threading.Event()
        self._raw: collections.deque[list[int]] = collections.deque()  # rtmidi's bytes, for the pump
        self._arrived = threading.Event()

    @property
    def connected(self) -> bool:
        return self.input is not None

    def attach(self, input_port: Any, output_port: Any = None) -> None:
        """Start feeding the router from ``input_port`` (rtmidi's raw bytes in batches, see
        :meth:`_pump`; other callback ports directly; the rest, such as mido's EchoPort and
        MultiPort, from a polling thread); ``output_port`` gets feedback."""
        with self._lock:
            self.input, self.output = input_port, output_port
            self._stop = threading.Event()
            rt = _raw_input(input_port)
            if rt is not None:
                self._raw, self._arrived = collections.deque(), threading.Event()
                rt.set_callback(self._on_raw)  # replaces mido's, which makes a Message of each
                self._reader = threading.Thread(target=self._pump, args=(self._stop,),
                                                name=f"midi-in {self.name}", daemon=True)
                self._reader.start()
            elif hasattr(input_port, "callback"):
                input_port.callback = self._on_message
            else:
                self._reader = threading.Thread(target=self._poll, args=(input_port, self._stop),
                                                name=f"midi-in {self.name}", daemon=True)
                self._reader.start()

    def _on_message(self, msg: Any) -> None:
        try:
            self.router.handle(msg)
        except Exception:  # the callback runs on the backend's thread: never let it die
            log.exception("MIDI %s: error while handling %r", self.name, msg)

    def _on_raw(self, event: tuple[list[int], float], data: Any = None) -> None:
        """rtmidi's callback (its thread): queue the bytes; the pump parses them."""
        self._raw.append(event[0])
        if not self._arrived.is_set():
            self._arrived.set()

    def _pump(self, stop: threading.Event) -> None:
        """Hand what rtmidi delivered to the router in batches: at once after a quiet spell,
        then at most every BATCH_INTERVAL_S while messages keep coming (a flood waits that long
        and is coalesced per control before it is parsed; see MidiRouter.feed_batch)."""
        raw, arrived = self._raw, self._arrived
        while not stop.is_set():
            if not arrived.wait(0.1):
                continue
            arrived.clear()
            batch = []
            while raw:
                batch.append(raw.popleft())
            try:
                self.router.feed_batch(batch)
            except Exception:  # never let the reader die
                log.exception("MIDI %s: error while handling %d messages", self.name, len(batch))
            stop.wait(BATCH_INTERVAL_S)

    def _poll(self, port: Any, stop: threading.Event, interval: float = 0.002) -> None:
        while not stop.is_set() and not port.closed:
            try:
                for msg in port.iter_pending():
                    self._on_message(msg)
            except Exception as e:  # a port closed under us, or a broken one: stop quietly
                if not port.closed:
                    log.warning("MIDI %s: stopped reading: %s", self.name, describe_error(e))
                return
            stop.wait(interval)

    def send(self, messages: Sequence[mido.Message]) -> int:
        """Send ``messages`` to the output port (when there is one); returns how many went out."""
        if not messages:
            return 0
        with self._lock:
            port = self.output
            if port is None:
                return 0
            try:
                for msg in messages:
                    port.send(msg)
            except BACKEND_ERRORS as e:
                log.warning("MIDI %s: feedback output failed (%s); no more feedback until it is plugged in again",
                            self.name, describe_error(e))
                self.output = None
                return 0
            return len(messages)

    def detach(self) -> None:
        """Close the ports (the router and its mapping stay for a reconnect); idempotent."""
        with self._lock:
            ports, self.input, self.output = (self.input, self.output), None, None
            self._stop.set()
            reader, self._reader = self._reader, None
        rt = _raw_input(ports[0])
        if rt is not None:  # rtmidi's thread stops calling _on_raw before the port closes
            rt.cancel_callback()
        if reader is not None:
            reader.join(timeout=1.0)
        for port in ports:
            if port is None:
                continue
            try:
                if getattr(port, "callback", None) is not None:
                    port.callback = None
                port.close()
            except BACKEND_ERRORS as e:
                log.warning("MIDI %s: error closing a port: %s", self.name, describe_error(e))


#: Longest wait between probes while there is no MIDI system at all.
NO_SYSTEM_RETRY_S = 60.0


class PortWatcher:
    """Opens the wanted input ports and keeps them open across unplugging; see the module doc.

    ``make_router(port_name)`` builds a new controller's router (its mapping chosen by name);
    ``on_connect(device)`` runs after each (re)connection, on the watcher's thread.
    """

    def __init__(self, patterns: Sequence[str], make_router: Callable[[str], MidiRouter],
                 on_connect: Callable[[MidiDevice], None] | None = None, ports: MidiPorts | None = None,
                 interval_s: float = 1.0) -> None:
        self.patterns = tuple(patterns)
        self.ports = ports if ports is not None else MidiPorts()
        self._make_router = make_router
        self._on_connect = on_connect
        self.interval_s = interval_s
        self.devices: dict[str, MidiDevice] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned: set[str] = set()
        #: why there is no MIDI, when there is none (None once a port is open)
        self.problem: str | None = None

    def _warn_once(self, key: str, message: str, *args: Any) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *args)

    def scan(self) -> None:
        """Open wanted ports that appeared, close those that vanished (called by the thread; tests call it too)."""
        with self._lock:
            try:
                names = self.ports.inputs()
            except BACKEND_ERRORS as e:
                self.problem = f"no MIDI system ({self.ports.where}: {describe_error(e)})"
                self._warn_once("no-system", "MIDI: %s; carrying on without MIDI", self.problem)
                return
            self._warned.discard("no-system")
            present = {port_key(n): n for n in names if wanted(self.patterns, n)}
            for key, device in self.devices.items():
                if device.connected and key not in present:
                    device.detach()
                    log.warning("MIDI: %r unplugged; the show goes on, it reconnects when plugged in again", key)
            for key, name in present.items():
                known = self.devices.get(key)
                if known is None or not known.connected:
                    self._connect(key, name, known)
            if not any(d.connected for d in self.devices.values()):
                listed = ", ".join(repr(n) for n in names) or "none"
                self.problem = f"no MIDI input port matches {', '.join(map(repr, self.patterns))} (ports: {listed})"
                self._warn_once("no-port", "MIDI: %s; carrying on, ports plugged in later are opened", self.problem)
            else:
                self.problem = None

    def _connect(self, key: str, name: str, device: MidiDevice | None) -> None:
        try:
            input_port = self.ports.open_input(name)
        except BACKEND_ERRORS as e:
            self._warn_once(f"open {key}", "MIDI: cannot open input %r (%s)", name, describe_error(e))
            return
        output_name = self.ports.output_for(name)
        output_port = None
        if output_name is not None:
            try:
                output_port = self.ports.open_output(output_name)
            except BACKEND_ERRORS as e:
                log.warning("MIDI: cannot open output %r for feedback (%s)", output_name, describe_error(e))
        fresh = device is None
        if device is None:
            device = self.devices[key] = MidiDevice(key, self._make_router(name))
        device.attach(input_port, output_port)
        self._warned.discard(f"open {key}")
        feedback = f", feedback to {output_name!r}" if output_port is not None else ", no output for feedback"
        log.warning("MIDI: %s %r with mapping %r%s", "opened" if fresh else "reconnected", name,
                    device.router.mapping.name, feedback)
        if self._on_connect is not None:
            try:
                self._on_connect(device)
            except Exception:  # a failing state dump must not stop the watcher
                log.exception("MIDI: sending the state to %r failed", key)

    def start(self) -> PortWatcher:
        """Scan now, then about every ``interval_s`` on a daemon thread."""
        self.scan()
        self._thread = threading.Thread(target=self._run, name="midi-ports", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        wait = self.interval_s
        while not self._stop.wait(wait):
            try:
                self.scan()
            except Exception:  # never let hot-plug die
                log.exception("MIDI: port scan failed")
            # Without a MIDI system (no ALSA sequencer) each probe costs a backend start and
            # libasound prints to stderr: back off to once a minute until one appears.
            missing = "no-system" in self._warned
            wait = min(wait * 2, NO_SYSTEM_RETRY_S) if missing else self.interval_s

    def close(self) -> None:
        """Stop scanning and close every port; idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        with self._lock:
            for device in self.devices.values():
                device.detach()
            self.ports.close()
