"""A thread-safe queue that keeps only the newest value per key and rate-limits actions.

Controller threads (MIDI callbacks, the OSC server) put; the frame loop drains once a frame.
Values (``put_latest``) collapse per key, latest wins, so a 10 k messages/s flood costs one
change per parameter per frame. Actions (``put_action``) keep their order and are never
merged; a drain hands out at most ``actions_per_drain`` of them (the rest wait for the next
frame) and at most ``max_actions`` wait (the oldest are dropped and counted). A new value for
a key supersedes that key's pending actions (an absolute position outdates "next").
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class CoalescingQueue(Generic[T]):
    """Newest value per key plus a bounded FIFO of actions, drained in arrival order."""

    def __init__(self, actions_per_drain: int = 32, max_actions: int = 1024) -> None:
        self.actions_per_drain = actions_per_drain
        self.max_actions = max_actions
        self._lock = threading.Lock()
        # slot ("value", key) or ("action", serial) → (key, item)
        self._pending: OrderedDict[tuple[str, Hashable], tuple[Hashable, T]] = OrderedDict()
        self._serial = itertools.count()
        self._actions = 0
        self.dropped = 0

    def put_latest(self, key: Hashable, item: T, merge: Callable[[T, T], T] | None = None) -> None:
        """Queue ``item`` as ``key``'s value; with ``merge``, combine it with a pending value
        (``merge(old, new)``) instead of replacing it."""
        with self._lock:
            old = self._pending.pop(("value", key), None)
            if old is not None and merge is not None:
                item = merge(old[1], item)
            for slot in [s for s, (k, _) in self._pending.items() if k == key and s[0] == "action"]:
                del self._pending[slot]
                self._actions -= 1
            self._pending[("value", key)] = (key, item)

    def put_action(self, key: Hashable, item: T) -> None:
        """Queue an action concerning ``key`` (never merged with another)."""
        with self._lock:
            self._pending[("action", next(self._serial))] = (key, item)
            self._actions += 1
            if self._actions > self.max_actions:
                oldest = next(s for s in self._pending if s[0] == "action")
                del self._pending[oldest]
                self._actions -= 1
                self.dropped += 1

    def drain(self) -> list[T]:
        """Everything pending in arrival order, except actions beyond ``actions_per_drain``
        (they stay for the next drain)."""
        with self._lock:
            out: list[T] = []
            actions = 0
            for slot in list(self._pending):
                if slot[0] == "action":
                    if actions >= self.actions_per_drain:
                        continue
                    actions += 1
                    self._actions -= 1
                out.append(self._pending.pop(slot)[1])
            return out

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)
