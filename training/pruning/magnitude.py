"""Unstructured magnitude pruning: zero the smallest weights, over the whole model or layer by layer.

``global`` ranks every prunable weight (:func:`afkd.training.pruning.masks.prunable_weights`)
together, so layers with many small weights lose more; ``layer`` prunes the same share of
each layer. Weights already zero count as the smallest, so a higher sparsity applied to a
pruned model keeps its earlier zeros (iterative pruning nests its masks).
"""

from __future__ import annotations

import torch
from torch import nn

from afkd.training.pruning.masks import prunable_weights

SCOPES = ("global", "layer")


def magnitude_masks(model: nn.Module, sparsity: float, scope: str = "global") -> dict[str, torch.Tensor]:
    """``{name: keep mask}`` that zeroes ``round(sparsity * count)`` weights (ties broken by position)."""
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    weights = {name: w.detach() for name, w in prunable_weights(model).items()}
    if scope == "layer":
        return {name: _keep_largest(w.abs().reshape(-1), round(sparsity * w.numel())).reshape(w.shape)
                for name, w in weights.items()}
    flat = torch.cat([w.abs().reshape(-1) for w in weights.values()])
    keep = _keep_largest(flat, round(sparsity * flat.numel()))
    masks, start = {}, 0
    for name, w in weights.items():
        masks[name] = keep[start : start + w.numel()].reshape(w.shape)
        start += w.numel()
    return masks


def _keep_largest(magnitudes: torch.Tensor, prune: int) -> torch.Tensor:
    """Bool mask keeping all but the ``prune`` smallest values (a stable sort: deterministic)."""
    keep = torch.ones_like(magnitudes, dtype=torch.bool)
    if prune > 0:
        order = torch.sort(magnitudes, stable=True).indices
        keep[order[:prune]] = False
    return keep


@torch.no_grad()
def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    weights = prunable_weights(model)
    for name, keep in masks.items():
        weights[name].mul_(keep.to(weights[name].dtype))
