"""Which torch device a config key asks for (``optimize.device``, ``layout.device``, …)."""

from __future__ import annotations

import torch


def choose_device(spec: str, key: str = "optimize.device") -> torch.device:
    """'auto' → CUDA when available, else CPU; 'cuda' without CUDA is an error naming ``key``."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"{key} = 'cuda' but torch sees no CUDA device (CPU build or no GPU)")
    return torch.device(spec)
