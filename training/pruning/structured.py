"""Structured pruning: which whole channels to remove, by first-order Taylor importance.

**Criterion** (Molchanov et al., "Importance Estimation for Neural Network Pruning", 2019):
every channel group gets a gate vector of ones, multiplied into the outputs of its gate
modules (:class:`afkd.training.pruning.dtfenet_channels.ChannelGroup`). Removing channel c
sets its gate to 0, which changes the loss by about ``-dL/dg_c`` (first order); the
importance of c is ``sum over batches (dL/dg_c)^2``, measured on training batches with the
model in eval mode (BatchNorm uses its running statistics, as after folding).

**Selection**: channels leave in *units* of ``multiple`` (4 by default: afkd's fast kernels
want channel counts that are multiples of 4) and no group falls below ``min_channels``. Units
are removed greedily, the least important per parameter saved first (a group's unit is its
``multiple`` least important channels; its cost is the parameters the smaller model saves),
until the model has at most the target number of parameters (or of MACs: the same greedy
search with a MAC count, ``afkd prune --budget macs``).
"""

from __future__ import annotations

from typing import Callable, Iterable, Protocol

import torch
from torch import nn


class Structure(Protocol):
    """What a model family provides for structured pruning (DT-FENet: dtfenet_channels)."""

    def channel_groups(self, model: nn.Module) -> list: ...
    def rebuild(self, model: nn.Module, keep: dict[str, list[int]]) -> nn.Module: ...
    def parameter_count(self, model: nn.Module, widths: dict[str, int]) -> int: ...


def taylor_importance(model: nn.Module, groups: list, losses: Iterable[Callable[[nn.Module], torch.Tensor]]
                      ) -> dict[str, torch.Tensor]:
    """``{group name: (size,) importance}`` from the gates' gradients over the loss closures."""
    gates = {g.name: torch.ones(g.size, requires_grad=True) for g in groups}
    handles = []
    for g in groups:
        gate = gates[g.name]
        for module in g.gates:
            handles.append(module.register_forward_hook(
                lambda _m, _inp, out, gate=gate: out * gate.view(1, -1, *([1] * (out.dim() - 2)))))
    importance = {name: torch.zeros(gate.shape) for name, gate in gates.items()}
    was_training = model.training
    model.eval()
    try:
        for loss_fn in losses:
            grads = torch.autograd.grad(loss_fn(model), list(gates.values()), allow_unused=True)
            for name, grad in zip(gates, grads):
                if grad is not None:
                    importance[name] += grad.detach() ** 2
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return importance


def select_channels(sizes: dict[str, int], importance: dict[str, torch.Tensor],
                    parameter_count: Callable[[dict[str, int]], int], target_params: int,
                    multiple: int = 4, min_channels: int = 4) -> dict[str, list[int]]:
    """Kept channel indices per group so that ``parameter_count(widths) <= target_params``.

    Stops early (keeping more than the target) when no group can shrink further.
    """
    order = {name: torch.argsort(importance[name], stable=True).tolist() for name in sizes}
    removed = {name: 0 for name in sizes}
    widths = dict(sizes)
    params = parameter_count(widths)
    while params > target_params:
        best = None
        for name, width in widths.items():
            unit = width % multiple or multiple
            if width - unit < min_channels:
                continue
            smaller = parameter_count({**widths, name: width - unit})
            saved = params - smaller
            if saved <= 0:
                continue
            drop = order[name][removed[name] : removed[name] + unit]
            score = float(importance[name][drop].sum()) / saved
            if best is None or score < best[0]:
                best = (score, name, unit, smaller)
        if best is None:
            break
        _, name, unit, params = best
        removed[name] += unit
        widths[name] -= unit
    return {name: sorted(order[name][removed[name]:]) for name in sizes}
