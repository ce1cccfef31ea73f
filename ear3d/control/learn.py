"""MIDI learn: arm a parameter or action, move a control, and that control drives it.

:meth:`Learn.begin` arms a target (a parameter name such as ``"exposure"`` or an action such
as ``"highlight_layer:next"`` or ``"app:screenshot"``); the next control event of any
controller (on the MIDI thread, :meth:`Learn.capture`) is bound to it in that controller's
mapping, replacing what the control did before and the target's earlier bindings on that
controller. ``on_learned(router)`` then saves the mapping (see control.surfaces).
:meth:`unlearn` removes every binding of a target. What a control becomes:

* CC (7-bit, or 14-bit when its mapping pairs it), NRPN, pitch bend: an absolute control
  over the whole range (actions: a button that fires at values >= 64);
* note: a toggle for a switch (two values), else momentary (on while held); actions: a trigger;
* program change: only for app:recall_scene / app:store_scene (program N → scene N + 1).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ear3d.control.events import ControlEvent
from ear3d.control.mapping import Binding, MidiMapping, _Parser
from ear3d.control.params import ControlError, Parameters

if TYPE_CHECKING:
    from ear3d.control.midi import MidiRouter

log = logging.getLogger(__name__)


def binding_for(event: ControlEvent, target: str, mapping: MidiMapping, params: Parameters) -> Binding | None:
    """The binding that makes ``event``'s control drive ``target`` (None when it cannot, e.g. a
    note off, or a program change for anything but a scene action)."""
    parser = _Parser(params.specs, None, "")
    defaults = {"feedback": mapping.defaults.get("feedback", True), "pickup": mapping.defaults.get("pickup", False)}
    source = {"cc": "cc", "cc14": "cc", "nrpn": "nrpn", "pitchbend": "pitchbend", "note_on": "note",
              "program": "program"}.get(event.kind)
    if source is None:
        return None
    number = event.channel if source == "pitchbend" else event.number
    if ":" in target:
        action = parser.action((), "learn", target)
        if source == "program":
            if action.param != "app" or action.verb not in ("recall_scene", "store_scene"):
                return None
            return Binding("program", 0, channel=event.channel, action=action, feedback=False)
        return Binding(source, number, channel=event.channel, action=action, feedback=False,
                       mode="trigger" if source == "note" else "absolute")
    if source == "program":
        return None
    spec = params.spec(target)
    if source == "note":
        switch = spec.integer and spec.hi - spec.lo == 1
        return Binding("note", number, channel=event.channel, param=target, mode="toggle" if switch else "momentary",
                       feedback=defaults["feedback"])
    bits = 14 if event.kind in ("cc14", "nrpn", "pitchbend") else 7
    return Binding(source, number, channel=event.channel, param=target, bits=bits, **defaults)


class Learn:
    """The learn state shared by every controller; thread-safe.

    ``routers`` lists the routers of the connected controllers; ``on_learned(router)`` is
    called (on the MIDI thread) after a router's mapping changed.
    """

    def __init__(self, params: Parameters, routers: Callable[[], Sequence[MidiRouter]],
                 on_learned: Callable[[MidiRouter], None] | None = None) -> None:
        self.params = params
        self._routers = routers
        self._on_learned = on_learned
        self._lock = threading.Lock()
        self._target: str | None = None
        #: (controller, control, target) of the last binding learned
        self.last_learned: tuple[str, str, str] | None = None

    @property
    def learning(self) -> str | None:
        """The parameter or action waiting for a control, or None."""
        return self._target

    def begin(self, target: str) -> None:
        """Arm ``target`` (a parameter, or an action such as "exposure:reset" or "app:screenshot");
        ControlError when it is neither."""
        if ":" in target:
            _Parser(self.params.specs, None, "").action((), "learn", target)
        else:
            self.params.spec(target)
        with self._lock:
            self._target = target
        log.warning("MIDI learn: move a control for %s", target)

    def cancel(self) -> None:
        """Stop waiting for a control."""
        with self._lock:
            self._target = None

    def capture(self, router: MidiRouter, event: ControlEvent) -> bool:
        """Bind ``event``'s control to the armed target (MIDI thread); True when it was taken."""
        with self._lock:
            target = self._target
            if target is None:
                return False
            try:
                binding = binding_for(event, target, router.mapping, self.params)
            except ControlError as e:
                log.warning("MIDI learn: %s", e)
                self._target = None
                return False
            if binding is None:
                return False
            router.mapping = router.mapping.without(target).with_binding(binding)
            self._target = None
            self.last_learned = (router.name, binding.describe(), target)
        log.warning("MIDI learn: %s %s → %s", router.name, binding.describe(), target)
        if self._on_learned is not None:
            self._on_learned(router)
        return True

    def unlearn(self, target: str) -> int:
        """Remove every controller's bindings of ``target``; returns how many were removed."""
        removed = 0
        for router in self._routers():
            before = sum(1 for b in router.mapping.bindings() if b.target == target or b.param == target)
            if before:
                router.mapping = router.mapping.without(target)
                removed += before
                if self._on_learned is not None:
                    self._on_learned(router)
        log.warning("MIDI: %d binding(s) of %s removed", removed, target)
        return removed

    def bindings_for(self, target: str) -> list[str]:
        """Where ``target`` is bound, e.g. ["BCF2000: CC 81", "nanoKONTROL2: CC 0"]."""
        return [f"{router.name}: {b.describe()}" for router in self._routers() for b in router.mapping.bindings()
                if b.target == target or b.param == target]
