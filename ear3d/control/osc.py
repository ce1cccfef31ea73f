"""OSC (python-osc over UDP): drive and read every live parameter and run the app's actions.

Address space (all under ``/ear3d``):

* ``/ear3d/<parameter> value``: set a value in the parameter's units (a choice's name and
  true/false work too); ``/ear3d/<parameter>/normalized x``: set from 0–1 along the range.
* ``/ear3d/action/<name> [value]``: an app action (``/ear3d/action/screenshot``,
  ``/ear3d/action/recall_scene 2``); ``/ear3d/action/<parameter>/<verb>``: next, prev, reset, toggle.
* ``/ear3d/query [port]``: replies to the sender (or to ``port`` on the sender's host) with
  ``/ear3d/param name lo hi value default scale group`` for every parameter,
  ``/ear3d/action name`` for every app action, then ``/ear3d/query/end count``.
* ``/ear3d/register [port]``: send the full state now and every change from then on to the
  sender (or ``port`` on its host) as ``/ear3d/<parameter> value``; ``/ear3d/unregister [port]``.

Messages arrive on the server thread, which reads every datagram waiting at once and parses
only the last value of each parameter among them (the others are counted as ``coalesced``);
what it parses is coalesced again until the frame loop drains it (control.coalesce): the
newest value per parameter, actions in order. Malformed datagrams and unknown or bad messages
are counted and ignored. The server listens on 127.0.0.1 unless told otherwise (with a warning).
"""

from __future__ import annotations

import logging
import math
import select
import socket
import struct
import threading
from collections.abc import Mapping
from typing import Any

from pythonosc import osc_packet
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_message_builder import build_msg

from ear3d.control.actions import APP_ACTION_VALUES, APP_ACTIONS
from ear3d.control.coalesce import CoalescingQueue
from ear3d.control.params import ACTIONS, ControlError, Parameters
from ear3d.messages import Command

log = logging.getLogger(__name__)

PREFIX = "/ear3d"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: Registered feedback clients at most (each gets every change).
MAX_CLIENTS = 16
#: Bytes of datagrams the kernel may hold for the server thread (capped by net.core.rmem_max).
RECEIVE_BUFFER = 1 << 21
#: Datagrams read in one go at most, and the longest one.
BATCH = 4096
MAX_DATAGRAM = 65535
#: Seconds the server thread waits for a datagram before checking whether it should stop.
POLL_S = 0.05


class _Dispatcher(Dispatcher):
    """python-osc's dispatcher, counting datagrams it cannot parse instead of passing silently."""

    def __init__(self, owner: OscServer) -> None:
        super().__init__()
        self.owner = owner

    def call_handlers_for_packet(self, data: bytes, client_address: tuple[str, int]) -> list:
        try:
            packet = osc_packet.OscPacket(data)
        except (osc_packet.ParseError, ValueError, IndexError, struct.error):  # python-osc lets some through
            self.owner._count("malformed")
            return []
        for timed in packet.messages:
            self.owner._on_message(client_address, timed.message.address, list(timed.message.params))
        return []


#: The type tags of a datagram that sets one number, and the struct format of that number.
_ONE_NUMBER = {b",f\x00\x00": ">f", b",i\x00\x00": ">i", b",d\x00\x00": ">d"}
_NUMBER_SIZE = {">f": 4, ">i": 4, ">d": 8}


def value_key(data: bytes, names: Mapping[str, Any]) -> str | None:
    """The parameter a datagram sets when it is a well-formed ``/ear3d/<parameter>[/normalized]``
    message with one finite number (then a later one for the same parameter makes it moot);
    None for anything else (bundles, actions, queries, text values, anything broken), which is
    parsed in full. Costs no OSC parsing: a flood is coalesced before python-osc sees it."""
    if not data.startswith(b"/ear3d/"):
        return None
    end = data.find(b"\x00")
    if end < 0:
        return None
    tags_at = (end + 4) & ~3
    form = _ONE_NUMBER.get(data[tags_at:tags_at + 4])
    if form is None or len(data) != tags_at + 4 + _NUMBER_SIZE[form]:
        return None
    name, _, rest = data[7:end].decode("ascii", "replace").partition("/")
    if name not in names or rest not in ("", "normalized"):
        return None
    if not math.isfinite(struct.unpack_from(form, data, tags_at + 4)[0]):
        return None  # parsed in full and counted as bad
    return name


