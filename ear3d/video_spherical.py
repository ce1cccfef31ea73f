"""Spherical-video metadata for equirectangular MP4s, so that 360° players and video sites
show them as panoramas.

Two generations are written into the video track, as Google's spatial-media tool does:

- Spherical Video V2 (https://github.com/google/spatial-media/blob/master/docs/spherical-video-v2-rfc.md):
  ``st3d`` (stereo mode) and ``sv3d`` (``svhd`` + ``proj``/``prhd``/``equi``) appended to the
  video's sample entry (``stsd``/``avc1``);
- V1 (spherical-video-rfc.md): a ``uuid`` box holding the GSpherical RDF/XML, in the ``trak``.

No maintained Python package does this (spatial-media is a script, not a library; MP4
parsers on PyPI cannot rewrite a ``moov``), so this module is a small box writer: it parses
only the ``moov`` box, inserts the boxes, recomputes every parent's size and shifts the
chunk offsets (``stco``/``co64``) of every track by the growth of the ``moov`` when it lies
before the media data (``-movflags +faststart``). The media data is copied untouched.
Writing again replaces the boxes (idempotent). :func:`read_spherical` parses them back.
"""

from __future__ import annotations

import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path

from ear3d.atomic import atomic_write

#: The V1 metadata's uuid (spherical-video-rfc.md).
SPHERICAL_UUID = bytes.fromhex("ffcc8263f8554a938814587a02521fdd")
#: V2 ``st3d`` stereo_mode values; V1 uses the names.
STEREO_MODES = {"mono": 0, "top-bottom": 1, "left-right": 2}
#: Boxes whose payload is only child boxes (those on the way to the sample entry and beyond).
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"sv3d", b"proj", b"edts", b"dinf"}
#: Visual sample entries: 78 bytes of fields before their child boxes (ISO 14496-12 §12.1.3).
_VISUAL_ENTRIES = {b"avc1", b"avc3", b"hvc1", b"hev1", b"vp09", b"av01", b"mp4v"}
_VISUAL_FIELDS = 78


class SphericalError(ValueError):
    """The file is not an MP4 this module can rewrite (no moov, no video track, bad sizes)."""


@dataclass
class Box:
    """An ISO BMFF box: ``kind`` (4 bytes), ``head`` (payload bytes before the children:
    a full box's version and flags, stsd's entry count, a sample entry's fields; all of the
    payload for a leaf) and ``children`` (None for a leaf)."""

    kind: bytes
    head: bytes = b""
    children: list[Box] | None = None

    def to_bytes(self) -> bytes:
        body = self.head + b"".join(c.to_bytes() for c in self.children or ())
        size = 8 + len(body)
        if size < 2**32:
            return struct.pack(">I4s", size, self.kind) + body
        return struct.pack(">I4sQ", 1, self.kind, size + 8) + body

    def find(self, kind: bytes) -> Box | None:
        return next((c for c in self.children or () if c.kind == kind), None)

    def path(self, *kinds: bytes) -> Box | None:
        box: Box | None = self
        for kind in kinds:
            box = box.find(kind) if box is not None else None
        return box


def _header(data: bytes | memoryview, pos: int, end: int) -> tuple[int, bytes, int]:
    """(box size, kind, header length) of the box at ``pos`` (size 0: to ``end``)."""
    if pos + 8 > end:
        raise SphericalError(f"truncated box header at byte {pos}")
    size, kind = struct.unpack_from(">I4s", data, pos)
    length = 8
    if size == 1:
        if pos + 16 > end:
            raise SphericalError(f"truncated 64-bit box header at byte {pos}")
        (size,) = struct.unpack_from(">Q", data, pos + 8)
        length = 16
    elif size == 0:
        size = end - pos
    if size < length or pos + size > end:
        raise SphericalError(f"box {kind!r} at byte {pos} has an impossible size {size}")
    return size, bytes(kind), length


def _parse(data: bytes, pos: int, end: int) -> list[Box]:
    boxes = []
    while pos < end:
        size, kind, length = _header(data, pos, end)
        start, stop = pos + length, pos + size
        if kind in _CONTAINERS:
            boxes.append(Box(kind, b"", _parse(data, start, stop)))
        elif kind == b"stsd":
            boxes.append(Box(kind, data[start:start + 8], _parse(data, start + 8, stop)))
        elif kind in _VISUAL_ENTRIES:
            head_end = start + _VISUAL_FIELDS
            boxes.append(Box(kind, data[start:head_end], _parse(data, head_end, stop)))
        else:
            boxes.append(Box(kind, data[start:stop]))
        pos = stop
    return boxes


