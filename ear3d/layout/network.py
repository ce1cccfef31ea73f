"""Read a torch network's weights into connections between its neuron layers.

Two walkers share the per-module converters:

- :func:`sequential_graph` takes any ``nn.Sequential`` CNN (Conv1d/Conv2d/Linear, max/avg
  pools, Flatten, elementwise layers and normalisation): every weight layer's output (after
  the pools that follow it) is a vertex layer, ``input`` is the first.
- :func:`cpc_graph` takes the CPC model: each encoder block becomes three maps (conv 3 × kt
  → [pool] into its hidden layer ``enc{i}.mid``, conv kp × 1 from there to its output, and
  the shortcut from its input: [pool] → centre crop → 1 × 1), each AR block (causal conv +
  shortcut) one map from its input layer to its output layer; the prediction heads connect
  c (the last AR layer) to z (the last encoder layer).

Conventions: tensors are (B, C, F, T) — pitch (height) F, time (width) T — or (B, C, T) or
(B, features). Time axes are summed out of kernels (a Conv1d runs over time, so it has one
pitch tap); nonlinearities, dropout and normalisation are the identity; a max-pool is the
mean over its window; a pool is folded into the map of the weight layer before it (see
``ear3d.graph.compose``), so every weight layer's output is a vertex layer. The edges (which
neuron reaches which) are exact; a weight is this linearisation's, so at a pitch edge where a
ceil-mode pool pools one real row with padding, that row's paths count half.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from ear3d.graph import (
    Connection,
    NetworkGraph,
    PitchOp,
    add,
    compose,
    conv_op,
    dense_op,
    identity_op,
    network_graph,
    neuron_table,
    pool_op,
)

if TYPE_CHECKING:
    from ear3d.ml.model import CPCModel, Ear

_ELEMENTWISE = (
    nn.ReLU, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.ELU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Identity,
    nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm,
)
_POOLS_2D = (nn.MaxPool2d, nn.AvgPool2d)
_POOLS_1D = (nn.MaxPool1d, nn.AvgPool1d)


def _first(v: int | tuple[int, ...]) -> int:
    return int(v[0]) if isinstance(v, tuple) else int(v)


def conv_from(module: nn.Conv1d | nn.Conv2d) -> PitchOp:
    """A Conv2d along pitch (its height axis), or a Conv1d over time (one pitch tap)."""
    if module.padding_mode != "zeros":
        raise ValueError(f"{module}: padding mode {module.padding_mode!r} wraps around; only 'zeros' is supported")
    w = module.weight.detach().cpu().double().numpy()
    if isinstance(module, nn.Conv1d):
        return conv_op(w.sum(axis=2), groups=module.groups)
    k, dil = w.shape[2], _first(module.dilation)
    pad = module.padding
    if isinstance(pad, str):  # "same" or "valid", the two torch accepts
        pad_h = dil * (k - 1) // 2 if pad == "same" else 0
    else:
        pad_h = _first(pad)
    return conv_op(w, stride=_first(module.stride), padding=pad_h, dilation=dil, groups=module.groups)


def shortcut_from(module: nn.Module, channels: int) -> PitchOp:
    """A residual path: a 1 × 1 conv or the identity."""
    if isinstance(module, nn.Identity):
        return identity_op(channels)
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        return conv_from(module)
    raise ValueError(f"unsupported shortcut module {type(module).__name__}")


def pool_from(module: nn.Module, channels: int) -> PitchOp | None:
    """A 2-D pool along pitch; None for a pool over time only (nothing to connect)."""
    if isinstance(module, _POOLS_1D) or isinstance(module, nn.Identity):
        return None
    if isinstance(module, _POOLS_2D):
        size = _first(module.kernel_size)
        if isinstance(module, nn.MaxPool2d) and _first(module.dilation) != 1:
            raise ValueError(f"{module}: dilated pools are not supported")
        return pool_op(channels, size, _first(module.stride or size), _first(module.padding))
    raise ValueError(f"unsupported pool module {type(module).__name__}")


def _cft(shape: torch.Size) -> tuple[int, int, int]:
    """A tensor's shape without batch as (channels, pitches, time)."""
    dims = tuple(int(d) for d in shape[1:])
    if len(dims) == 3:
        return dims
    if len(dims) == 2:
        return dims[0], 1, dims[1]
    if len(dims) == 1:
        return dims[0], 1, 1
    raise ValueError(f"cannot read a neuron grid from a tensor of shape {tuple(shape)}")


