"""Unstructured sparsity on any nn.Module: which weights prune, and masks that keep them pruned.

A pruned weight is a weight that is exactly zero; a sparse checkpoint is an ordinary afkd
checkpoint. Training with ``keep_sparsity`` (:class:`SparsityMasks`) keeps every zero a zero.
The prunable weights are the weight tensors of convolutions and linear layers (biases, norms
and activation slopes are too few to matter and would change the function's offsets).
"""

from __future__ import annotations

import torch
from torch import nn

PRUNABLE = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.Linear)


def prunable_weights(model: nn.Module) -> dict[str, nn.Parameter]:
    """``{state-dict name: weight}`` of every convolution and linear layer, in module order."""
    return {f"{name}.weight": module.weight for name, module in model.named_modules()
            if isinstance(module, PRUNABLE)}


def sparsity(model: nn.Module) -> dict:
    """Zeros among the prunable weights: ``{"zeros", "total", "sparsity", "nonzero_params"}``.

    ``nonzero_params`` counts every parameter of the model that is not zero (what a sparse
    format stores), ``total`` only the prunable weights.
    """
    weights = prunable_weights(model).values()
    total = sum(w.numel() for w in weights)
    zeros = sum(int((w == 0).sum()) for w in weights)
    nonzero = sum(int((p != 0).sum()) for p in model.parameters())
    return {"zeros": zeros, "total": total, "sparsity": zeros / total if total else 0.0,
            "nonzero_params": nonzero}


class SparsityMasks:
    """The zero pattern of a model's prunable weights, re-applied after every optimizer step."""

    def __init__(self, masks: dict[str, torch.Tensor]):
        self.masks = masks  # name -> bool tensor, True where the weight is kept

    @classmethod
    def of(cls, model: nn.Module) -> "SparsityMasks":
        return cls({name: (w.detach() != 0) for name, w in prunable_weights(model).items()})

    @torch.no_grad()
    def apply(self, model: nn.Module) -> None:
        weights = prunable_weights(model)
        for name, keep in self.masks.items():
            weights[name].mul_(keep.to(weights[name].dtype))
