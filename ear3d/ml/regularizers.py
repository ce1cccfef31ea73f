"""Regularisers of the sonification as penalty objectives: what keeps gradient ascent on
audio from producing adversarial hiss. A step maximises

    objective − Σ factor · penalty

composed with the arithmetic of :class:`~ear3d.ml.objectives.Objective` (:func:`regularized`),
each penalty with its own factor from the ``[optimize]`` settings (:func:`penalties`; a
factor of 0 leaves the penalty out).

Objectives read normalised activations ``name → (B, C, F, T)``; a step also gives them the
sound itself under :data:`SOUND`: the (B, C, F, T) scalogram window of each item, before
masks and normalisation, aligned to the loop. The penalties, each (B,) per item:

* :func:`total_activity` (``activity_penalty``): mean |normalised activation| over all
  neurons, layers weighted equally — less activity elsewhere, a cleaner answer to the target;
* :func:`noise_level` (``noise_penalty``): mean scalogram level (the reference's "noise"
  term): energy that the objective does not need decays back to silence;
* :func:`brightness` (``hf_penalty``): the power-weighted mean pitch of each frame (0 =
  lowest bin, 1 = highest), averaged over frames: the brighter, the higher.

The batch augmentations are in :mod:`ear3d.ml.transforms`, the update rule (gradient
normalisation, mixing back to the origin, the amplitude bound) in :mod:`ear3d.ml.update`.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from ear3d.config import OptimizeConfig
from ear3d.ml.cqt import LOG_RANGE
from ear3d.ml.objectives import Objective

#: Key of the sound itself (the unmasked scalogram window, (B, C, F, T)) among what a step's
#: objectives read; the model's own input layer is ``"scalogram"`` (normalised, masked).
SOUND = "sound"


def normalize(acts: Mapping[str, torch.Tensor], stats: Mapping[str, tuple[torch.Tensor, torch.Tensor]]
              ) -> dict[str, torch.Tensor]:
    """name → (a − silence) / scale for every layer (B, C, F, T); see ear3d.ml.stats."""
    out = {}
    for name, a in acts.items():
        silence, inv_scale = stats[name]
        out[name] = (a.float() - silence) * inv_scale
    return out


def activity_penalty(normed: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """(B,) mean over layers of the mean |normalised activation| (the scalogram input and SOUND excluded)."""
    terms = [a.abs().mean(dim=(1, 2, 3)) for name, a in normed.items() if name not in ("scalogram", SOUND)]
    return torch.stack(terms).mean(0)


def noise_penalty(scalogram: torch.Tensor) -> torch.Tensor:
    """(B, C, F, T) scalogram → (B,) mean level of its log-power channel (≥ 0)."""
    return scalogram[:, 0].mean(dim=(1, 2))


def frequency_ramp(n_pitch: int, device: torch.device) -> torch.Tensor:
    """(F, 1) weights rising linearly from 0 (lowest bin) to 1 (highest bin)."""
    return torch.linspace(0.0, 1.0, n_pitch, device=device)[:, None]


def high_frequency_penalty(scalogram: torch.Tensor) -> torch.Tensor:
    """(B, C, F, T) scalogram → (B,) power-weighted mean pitch per frame, averaged over frames.

    Each frame's power distribution over the bins (recovered from the log-power channel by
    a softmax, exact up to the floor) weights a ramp from 0 (lowest bin) to 1 (highest): a
    spectral centroid on the CQT axis. It grows with the share of high-frequency energy,
    whatever the loudness. (The reference's mean of log power · ramp does not: spectral
    leakage of a low tone fills the log floor of the high bins, so a 110 Hz tone scored
    higher than an 880 Hz one.)
    """
    ramp = frequency_ramp(scalogram.shape[2], scalogram.device)  # (F, 1)
    share = torch.softmax(scalogram[:, 0].float() * LOG_RANGE, dim=1)  # (B, F, T): power share per bin
    return (share * ramp).sum(dim=1).mean(dim=1)


# -- the penalties as objectives ------------------------------------------------------------


def total_activity() -> Objective:
    """Mean |normalised activation| over every layer but the input (see :func:`activity_penalty`)."""
    return Objective(activity_penalty, "total activity")


def noise_level() -> Objective:
    """Mean log-power level of the sound (see :func:`noise_penalty`); reads :data:`SOUND`."""
    return Objective(lambda acts: noise_penalty(acts[SOUND]), "noise level", uses=(SOUND,))


def brightness() -> Objective:
    """Spectral centroid of the sound on the CQT axis, 0–1 (see :func:`high_frequency_penalty`);
    reads :data:`SOUND`."""
    return Objective(lambda acts: high_frequency_penalty(acts[SOUND]), "brightness", uses=(SOUND,))


#: term name (as in StepResult.terms) → (its factor's [optimize] key, the penalty), in the order applied.
PENALTIES = {
    "activity": ("activity_penalty", total_activity),
    "noise": ("noise_penalty", noise_level),
    "high_frequency": ("hf_penalty", brightness),
}


def penalties(settings: OptimizeConfig) -> dict[str, tuple[float, Objective]]:
    """term name → (factor, penalty) for every penalty whose factor in ``settings`` is positive."""
    out = {}
    for name, (key, make) in PENALTIES.items():
        factor = float(getattr(settings, key))
        if factor > 0:
            out[name] = (factor, make())
    return out


def regularized(objective: Objective, terms: Mapping[str, tuple[float, Objective]]) -> Objective:
    """``objective − Σ factor · penalty`` over ``terms`` (name → (factor, penalty)), in order."""
    for factor, penalty in terms.values():
        objective = objective - factor * penalty
    return objective