def _leaves(model: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    children = list(model.named_children())
    if not children:
        return [(prefix or type(model).__name__, model)]
    if not isinstance(model, nn.Sequential) and prefix:
        raise ValueError(f"{prefix} ({type(model).__name__}) is not sequential; write a walker like cpc_graph for it")
    out = []
    for name, child in children:
        out += _leaves(child, f"{prefix}.{name}" if prefix else name)
    return out


def sequential_graph(model: nn.Sequential, input_shape: tuple[int, ...]) -> NetworkGraph:
    """The neuron graph of a plain feed-forward CNN.

    input_shape: one item's shape without batch, e.g. (3, 32, 32) for (C, H, W) images.
    Vertex layers: ``input`` and each Conv/Linear module (by its qualified name), shaped by
    the tensor that leaves it after its pools.
    """
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"sequential_graph needs an nn.Sequential, got {type(model).__name__}")
    leaves = _leaves(model)
    shapes: dict[int, tuple[torch.Size, torch.Size]] = {}
    hooks = [
        m.register_forward_hook(lambda mod, inp, out, i=i: shapes.__setitem__(i, (inp[0].shape, out.shape)))
        for i, (_, m) in enumerate(leaves)
    ]
    was_training = model.training
    try:
        with torch.no_grad():
            p = next(model.parameters(), None)
            model.eval()(torch.zeros((1, *input_shape), dtype=p.dtype if p is not None else torch.float32,
                                     device=p.device if p is not None else "cpu"))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    c, f, _ = _cft(torch.Size((1, *input_shape)))
    layers: list[tuple[str, int, int]] = [("input", c, f)]
    grid = _cft(torch.Size((1, *input_shape)))  # (C, F, T) of the tensor flowing now, before any flatten
    conns: list[Connection] = []
    pending: PitchOp | None = None
    pending_name: str | None = None
    current = "input"

    def finish(grid_cft: tuple[int, int, int]) -> None:
        nonlocal pending, pending_name, current
        assert pending is not None and pending_name is not None  # called only with a layer pending
        layers.append((pending_name, grid_cft[0], grid_cft[1]))
        conns.append(Connection(current, pending_name, pending))
        current, pending, pending_name = pending_name, None, None

    for i, (name, m) in enumerate(leaves):
        _, out_shape = shapes[i]
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            if pending_name is not None:
                finish(grid)
            if isinstance(m, nn.Linear):
                w = m.weight.detach().cpu().double().numpy()
                if w.shape[1] != grid[0] * grid[1] * grid[2]:
                    raise ValueError(f"module {name}: Linear over a tensor's last axis only is not supported")
                op = dense_op(w.reshape(w.shape[0], *grid))
            else:
                op = conv_from(m)
            pending, pending_name = (op if pending is None else compose(pending, op)), name
        elif isinstance(m, (*_POOLS_1D, *_POOLS_2D)):
            pool = pool_from(m, grid[0])
            if pool is not None:
                pending = pool if pending is None else compose(pending, pool)
        elif isinstance(m, nn.Flatten):
            continue  # keep the grid of the tensor before flattening: a Linear reads it whole
        elif not isinstance(m, _ELEMENTWISE):
            raise ValueError(f"module {name} ({type(m).__name__}) is not supported by sequential_graph")
        grid = _cft(out_shape)
    if pending_name is None:
        raise ValueError("the model has no Conv1d/Conv2d/Linear layer: no connections to draw")
    finish(grid)
    return network_graph(neuron_table(layers), conns)


def cpc_connections(model: CPCModel) -> list[Connection]:
    """The CPC model's connections: three per encoder block (conv1 + pool into its hidden
    layer, conv2 out of it, the shortcut around it), one per AR block, the heads."""
    from ear3d.ml.model import ARBlock, EncoderBlock, encoder_hidden_name

    names = model.layer_names()
    conns, prev = [], names[0]
    for i, block in enumerate(model.encoder):
        assert isinstance(block, EncoderBlock)  # CPCModel's encoder holds nothing else
        c_in, c_out = block.conv1.in_channels, block.conv1.out_channels
        hidden, out = encoder_hidden_name(i), f"enc{i}"
        # main: conv1 (3 × kt) → [pool] → hidden → conv2 (kp × 1)
        first = conv_from(block.conv1)
        pool = pool_from(block.pool, c_out)
        conns.append(Connection(prev, hidden, first if pool is None else compose(first, pool)))
        conns.append(Connection(hidden, out, conv_from(block.conv2)))
        # shortcut: [pool] → the centre rows from skip_offset → 1 × 1 conv or identity
        skip = identity_op(c_in, block.skip_offset)
        pool_in = pool_from(block.pool, c_in)  # the same pool, over the block's input channels
        if pool_in is not None:
            skip = compose(pool_in, skip)
        conns.append(Connection(prev, out, compose(skip, shortcut_from(block.shortcut, c_in))))
        prev = out
    z = prev
    for i, block in enumerate(model.autoregressive):
        assert isinstance(block, ARBlock)  # CPCModel's autoregressive part holds nothing else
        op = add(conv_from(block.conv), shortcut_from(block.shortcut, block.conv.in_channels))
        conns.append(Connection(prev, f"ar{i}", op))  # its time pool joins nothing along pitch
        prev = f"ar{i}"
    # Heads: W (K·z_dim, c_dim) predicts z at K future steps; the K steps are time taps, summed.
    w = model.predictors.weight.detach().cpu().double().numpy()
    k = model.arch.prediction_steps
    heads = w.reshape(k, model.z_dim, model.c_dim).sum(axis=0)
    conns.append(Connection(prev, z, dense_op(heads[:, :, None])))
    return conns


def cpc_shapes(model: CPCModel, n_bins: int) -> list[tuple[str, int, int]]:
    """(name, channels, pitches) of every named layer, from one forward pass on zeros."""
    p = next(model.parameters())
    c_in = model.in_channels  # 1, or 2 with the phase channel
    was_training = model.training
    try:
        with torch.no_grad():
            acts = model.eval()(torch.zeros(1, c_in, n_bins, 16, dtype=p.dtype, device=p.device))
    finally:
        model.train(was_training)
    return [(name, int(a.shape[1]), int(a.shape[2])) for name, a in acts.items()]


def cpc_graph(model: CPCModel, n_bins: int) -> NetworkGraph:
    """The CPC model's neuron graph (``model``: an ``ear3d.ml.model.CPCModel``)."""
    return network_graph(neuron_table(cpc_shapes(model, n_bins)), cpc_connections(model))


def ear_graph(ear: Ear, n_bins: int) -> NetworkGraph:
    """The graph of an ``ear3d.ml.model.Ear`` (its CQT front end has no learned neurons)."""
    return cpc_graph(ear.model, n_bins)
