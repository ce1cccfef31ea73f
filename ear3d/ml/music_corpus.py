"""The real-music corpus: music21's bundled scores performed through General MIDI SoundFonts.

``build_corpus`` renders ``pieces`` works, drawn round-robin from the collections of
:data:`ear3d.ml.scores.COLLECTIONS` (so a small corpus still has every collection), each
played once (:mod:`ear3d.ml.perform`) for at most ``seconds``. Everything about a piece's
rendering is drawn from a generator seeded by (seed, the piece's name): the same command gives
the same corpus, and a piece's audio does not depend on which other pieces are built.

Split: a piece is held out for evaluation when a hash of its name says so (``eval_percent``
of the pieces), and held-out pieces are rendered only through the held-out SoundFont(s), which
no training piece uses. Training therefore never hears an evaluation piece nor the timbres of
the evaluation font.

On disk (``folder``)::

    manifest.json                       labels of every rendered piece (rewritten atomically after each)
    train/<collection>/<piece>.flac     mono 16-bit FLAC at the model's rate
    eval/<collection>/<piece>.flac

A build is resumable: pieces already in the manifest with their audio on disk are skipped, as
are pieces that failed before (recorded under ``failed``). With ``jobs`` > 1 pieces render in
worker processes (FluidSynth and music21 are single-threaded) but enter the manifest in plan
order, so the corpus is the same for any number of jobs.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ear3d.atomic import atomic_write

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT = 1
#: Where Debian's General MIDI SoundFont packages put their fonts (fluid-soundfont-gm,
#: timgm6mb-soundfont, musescore-general-soundfont-small), in order of preference.
SOUNDFONT_CANDIDATES: tuple[str, ...] = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3",
)
#: The font held out for evaluation when it is installed (else the last one found).
DEFAULT_EVAL_FONT = "MuseScore_General_Lite"


def find_soundfonts() -> list[Path]:
    """The installed General MIDI SoundFonts among SOUNDFONT_CANDIDATES."""
    return [Path(p) for p in SOUNDFONT_CANDIDATES if Path(p).is_file()]


def split_fonts(fonts: list[Path], eval_font: str = DEFAULT_EVAL_FONT) -> tuple[list[Path], list[Path]]:
    """(training fonts, held-out fonts): the font whose name contains ``eval_font`` is held out.

    Raises ValueError with fewer than two fonts (one must stay unheard by training)."""
    if len(fonts) < 2:
        raise ValueError(f"the corpus needs at least two SoundFonts (found {len(fonts)}); `make corpus` installs "
                         "fluid-soundfont-gm, timgm6mb-soundfont and musescore-general-soundfont-small")
    held = [f for f in fonts if eval_font.lower() in f.name.lower()] or [fonts[-1]]
    return [f for f in fonts if f not in held], held


def stable_hash(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def is_eval_piece(piece: str, eval_percent: float) -> bool:
    """Whether ``piece`` is held out for evaluation (a fixed hash of its name, not the seed)."""
    return (stable_hash(piece) % 1000) < eval_percent * 10


def plan_order(by_collection: dict[str, list[str]], seed: int) -> list[str]:
    """Every piece once, collections interleaved round-robin, each collection in a seeded order.

    The first n of the list are the same for any n, so a bigger build extends a smaller one."""
    queues = []
    for name in sorted(by_collection):
        rng = np.random.default_rng([seed, stable_hash(name)])
        items = list(by_collection[name])
        queues.append([items[i] for i in rng.permutation(len(items))])
    order: list[str] = []
    for i in range(max((len(q) for q in queues), default=0)):
        order += [q[i] for q in queues if i < len(q)]
    return order


def audio_name(piece: str, split: str) -> str:
    """The audio file of ``piece`` relative to the corpus folder: ``<split>/<collection>/<stem>[_<tune>].flac``."""
    rel, _, tune = piece.partition("#")
    collection, _, rest = rel.partition("/")
    stem = Path(rest).with_suffix("").as_posix().replace("/", "_")
    return f"{split}/{collection}/{stem}{'_' + tune if tune else ''}.flac"


@dataclass(frozen=True)
class BuildSettings:
    """What makes a corpus: the same settings give the same corpus."""

    seed: int = 0
    sample_rate: int = 44100
    seconds: float = 20.0
    eval_percent: float = 20.0
    eval_font: str = DEFAULT_EVAL_FONT
    #: SoundFont files to play through (the one named by ``eval_font`` held out); empty: the
    #: installed ones among SOUNDFONT_CANDIDATES
    fonts: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        d = {"seed": self.seed, "sample_rate": self.sample_rate, "seconds": self.seconds,
             "eval_percent": self.eval_percent, "eval_font": self.eval_font}
        # only when chosen, so a corpus built with the default fonts keeps its settings
        return d | {"fonts": [Path(f).name for f in self.fonts]} if self.fonts else d

    def soundfonts(self) -> list[Path]:
        """The fonts this build plays through. Raises FileNotFoundError naming a chosen font that is missing."""
        if not self.fonts:
            return find_soundfonts()
        missing = [f for f in self.fonts if not Path(f).is_file()]
        if missing:
            raise FileNotFoundError(f"SoundFont not found: {missing[0]}")
        return [Path(f) for f in self.fonts]


def read_manifest(folder: Path) -> dict:
    """The manifest of the corpus in ``folder``. Raises FileNotFoundError when there is none."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{folder} holds no corpus ({MANIFEST} is missing): run `ear3d corpus build`")
    return json.loads(path.read_text())