class OscServer:
    """Listens on ``host``:``port`` (0 = any free port) on its own thread; :meth:`drain` once a
    frame, :meth:`feedback` with the changed values, :meth:`close` at the end. OSError when
    the port cannot be bound.

    The thread reads every datagram waiting on the socket at once and parses only the last
    value of each parameter among them (:func:`value_key`; the others are counted as
    ``coalesced``): 10 k messages a second cost a few microseconds each on the interpreter
    lock the frame loop needs, not a python-osc parse each."""

    def __init__(self, params: Parameters, host: str = "127.0.0.1", port: int = 9000,
                 actions_per_drain: int = 32) -> None:
        self.params = params
        self.queue: CoalescingQueue[Command] = CoalescingQueue(actions_per_drain)
        self.clients: set[tuple[str, int]] = set()
        self._lock = threading.Lock()
        self.counts = {"received": 0, "applied": 0, "coalesced": 0, "unknown": 0, "bad": 0, "malformed": 0}
        self._dispatcher = _Dispatcher(self)
        self._socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        try:
            # room for a flood to wait in the kernel while the frame loop holds the interpreter
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            self._socket.bind((host, port))
        except OSError:
            self._socket.close()
            raise
        self._socket.setblocking(False)
        bound_host, bound_port = self._socket.getsockname()[:2]
        self.address: tuple[str, int] = (str(bound_host), int(bound_port))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = threading.Thread(target=self._serve, name="osc-server", daemon=True)
        self._thread.start()
        if host not in LOOPBACK:
            log.warning("OSC: listening on %s:%d, reachable from the network: anyone there can drive ear3d",
                        *self.address)
        else:
            log.warning("OSC: listening on udp://%s:%d (/ear3d/<parameter> value, /ear3d/query)", *self.address)

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1
            if what != "malformed":
                self.counts["received"] += 1

    # -- the server thread ----------------------------------------------------------------

    def _serve(self) -> None:
        sock = self._socket
        while not self._stop.is_set():
            try:
                readable, _, _ = select.select([sock], [], [], POLL_S)
            except (OSError, ValueError):  # closed under us
                return
            if not readable:
                continue
            batch: list[tuple[bytes, tuple[str, int]]] = []
            while len(batch) < BATCH:
                try:
                    batch.append(sock.recvfrom(MAX_DATAGRAM))
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as e:  # e.g. an ICMP error from a client that went away
                    log.debug("OSC: receive failed: %s", e)
                    break
            try:
                self._handle_batch(batch)
            except Exception:  # the server thread must not die
                log.exception("OSC: error while handling %d datagrams", len(batch))

    def _handle_batch(self, batch: list[tuple[bytes, tuple[str, int]]]) -> None:
        """Parse and route the datagrams of ``batch`` in order, skipping a value a later one in
        the batch sets again (it would be replaced before the frame loop saw it)."""
        specs = self.params.specs
        keys = [value_key(data, specs) for data, _ in batch]
        last = {key: i for i, key in enumerate(keys) if key is not None}
        coalesced = 0
        for i, (data, sender) in enumerate(batch):
            key = keys[i]
            if key is not None and last[key] != i:
                coalesced += 1
                continue
            self._dispatcher.call_handlers_for_packet(data, sender)
        if coalesced:
            with self._lock:
                self.counts["coalesced"] += coalesced
                self.counts["received"] += coalesced

    def _on_message(self, sender: tuple[str, int], address: str, args: list[Any]) -> None:
        try:
            outcome = self._route(sender, address, args)
        except ControlError as e:
            log.debug("OSC: %s %s: %s", address, args, e)
            outcome = "bad"
        except (TypeError, ValueError, OSError) as e:
            log.debug("OSC: %s %s failed: %s", address, args, e)
            outcome = "bad"
        self._count(outcome)

    def _route(self, sender: tuple[str, int], address: str, args: list[Any]) -> str:
        if not address.startswith(PREFIX + "/"):
            return "unknown"
        parts = address[len(PREFIX) + 1:].split("/")
        head = parts[0]
        if head == "query" and len(parts) == 1:
            self._reply_query(self._reply_to(sender, args))
            return "applied"
        if head in ("register", "unregister") and len(parts) == 1:
            client = self._reply_to(sender, args)
            with self._lock:
                if head == "unregister":
                    self.clients.discard(client)
                elif len(self.clients) < MAX_CLIENTS:
                    self.clients.add(client)
                else:
                    raise ControlError(f"already {MAX_CLIENTS} OSC clients registered")
            if head == "register":
                self._send(client, [(f"{PREFIX}/{n}", v) for n, v in self.params.snapshot().items()])
            return "applied"
        if head == "action":
            return self._action(parts[1:], args)
        specs = self.params.specs
        if head not in specs or len(parts) > 2 or len(parts) == 2 and parts[1] != "normalized":
            return "unknown"
        if len(args) != 1:
            raise ControlError(f"{address} takes one value, got {len(args)}")
        spec = specs[head]
        value = spec.from_normalized(_number(args[0])) if len(parts) == 2 else spec.parse(args[0])
        self.queue.put_latest(head, Command(head, value))
        return "applied"

    def _action(self, parts: list[str], args: list[Any]) -> str:
        if len(parts) == 1 and parts[0] in APP_ACTIONS:
            name = parts[0]
            kind = APP_ACTION_VALUES.get(name)
            value = args[0] if args else None
            if kind == "scene":
                value = int(_number(value))
            elif kind == "text" and not isinstance(value, str):
                raise ControlError(f"app:{name} needs a text value")
            self.queue.put_action("app", Command(f"app:{name}", value))
            return "applied"
        if len(parts) == 2 and parts[0] in self.params.specs and parts[1] in ACTIONS:
            self.queue.put_action(parts[0], Command(f"{parts[0]}:{parts[1]}"))
            return "applied"
        return "unknown"

    @staticmethod
    def _reply_to(sender: tuple[str, int], args: list[Any]) -> tuple[str, int]:
        if args:
            port = args[0]
            if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
                raise ControlError(f"reply port must be an integer 1–65535, got {port!r}")
            return sender[0], port
        return sender[0], sender[1]

    def _reply_query(self, client: tuple[str, int]) -> None:
        values = self.params.snapshot()
        messages: list[tuple[str, Any]] = []
        for name, spec in self.params.specs.items():
            messages.append((f"{PREFIX}/param", [name, float(spec.lo), float(spec.hi), float(values[name]),
                                                  float(spec.default), spec.scale, spec.group]))
        messages += [(f"{PREFIX}/action", [name]) for name in APP_ACTIONS]
        messages.append((f"{PREFIX}/query/end", [len(self.params.specs)]))
        self._send(client, messages)

    def _send(self, client: tuple[str, int], messages: list[tuple[str, Any]]) -> None:
        for address, value in messages:
            values = value if isinstance(value, list) else [float(value)]
            try:
                self._socket.sendto(build_msg(address, values).dgram, client)
            except BlockingIOError:  # the send buffer is full: this update is lost, the client stays
                log.debug("OSC: send buffer full; dropped feedback to %s:%d", *client)
                return
            except OSError as e:  # a client that went away: drop it
                log.warning("OSC: cannot reach %s:%d (%s); unregistered", client[0], client[1], e)
                with self._lock:
                    self.clients.discard(client)
                return

    # -- the frame loop -------------------------------------------------------------------

    def drain(self) -> list[Command]:
        """The newest value per parameter and the pending actions, in arrival order."""
        return self.queue.drain()

    def feedback(self, changed: Mapping[str, float]) -> None:
        """Send ``changed`` values to every registered client."""
        if not changed:
            return
        with self._lock:
            clients = list(self.clients)
        messages = [(f"{PREFIX}/{name}", value) for name, value in changed.items()]
        for client in clients:
            self._send(client, messages)

    def close(self) -> None:
        """Stop the server thread and close the socket; idempotent."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=5.0)
        self._socket.close()
        self._thread = None


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ControlError(f"expected a number, got {value!r}")
    return float(value)



