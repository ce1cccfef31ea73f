"""Scores from music21's bundled corpus, read as plain notes with their labels.

A *piece* is one work of the corpus: a file, or one tune (``#<X number>``) of an ABC file that
holds many (the Essen and O'Neill collections). :func:`list_pieces` names them without parsing
(cheap); :func:`read_score` parses one and returns its parts as note lists plus the labels the
score gives: collection (the corpus folder: composer or folk collection), key (music21's
Krumhansl–Schmuckler estimate), metre (the first time signature), the marked tempo if any.

music21 is imported inside the functions (it takes a second or two to import).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: Corpus folders used, each with enough works to be a class of the collection probe.
COLLECTIONS: tuple[str, ...] = ("bach", "palestrina", "monteverdi", "trecento", "beethoven", "mozart", "haydn",
                                "essenFolksong", "oneills1850", "ryansMammoth")
PITCH_CLASSES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_ABC_TUNE = re.compile(r"^X:\s*(\d+)", re.MULTILINE)
#: Score files larger than this are left out: music21 takes minutes to parse the biggest quartets.
MAX_FILE_BYTES = 100_000
SCORE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn", ".abc")


@dataclass(frozen=True)
class Note:
    """One sounding note: onset and duration in quarter notes from the start, MIDI pitch, and
    the score's relative loudness 0–1 (1 where the score marks nothing)."""

    onset: float
    duration: float
    pitch: int
    loudness: float = 1.0


@dataclass(frozen=True)
class Score:
    """A parsed piece: its parts (each a list of :class:`Note`, time-ordered) and labels."""

    piece: str                  #: "<collection>/<file>[#<tune>]"
    collection: str
    parts: tuple[tuple[Note, ...], ...]
    tonic: int                  #: pitch class 0–11 of the estimated key (C = 0)
    mode: str                   #: "major" or "minor"
    metre: str                  #: e.g. "4/4"; "" when the score has no time signature
    marked_bpm: float | None    #: the first metronome mark in quarter notes per minute

    @property
    def quarters(self) -> float:
        """Length in quarter notes (the last note's end)."""
        return max((n.onset + n.duration for part in self.parts for n in part), default=0.0)


def corpus_root() -> Path:
    """The folder of music21's bundled corpus."""
    from music21 import common

    return Path(common.getCorpusFilePath())


def list_pieces(collections: tuple[str, ...] = COLLECTIONS) -> dict[str, list[str]]:
    """collection → sorted piece names ("bach/bwv66.6.mxl", "essenFolksong/altdeu10.abc#3", …).

    ABC files holding several tunes give one piece per tune (found by their ``X:`` numbers). Score
    files (not ABC collections) over MAX_FILE_BYTES are left out, and a Humdrum (.krn) file when a
    MusicXML copy sits beside it."""
    root = corpus_root()
    out: dict[str, list[str]] = {}
    for name in collections:
        folder = root / name
        pieces: list[str] = []
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.suffix.lower() not in SCORE_SUFFIXES:
                continue
            too_big = path.suffix != ".abc" and path.stat().st_size > MAX_FILE_BYTES  # ABC: many small tunes
            if too_big or (path.suffix == ".krn" and path.with_suffix(".mxl").exists()):
                continue
            rel = path.relative_to(root).as_posix()
            if path.suffix.lower() == ".abc":
                tunes = _ABC_TUNE.findall(path.read_text(encoding="utf-8", errors="replace"))
                if len(tunes) > 1:
                    pieces += [f"{rel}#{t}" for t in dict.fromkeys(tunes)]
                    continue
            pieces.append(rel)
        if pieces:
            out[name] = pieces
    return out


def abc_tune(text: str, number: str) -> str:
    """The text of tune ``X:number`` of an ABC file holding many (up to the next ``X:`` line).

    Parsing one tune's text is much faster than letting music21 scan a file of a thousand.
    Raises ValueError when the file has no such tune."""
    starts = [(m.group(1), m.start()) for m in _ABC_TUNE.finditer(text)]
    for i, (x, start) in enumerate(starts):
        if x == number:
            end = starts[i + 1][1] if i + 1 < len(starts) else len(text)
            return text[start:end]
    raise ValueError(f"no tune X:{number} in the ABC file")


def _parse(piece: str):
    from music21 import converter

    rel, _, tune = piece.partition("#")
    path = corpus_root() / rel
    if tune:
        return converter.parse(abc_tune(path.read_text(encoding="utf-8", errors="replace"), tune), format="abc")
    return converter.parse(path)


def read_score(piece: str, max_quarters: float | None = None) -> Score:
    """Parse ``piece`` (a name from :func:`list_pieces`) into parts of notes (ties merged,
    chords split into notes, unpitched and grace notes dropped) and labels.

    ``max_quarters`` keeps only notes starting before it (long works need not be read whole).
    Raises ValueError when the score has no notes."""
    from music21 import dynamics, stream, tempo

    score = _parse(piece)
    if isinstance(score, stream.Opus):
        score = score.scores[0]
    parts_in = list(score.parts) if score.hasPartLikeStreams() else [score]
    parts: list[tuple[Note, ...]] = []
    for part in parts_in:
        flat = part.stripTies().flatten()
        # the latest dynamic marking before each note sets its loudness (pp 0.35 … ff 1.0)
        marks = [(float(d.offset), float(d.volumeScalar or 0.7)) for d in flat.getElementsByClass(dynamics.Dynamic)]
        notes: list[Note] = []
        for element in flat.notes:
            onset = float(element.offset)
            if max_quarters is not None and onset >= max_quarters:
                break
            duration = float(element.quarterLength)
            if duration <= 0:  # grace notes
                continue
            loud = next((v for o, v in reversed(marks) if o <= onset), 1.0)
            for p in getattr(element, "pitches", ()):
                notes.append(Note(onset, duration, int(p.midi), loud))
        if notes:
            parts.append(tuple(sorted(notes, key=lambda n: (n.onset, n.pitch))))
    if not parts:
        raise ValueError(f"{piece}: the score has no notes")
    key = score.analyze("key")
    signatures = list(score.recurse().getElementsByClass("TimeSignature"))
    metronome = [m for m in score.recurse().getElementsByClass(tempo.MetronomeMark) if m.number]
    bpm = float(metronome[0].getQuarterBPM()) if metronome else None
    return Score(piece=piece, collection=piece.split("/", 1)[0], parts=tuple(parts),
                 tonic=int(key.tonic.pitchClass), mode=str(key.mode) if key.mode in ("major", "minor") else "major",
                 metre=signatures[0].ratioString if signatures else "", marked_bpm=bpm)