def write_manifest(folder: Path, manifest: dict) -> None:
    atomic_write(Path(folder) / MANIFEST, lambda tmp: Path(tmp).write_text(json.dumps(manifest, indent=1)),
                 suffix=".json")


def write_flac(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    """Write ``audio`` (S,) float32 to ``path`` as 16-bit FLAC, atomically."""
    import soundfile as sf

    atomic_write(path, lambda tmp: sf.write(tmp, audio, sample_rate, format="FLAC", subtype="PCM_16"), suffix=".flac")


def render_entry(piece: str, split: str, fonts: list[Path], settings: BuildSettings) -> tuple[np.ndarray, dict]:
    """Render one piece: its audio (S,) float32 and its manifest entry (labels and how it was played)."""
    from ear3d.ml.perform import perform, plan_performance
    from ear3d.ml.scores import PITCH_CLASSES, read_score

    rng = np.random.default_rng([settings.seed, stable_hash(piece)])
    font = fonts[int(rng.integers(len(fonts)))]
    # a generous excerpt of the score: enough quarters for the slowest tempo and a late start
    score = read_score(piece, max_quarters=settings.seconds * 240 / 60 * 2 + 64)
    perf = plan_performance(score, rng, settings.seconds)
    audio = perform(score, perf, font, settings.sample_rate, settings.seconds, rng)
    tonic = (score.tonic + perf.transpose) % 12
    entry = {
        "file": audio_name(piece, split), "piece": piece, "collection": score.collection, "split": split,
        "soundfont": font.name, "key": f"{PITCH_CLASSES[tonic]} {score.mode}", "tonic": tonic, "mode": score.mode,
        "metre": score.metre, "bpm": round(perf.bpm, 2), "seconds": round(len(audio) / settings.sample_rate, 3),
        "voices": len(score.parts), **{k: v for k, v in perf.as_dict().items() if k in ("instruments", "families")},
        "performance": {k: v for k, v in perf.as_dict().items() if k not in ("instruments", "families")},
    }
    return audio, json.loads(json.dumps(entry))  # plain JSON types (tuples become lists), as read back


def render_or_why(piece: str, split: str, fonts: list[Path], settings: BuildSettings
                  ) -> tuple[np.ndarray, dict] | str:
    """:func:`render_entry`, or the first line of why it failed (a worker process returns it:
    music21's and FluidSynth's exceptions do not all survive pickling)."""
    try:
        return render_entry(piece, split, fonts, settings)
    except Exception as e:  # music21 and fluidsynth raise many kinds; one bad score never stops a build
        return (str(e).splitlines()[0] if str(e) else type(e).__name__)[:300]


def _start_worker() -> None:
    """In each rendering process: Ctrl-C is the parent's to handle (it stops the pool), and the
    process ends with its parent (a pool's idle workers otherwise outlive a killed build)."""
    import signal

    from ear3d.child_process import die_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()


def rendered_in_order(plan: list[tuple[str, str, list[Path]]], settings: BuildSettings, workers: int
                      ) -> Generator[tuple[str, tuple[np.ndarray, dict] | str], None, None]:
    """(piece, :func:`render_or_why`) for each (piece, split, fonts) of ``plan``, in its order, rendered
    by ``workers`` processes (in this process when 1) with at most two pieces per worker in flight.
    Stopping the iteration cancels what has not started."""
    if workers <= 1:
        for piece, split, fonts in plan:
            yield piece, render_or_why(piece, split, fonts, settings)
        return
    import multiprocessing
    from collections import deque
    from concurrent.futures import Future, ProcessPoolExecutor

    # spawn: the parent may hold torch's threads, which a forked child must not inherit
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker)
    flight: deque[tuple[str, Future]] = deque()
    todo = iter(plan)
    try:
        while True:
            while len(flight) < 2 * workers and (job := next(todo, None)) is not None:
                flight.append((job[0], pool.submit(render_or_why, job[0], job[1], job[2], settings)))
            if not flight:
                return
            piece, future = flight.popleft()
            yield piece, future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def build_corpus(folder: Path, pieces: int, settings: BuildSettings = BuildSettings(), progress: bool = True,
                 collections: tuple[str, ...] | None = None, jobs: int = 1) -> dict:
    """Render (or finish rendering) a corpus of ``pieces`` works into ``folder`` with ``jobs``
    processes; returns the manifest (the same for any ``jobs``).

    A piece that cannot be read or rendered is skipped with a warning and recorded under
    ``failed``; the build goes on to the next piece of the plan until ``pieces`` are rendered or
    the corpus runs out. Raises ValueError when ``folder`` holds a corpus built with other
    settings or other SoundFonts."""
    from tqdm import tqdm

    from ear3d.ml.scores import COLLECTIONS, list_pieces

    folder = Path(folder)
    train_fonts, eval_fonts = split_fonts(settings.soundfonts(), settings.eval_font)
    fonts = {"train": [f.name for f in train_fonts], "eval": [f.name for f in eval_fonts]}
    manifest: dict[str, Any] = {"format": FORMAT, "settings": settings.as_dict(), "soundfonts": fonts,
                                "pieces": [], "failed": []}
    if (folder / MANIFEST).is_file():
        old = read_manifest(folder)
        if old.get("settings") != settings.as_dict():
            raise ValueError(f"{folder} holds a corpus built with other settings ({old.get('settings')}); "
                             "choose another --out or the same settings")
        if old.get("soundfonts", fonts) != fonts:
            # a font installed or removed since: resuming would mix two corpora under one name
            raise ValueError(f"{folder} was built with the SoundFonts {old['soundfonts']}, this build would use "
                             f"{fonts}; choose another --out or the same fonts (--fonts)")
        manifest["pieces"] = [e for e in old.get("pieces", []) if (folder / e["file"]).is_file()]
        manifest["failed"] = list(old.get("failed", []))
    done = {e["piece"] for e in manifest["pieces"]} | {e["piece"] for e in manifest["failed"]}
    plan = []  # (piece, split, the fonts it may be played through), in plan order
    for piece in plan_order(list_pieces(collections or COLLECTIONS), settings.seed):
        if piece not in done:
            held = is_eval_piece(piece, settings.eval_percent)
            plan.append((piece, "eval" if held else "train", eval_fonts if held else train_fonts))
    bar = tqdm(total=pieces, initial=min(pieces, len(manifest["pieces"])), desc="corpus", unit="piece",
               disable=not progress, dynamic_ncols=True)
    results = rendered_in_order(plan if len(manifest["pieces"]) < pieces else [], settings, jobs)
    try:
        for piece, result in results:
            if isinstance(result, str):
                log.warning("skipping %s: %s", piece, result)
                manifest["failed"].append({"piece": piece, "error": result})
                write_manifest(folder, manifest)
                continue
            audio, entry = result
            path = folder / entry["file"]
            path.parent.mkdir(parents=True, exist_ok=True)
            write_flac(path, audio, settings.sample_rate)
            manifest["pieces"].append(entry)
            write_manifest(folder, manifest)
            bar.update(1)
            bar.set_postfix_str(piece[:40])
            if len(manifest["pieces"]) >= pieces:
                break
    finally:
        results.close()  # stops the workers
        bar.close()
    if len(manifest["pieces"]) < pieces:
        log.warning("the corpus ran out of usable pieces: %d of %d rendered", len(manifest["pieces"]), pieces)
    write_manifest(folder, manifest)
    return manifest


def corpus_files(folder: Path, split: str) -> list[Path]:
    """The audio files of one split ("train" or "eval") of the corpus in ``folder``, sorted."""
    manifest = read_manifest(folder)
    return sorted(Path(folder) / e["file"] for e in manifest["pieces"] if e["split"] == split)


def default_folder() -> Path:
    """Where `ear3d corpus build` puts the corpus by default: the user's cache folder."""
    from ear3d.paths import user_cache

    return user_cache() / "corpus"