def _top_level(path: Path) -> list[tuple[bytes, int, int]]:
    """(kind, offset, size) of every top-level box of the file."""
    out = []
    with open(path, "rb") as f:
        end = f.seek(0, 2)
        pos = 0
        while pos < end:
            f.seek(pos)
            head = f.read(16)
            if len(head) < 8:
                raise SphericalError(f"{path}: truncated box header at byte {pos}")
            size, kind = struct.unpack_from(">I4s", head)
            if size == 1:
                if len(head) < 16:
                    raise SphericalError(f"{path}: truncated 64-bit box header at byte {pos}")
                (size,) = struct.unpack_from(">Q", head, 8)
            elif size == 0:  # the last box runs to the end of the file
                size = end - pos
            if size < 8 or pos + size > end:
                raise SphericalError(f"{path}: box {kind!r} at byte {pos} has an impossible size {size}")
            out.append((bytes(kind), pos, size))
            pos += size
    return out


def _video_track(moov: Box) -> Box:
    for trak in moov.children or ():
        if trak.kind != b"trak":
            continue
        hdlr = trak.path(b"mdia", b"hdlr")
        if hdlr is not None and hdlr.head[8:12] == b"vide":
            return trak
    raise SphericalError("the MP4 has no video track")


def _sample_entry(trak: Box) -> Box:
    stsd = trak.path(b"mdia", b"minf", b"stbl", b"stsd")
    entry = stsd.children[0] if stsd is not None and stsd.children else None
    if entry is None or entry.kind not in _VISUAL_ENTRIES:
        kinds = ", ".join(sorted(k.decode() for k in _VISUAL_ENTRIES))
        raise SphericalError(f"the video track's sample entry is not one of {kinds}")
    return entry


def _full(kind: bytes, payload: bytes, version: int = 0, flags: int = 0) -> Box:
    return Box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def v2_boxes(stereo: str = "mono", source: str = "ear3d") -> tuple[Box, Box]:
    """(st3d, sv3d) of an equirectangular projection covering the whole sphere."""
    st3d = _full(b"st3d", struct.pack(">B", STEREO_MODES[stereo]))
    svhd = _full(b"svhd", source.encode() + b"\0")
    prhd = _full(b"prhd", struct.pack(">iii", 0, 0, 0))  # yaw, pitch, roll: 16.16 degrees
    equi = _full(b"equi", struct.pack(">IIII", 0, 0, 0, 0))  # bounds top, bottom, left, right: none cropped
    return st3d, Box(b"sv3d", b"", [svhd, Box(b"proj", b"", [prhd, equi])])


def v1_xml(stereo: str = "mono", software: str = "ear3d") -> str:
    """The GSpherical RDF/XML of an equirectangular video."""
    mode = "" if stereo == "mono" else f"<GSpherical:StereoMode>{stereo}</GSpherical:StereoMode>"
    return ('<?xml version="1.0"?><rdf:SphericalVideo xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns:GSpherical="http://ns.google.com/videos/1.0/spherical/">'
            "<GSpherical:Spherical>true</GSpherical:Spherical><GSpherical:Stitched>true</GSpherical:Stitched>"
            f"<GSpherical:StitchingSoftware>{software}</GSpherical:StitchingSoftware>"
            f"<GSpherical:ProjectionType>equirectangular</GSpherical:ProjectionType>{mode}</rdf:SphericalVideo>")


def _shift_chunk_offsets(moov: Box, after: int, delta: int) -> None:
    """Add ``delta`` to every chunk offset past byte ``after`` (all tracks)."""
    for trak in moov.children or ():
        stbl = trak.path(b"mdia", b"minf", b"stbl") if trak.kind == b"trak" else None
        for box in stbl.children or () if stbl is not None else ():
            if box.kind not in (b"stco", b"co64"):
                continue
            fmt = ">I" if box.kind == b"stco" else ">Q"
            (count,) = struct.unpack_from(">I", box.head, 4)
            offsets = list(struct.unpack_from(f">{count}{fmt[1]}", box.head, 8))
            offsets = [o + delta if o > after else o for o in offsets]
            if box.kind == b"stco" and offsets and max(offsets) >= 2**32:
                raise SphericalError("chunk offsets grow past 4 GiB: the file needs co64 (not rewritten)")
            box.head = box.head[:8] + struct.pack(f">{count}{fmt[1]}", *offsets)


