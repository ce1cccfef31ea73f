"""Whole Python objects over a stream socket between two processes, numpy arrays out of band.

A message is a pickle (protocol 5) whose buffers — the data of every contiguous numpy array
in it — travel after it, raw, each padded to ALIGN bytes; the receiver reads all of them with
one ``recv_into`` (MSG_WAITALL) into one fresh allocation and the arrays are rebuilt over it
without a copy. The interpreter lock is released for the whole transfer, so that a receiving
thread needs the lock only briefly per message, however long the arrays (a 10 MB activation
frame costs it one short turn, not one per 64 KB chunk as ``multiprocessing.Connection``'s
reads would).

Layout on the wire: ``<Q pickle bytes><I buffer count>`` then one ``<Q>`` length per buffer,
then the pickle and the buffers (each starting at a multiple of ALIGN from the pickle's start).
"""

from __future__ import annotations

import pickle
import socket
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

#: Buffers start at multiples of this many bytes from the message's start (arrays rebuilt over
#: them are aligned for their dtype).
ALIGN = 64
_HEAD = struct.Struct("<QI")
_LENGTH = struct.Struct("<Q")

Dumps = Callable[..., bytes]


def _padded(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def encode(obj: Any, dumps: Dumps = pickle.dumps) -> list[memoryview]:
    """The parts of one message, ready for :func:`send_parts`. ``dumps`` is ``pickle.dumps``
    or a compatible one (``cloudpickle.dumps`` for functions defined at run time). The parts
    refer to the arrays' own memory: send them before the arrays change."""
    buffers: list[pickle.PickleBuffer] = []
    data = dumps(obj, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    head = _HEAD.pack(len(data), len(raws)) + b"".join(_LENGTH.pack(r.nbytes) for r in raws)
    parts = [memoryview(head), memoryview(data)]
    offset = len(data)
    for raw in raws:
        pad = _padded(offset) - offset
        if pad:
            parts.append(memoryview(bytes(pad)))
        parts.append(raw)
        offset += pad + raw.nbytes
    return parts


def send_parts(sock: socket.socket, parts: list[memoryview]) -> None:
    """Write one encoded message (blocks until the peer has taken it; the lock is released
    while it waits)."""
    for part in parts:
        sock.sendall(part)


def send(sock: socket.socket, obj: Any, dumps: Dumps = pickle.dumps) -> None:
    """Encode and write one message."""
    send_parts(sock, encode(obj, dumps))


def _recv_exactly_into(sock: socket.socket, view: memoryview) -> None:
    got = 0
    while got < view.nbytes:
        n = sock.recv_into(view[got:], view.nbytes - got, socket.MSG_WAITALL)
        if n == 0:
            raise EOFError("the peer closed the connection")
        got += n


def receive(sock: socket.socket) -> Any:
    """Read one message and unpickle it. Raises EOFError when the peer has gone, and what
    unpickling raises (the stream stays in step: the whole message was read first)."""
    head = bytearray(_HEAD.size)
    _recv_exactly_into(sock, memoryview(head))
    n_data, n_buffers = _HEAD.unpack(head)
    lengths_raw = bytearray(_LENGTH.size * n_buffers)
    if n_buffers:
        _recv_exactly_into(sock, memoryview(lengths_raw))
    lengths = [_LENGTH.unpack_from(lengths_raw, i * _LENGTH.size)[0] for i in range(n_buffers)]
    offsets, offset = [], n_data
    for n in lengths:
        offset = _padded(offset)
        offsets.append(offset)
        offset += n
    payload = np.empty(offset, np.uint8)  # no zero-fill; malloc's alignment (16 bytes) + ALIGN offsets
    view = memoryview(payload.data)
    _recv_exactly_into(sock, view)
    buffers = [view[o:o + n] for o, n in zip(offsets, lengths, strict=True)]
    return pickle.loads(view[:n_data], buffers=buffers)
