"""Model folders: ``models/<name>/`` with ``model.safetensors`` (the CPC network's weights and
BatchNorm statistics, float32), ``config.json`` (architecture, CQT, data, steps, metrics) and,
while training, ``train_state.safetensors`` (weights + optimizer moments + step, what a
resumed run needs). Every file is written atomically (temp file + rename); nothing is ever
unpickled.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ear3d.atomic import atomic_write
from ear3d.config import Config
from ear3d.model_folder import CONFIG_FILE, MODEL_FILE, model_file

if TYPE_CHECKING:  # ear3d.ml.model imports this module when it builds an ear
    from ear3d.ml.model import CPCModel, Ear

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A model folder's files are missing, unreadable or do not fit the architecture."""


def _atomic(path: Path, write: Any) -> Path:
    """Call ``write(tmp_path)`` and rename the result onto ``path``."""
    return atomic_write(path, write)


def save_tensors(path: Path, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str] | None = None) -> Path:
    """Write ``tensors`` (moved to CPU, made contiguous) as safetensors, atomically."""
    from safetensors.torch import save_file

    cpu = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    return _atomic(Path(path), lambda tmp: save_file(cpu, tmp, metadata=dict(metadata or {})))


def load_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Read a safetensors file: (tensors on the CPU, metadata). Raises CheckpointError."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = dict(f.metadata() or {})
            return {k: f.get_tensor(k) for k in f.keys()}, meta
    except FileNotFoundError:
        raise CheckpointError(f"{path} does not exist") from None
    except Exception as e:  # safetensors raises its own SafetensorError, OSError, ValueError…
        raise CheckpointError(f"cannot read {path}: {e}") from None


def write_json(path: Path, data: Mapping[str, Any]) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
    return _atomic(Path(path), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path} does not exist") from None
    except (OSError, ValueError) as e:
        raise CheckpointError(f"cannot read {path}: {e}") from None


def describe_config(config: Config) -> dict[str, Any]:
    """The parts of ``config`` a model's weights depend on (for config.json)."""
    return {
        "audio": {"sample_rate": config.audio.sample_rate},
        "cqt": dataclasses.asdict(config.cqt),
        "model": {"preset": config.model.preset, "seed": config.model.seed, "pitch_bias": config.model.pitch_bias},
    }


def architecture_json(model: CPCModel) -> dict[str, Any]:
    """The architecture of a CPCModel as plain data."""
    return {**dataclasses.asdict(model.arch), "n_bins": model.n_bins, "in_channels": model.in_channels,
            "z_dim": model.z_dim, "c_dim": model.c_dim,
            "parameters": sum(p.numel() for p in model.parameters())}


def save_model(directory: Path, model: CPCModel, config: Config, extra: Mapping[str, Any]) -> None:
    """Write ``model.safetensors`` and ``config.json`` (with ``extra``: training, data, metrics)."""
    directory = Path(directory)
    state = model.state_dict()
    save_tensors(directory / MODEL_FILE, state, {"format": str(FORMAT_VERSION), "preset": config.model.preset})
    write_json(directory / CONFIG_FILE, {"format": FORMAT_VERSION, **describe_config(config),
                                         "architecture": architecture_json(model), **extra})


def check_state(model: torch.nn.Module, tensors: Mapping[str, torch.Tensor], source: Path) -> None:
    """Raise CheckpointError naming the first differences when ``tensors`` do not fit ``model``."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in tensors]
    unexpected = [k for k in tensors if k not in expected]
    wrong = [f"{k}: file {tuple(tensors[k].shape)}, model {tuple(v.shape)}"
             for k, v in expected.items() if k in tensors and tuple(tensors[k].shape) != tuple(v.shape)]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        if wrong:
            parts.append(f"{len(wrong)} of another shape (e.g. {wrong[0]})")
        raise CheckpointError(f"{source} does not fit this architecture: " + "; ".join(parts))


def load_model_state(model: torch.nn.Module, path: Path, *, fresh: Collection[str] = ()) -> dict[str, str]:
    """Load weights from ``path`` into ``model`` (strict); returns the file's metadata.

    Names in ``fresh`` may be missing from the file: those tensors keep the model's own
    (initial) values — for parameters added at an identity value, like zero pitch biases.
    """
    tensors, meta = load_tensors(path)
    own = model.state_dict()
    tensors = {**{k: own[k] for k in fresh if k in own and k not in tensors}, **tensors}
    check_state(model, tensors, path)
    model.load_state_dict(tensors, strict=True)
    return meta


def _trained_models_hint(directory: Path) -> str:
    """Which model folders next to ``directory`` hold weights (for a misspelled model.name)."""
    parent = directory.parent
    names = sorted(p.parent.name for p in parent.glob(f"*/{MODEL_FILE}")) if parent.is_dir() else []
    return f"trained models in {parent}: {', '.join(names)}" if names else f"no trained model in {parent}"


def load_into_ear(ear: Ear, config: Config) -> bool:
    """Load ``models/<name>/model.safetensors`` into ``ear.model`` as ``model.weights`` says.

    The user's copy wins over the shipped one (:func:`ear3d.model_folder.model_file`); ``config.json``
    is read from the same folder as the weights. Returns True when weights were loaded. See
    :func:`ear3d.ml.model.build_ear`.
    """
    path = model_file(config, MODEL_FILE)
    directory = path.parent
    must = config.model.weights == "load"
    if not path.is_file():
        if must:
            raise CheckpointError(f"model.weights = 'load' but {path} does not exist (train one with `ear3d train`)")
        log.warning("%s does not exist: a random, untrained ear is running (model.weights = 'auto', model.name = %r; "
                    "%s; set model.weights = 'random' to say you mean it)", path, config.model.name,
                    _trained_models_hint(directory))
        return False
    saved_preset = None
    if (directory / CONFIG_FILE).is_file():
        info = read_json(directory / CONFIG_FILE)
        saved_preset = info.get("model", {}).get("preset")
        saved_bias = bool(info.get("model", {}).get("pitch_bias", False))
        if saved_preset == config.model.preset and saved_bias != config.model.pitch_bias:
            raise CheckpointError(f"{path} was trained with model.pitch_bias = {saved_bias} (config: "
                                  f"{config.model.pitch_bias}); set model.pitch_bias = {saved_bias} to load it")
        saved_cqt = info.get("cqt", {})
        if saved_preset == config.model.preset:
            current = dataclasses.asdict(config.cqt)
            diff = [k for k in current if k in saved_cqt and saved_cqt[k] != current[k]]
            rate = info.get("audio", {}).get("sample_rate", config.audio.sample_rate)
            if diff or rate != config.audio.sample_rate:
                what = ", ".join(f"cqt.{k} = {saved_cqt[k]!r} (config: {current[k]!r})" for k in diff)
                if rate != config.audio.sample_rate:
                    rate_diff = f"audio.sample_rate = {rate} (config: {config.audio.sample_rate})"
                    what = ", ".join(filter(None, [what, rate_diff]))
                raise CheckpointError(f"{path} was trained with other front-end settings: {what}; "
                                      "use those settings, another model.name, or model.weights=random")
    if saved_preset is not None and saved_preset != config.model.preset:
        if must:
            raise CheckpointError(f"{path} holds a {saved_preset!r} model, the config asks for {config.model.preset!r}")
        log.warning("%s holds a %r model; using random %r weights (set model.preset=%s to load it)",
                    path, saved_preset, config.model.preset, saved_preset)
        return False
    load_model_state(ear.model, path)
    log.info("loaded %s", path)
    return True
