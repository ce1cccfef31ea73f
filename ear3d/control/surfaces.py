"""Every control surface of the live app in one place: MIDI controllers (with learn, feedback,
soft takeover and hot-plug) and OSC.

The live app builds one :class:`ControlSurfaces`, calls :meth:`drain` once a frame (the
commands to apply), :meth:`feedback` with what changed (from any source), :meth:`send_state`
after a scene or session load, and :meth:`close` at the end. The GUI reads
:meth:`pickup_state`, :attr:`learn` (``learning``, ``begin``, ``cancel``, ``unlearn``,
``bindings_for``).

Mappings per controller: a mapping learned on it (user config folder) when there is one,
else ``control.midi_mapping`` when it names one, else the shipped mapping whose ``ports``
match the port's name, else generic.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import mido

from ear3d.config import ControlConfig
from ear3d.control.learn import Learn
from ear3d.control.mapping import MidiMapping, load_mapping, mapping_for_port, mapping_to_toml
from ear3d.control.midi import MidiRouter
from ear3d.control.osc import OscServer
from ear3d.control.params import ControlError, Parameters
from ear3d.control.ports import MidiDevice, MidiPorts, PortWatcher, port_key
from ear3d.control.user_config import learned_mapping_path, write_toml
from ear3d.messages import Command

log = logging.getLogger(__name__)


def midi_patterns(midi_input: str | Sequence[str]) -> tuple[str, ...]:
    """The config's ``midi_input`` as a list of patterns; () = MIDI off."""
    items = [midi_input] if isinstance(midi_input, str) else list(midi_input)
    return tuple(p for p in (i.strip() for i in items) if p)