def inject_spherical(path: str | Path, stereo: str = "mono", software: str = "ear3d") -> Path:
    """Mark the MP4 at ``path`` as an equirectangular 360° video (V2 and V1 metadata),
    ``stereo`` one of STEREO_MODES (top-bottom: left eye on top). Rewritten atomically."""
    if stereo not in STEREO_MODES:
        raise SphericalError(f"stereo mode {stereo!r} is not one of {', '.join(STEREO_MODES)}")
    path = Path(path)
    top = _top_level(path)
    moovs = [(pos, size) for kind, pos, size in top if kind == b"moov"]
    if len(moovs) != 1:
        raise SphericalError(f"{path}: expected one moov box, found {len(moovs)}")
    moov_pos, moov_size = moovs[0]
    with open(path, "rb") as f:
        f.seek(moov_pos)
        raw = f.read(moov_size)
    size, _, length = _header(raw, 0, len(raw))
    moov = Box(b"moov", b"", _parse(raw, length, size))
    trak = _video_track(moov)
    entry = _sample_entry(trak)
    st3d, sv3d = v2_boxes(stereo, software)
    entry.children = [c for c in entry.children or () if c.kind not in (b"st3d", b"sv3d")] + [st3d, sv3d]
    trak.children = [c for c in trak.children or () if not (c.kind == b"uuid" and c.head[:16] == SPHERICAL_UUID)]
    trak.children.append(Box(b"uuid", SPHERICAL_UUID + v1_xml(stereo, software).encode()))
    delta = len(moov.to_bytes()) - moov_size
    _shift_chunk_offsets(moov, moov_pos, delta)
    new_moov = moov.to_bytes()

    def write(tmp: str) -> None:
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            dst.write(src.read(moov_pos))
            dst.write(new_moov)
            src.seek(moov_pos + moov_size)
            shutil.copyfileobj(src, dst, 1 << 20)

    return atomic_write(path, write, suffix=".mp4")


@dataclass(frozen=True)
class SphericalInfo:
    """What an MP4's video track says about its projection (empty fields: not present)."""

    projection: str = ""        # V2: "equirectangular" (equi), "cubemap" (cbmp), "" = no sv3d
    stereo: str = ""            # V2 st3d: one of STEREO_MODES, "" = no st3d
    source: str = ""            # V2 svhd metadata_source
    bounds: tuple[int, int, int, int] = (0, 0, 0, 0)  # equi top, bottom, left, right (0.32 fixed)
    v1_xml: str = ""            # the V1 uuid box's XML
    boxes: tuple[str, ...] = field(default=())  # the sample entry's child boxes, in order


def read_spherical(path: str | Path) -> SphericalInfo:
    """Parse the spherical metadata of ``path``'s video track back from its boxes."""
    path = Path(path)
    moov_at = [(pos, size) for kind, pos, size in _top_level(path) if kind == b"moov"]
    if not moov_at:
        raise SphericalError(f"{path}: no moov box")
    with open(path, "rb") as f:
        f.seek(moov_at[0][0])
        raw = f.read(moov_at[0][1])
    size, _, length = _header(raw, 0, len(raw))
    moov = Box(b"moov", b"", _parse(raw, length, size))
    trak = _video_track(moov)
    entry = _sample_entry(trak)
    names = {v: k for k, v in STEREO_MODES.items()}
    st3d, sv3d = entry.find(b"st3d"), entry.find(b"sv3d")
    stereo = names.get(st3d.head[4], "custom") if st3d is not None else ""
    projection, source = "", ""
    bounds: tuple[int, int, int, int] = (0, 0, 0, 0)
    if sv3d is not None:
        svhd = sv3d.find(b"svhd")
        source = svhd.head[4:].split(b"\0")[0].decode() if svhd is not None else ""
        proj = sv3d.find(b"proj")
        equi = proj.find(b"equi") if proj is not None else None
        if equi is not None:
            top, bottom, left, right = struct.unpack_from(">IIII", equi.head, 4)
            projection, bounds = "equirectangular", (top, bottom, left, right)
        elif proj is not None and proj.find(b"cbmp") is not None:
            projection = "cubemap"
    uuid = next((c for c in trak.children or () if c.kind == b"uuid" and c.head[:16] == SPHERICAL_UUID), None)
    return SphericalInfo(projection, stereo, source, bounds, uuid.head[16:].decode() if uuid else "",
                         tuple(c.kind.decode() for c in entry.children or ()))