class ControlSurfaces:
    """MIDI and OSC for one Parameters registry; see the module doc. ``backend``: a mido backend
    (name or object) instead of the default; ``osc_port`` overrides the config's (tests)."""

    def __init__(self, config: ControlConfig, params: Parameters, backend: str | mido.Backend | None = None,
                 osc_port: int | None = None) -> None:
        self.config = config
        self.params = params
        self.learn = Learn(params, self.routers, self._save_learned)
        self.extra: list[MidiDevice] = []  # ports handed over with add_port
        self.last_touched: str | None = None
        self._fixed: MidiMapping | None = None
        if config.midi_mapping.strip() not in ("", "auto"):  # a bad name fails at once, not on the port thread
            self._fixed = load_mapping(config.midi_mapping, tuple(params.specs.values()))
        self.watcher: PortWatcher | None = None
        patterns = midi_patterns(config.midi_input)
        if patterns:
            self.watcher = PortWatcher(patterns, self._router_for, self._on_connect, MidiPorts(backend),
                                       config.hot_plug_s).start()
        else:
            log.info("MIDI off (control.midi_input is empty)")
        self.osc: OscServer | None = None
        if config.osc:
            port = config.osc_port if osc_port is None else osc_port
            try:
                self.osc = OscServer(params, config.osc_host, port)
            except OSError as e:
                log.warning("OSC: cannot listen on %s:%d (%s); carrying on without OSC", config.osc_host, port, e)

    # -- controllers ----------------------------------------------------------------------

    @property
    def devices(self) -> list[MidiDevice]:
        """Every controller seen (connected or unplugged) and every port handed over."""
        found = list(self.watcher.devices.values()) if self.watcher is not None else []
        return found + self.extra

    def routers(self) -> list[MidiRouter]:
        return [d.router for d in self.devices]

    def mapping_for(self, port_name: str) -> MidiMapping:
        """The mapping a controller called ``port_name`` gets (see the module doc)."""
        specs = tuple(self.params.specs.values())
        learned = learned_mapping_path(port_key(port_name))
        if learned.exists():
            try:
                return load_mapping(learned, specs)
            except ControlError as e:
                log.warning("MIDI: ignoring learned mapping: %s", e)
        return self._fixed if self._fixed is not None else mapping_for_port(port_name, specs)

    def _router_for(self, port_name: str) -> MidiRouter:
        return MidiRouter(self.mapping_for(port_name), self.params, self.learn, port_key(port_name))

    def add_port(self, port: Any, name: str | None = None, output: Any = None,
                 mapping: MidiMapping | None = None) -> MidiDevice:
        """Use an already open mido input port (and optional output) as a controller; it is
        closed with the others. Its mapping is chosen by ``name`` (default: the port's name)."""
        name = name or getattr(port, "name", None) or "port"
        router = MidiRouter(mapping or self.mapping_for(name), self.params, self.learn, port_key(name))
        device = MidiDevice(port_key(name), router)
        device.attach(port, output)
        self.extra.append(device)
        self._on_connect(device)
        return device

    def _on_connect(self, device: MidiDevice) -> None:
        device.send(device.router.feedback(self.params.snapshot(), everything=True))

    def _save_learned(self, router: MidiRouter) -> None:
        mapping = router.mapping
        data = mapping_to_toml(mapping)
        data["name"] = f"{router.name} (learned)"
        data["based_on"] = mapping.based_on or mapping.name
        path = learned_mapping_path(router.name)
        try:
            write_toml(path, data, "MIDI mapping learned by ear3d (edit freely; delete to go back to the shipped one)")
        except OSError as e:
            log.warning("MIDI learn: cannot save %s: %s", path, e)
            return
        log.warning("MIDI learn: saved %s", path)

    # -- the frame loop -------------------------------------------------------------------

    def drain(self) -> list[Command]:
        """What every surface did since the last call: at most one value per parameter and
        source, actions in order (rate-limited)."""
        commands = []
        for device in self.devices:
            commands.extend(device.router.drain())
        if self.osc is not None:
            commands.extend(self.osc.drain())
        return commands

    def feedback(self, changed: Mapping[str, float]) -> None:
        """Show ``changed`` values on every controller and OSC client."""
        if not changed:
            return
        for device in self.devices:
            if device.output is not None:
                device.send(device.router.feedback(changed))
        if self.osc is not None:
            self.osc.feedback(changed)

    def send_state(self) -> None:
        """Send every value to every controller and OSC client (after a scene or session load)."""
        values = self.params.snapshot()
        for device in self.devices:
            if device.output is not None:
                device.send(device.router.feedback(values, everything=True))
        if self.osc is not None:
            self.osc.feedback(values)

    # -- for the GUI and the keyboard -----------------------------------------------------

    def touched(self, name: str) -> None:
        """``name`` (a parameter) was just changed by hand: keyboard learn acts on it."""
        self.last_touched = name

    def learn_last_touched(self) -> None:
        """Arm learn for the last touched parameter, or cancel learning when armed."""
        if self.learn.learning is not None:
            self.learn.cancel()
            log.warning("MIDI learn cancelled")
        elif self.last_touched is None:
            raise ControlError("MIDI learn: touch a parameter first (a key or a slider), then learn")
        else:
            self.learn.begin(self.last_touched)

    def pickup_state(self, name: str) -> tuple[float, bool] | None:
        """(where the physical control is, in the parameter's units; whether it has taken over)
        for a soft-takeover control of ``name``; None when none has moved."""
        for router in self.routers():
            state = router.pickup_state(name)
            if state is not None:
                return state
        return None

    def status(self) -> dict[str, Any]:
        """Controllers (connected or not, with their counts), OSC address and counts, learn state."""
        return {
            "midi": {d.name: {"connected": d.connected, "mapping": d.router.mapping.name, **d.router.counts}
                     for d in self.devices},
            "midi_problem": self.watcher.problem if self.watcher is not None else "MIDI off",
            "osc": {"address": list(self.osc.address), **self.osc.counts} if self.osc is not None else None,
            "learning": self.learn.learning,
        }

    def close(self) -> None:
        """Close every port, thread and socket; idempotent."""
        if self.watcher is not None:
            self.watcher.close()
            self.watcher = None
        for device in self.extra:
            device.detach()
        self.extra = []
        if self.osc is not None:
            self.osc.close()
            self.osc = None
