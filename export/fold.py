"""Fold BatchNorm into the convolution before it: the deployable graph has no norm layers.

In every TCN block the BatchNorm sits directly after a convolution (the 1x1 ``in_conv`` and
the depthwise conv), so with ``s = gamma / sqrt(var + eps)`` per output channel::

    BN(conv(x)) = s * (W x + b - mean) + beta = (s W) x + (s (b - mean) + beta)

holds exactly for every input, zero padding included (the pad comes before the conv).
Quantization-aware training folds DT-FENet the same way before it trains, so that function
(:func:`fold_batchnorm`) lives in :mod:`afkd.training.folding` and is used from there.
The result is a :class:`DTFENet` whose config says ``norm="none"``; its outputs equal the
unfolded model's in eval mode up to float rounding.

The classifiers fold the same way: the rhythm detector's TCN blocks are DT-FENet's, and every
convolution of the beat CNN is followed by its BatchNorm (before the ReLU and the pooling).
Their configs have no norm switch, so the folded copy keeps its class and has
``nn.Identity`` where the norms were (:func:`is_folded` tells).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from afkd.errors import AfkdError
from afkd.training.folding import _fold_into, fold_batchnorm
from afkd.training.model import DTFENet

__all__ = ["fold_any", "fold_batchnorm", "fold_classifier", "is_folded", "load_folded"]


def _fold_pairs(model: nn.Module) -> list[tuple[str, str]]:
    """(conv, norm) module paths of a classifier whose norm follows its conv directly."""
    from afkd.training.model_beat import BeatCNN
    from afkd.training.model_detector import RhythmTCN

    if isinstance(model, RhythmTCN):
        return [(f"tcn.blocks.{i}.{conv}", f"tcn.blocks.{i}.{norm}") for i in range(len(model.tcn.blocks))
                for conv, norm in (("in_conv", "norm1"), ("depthwise", "norm2"))]
    if isinstance(model, BeatCNN):
        return [(f"convs.{i}", f"norms.{i}") for i in range(len(model.convs))]
    raise AfkdError(f"{type(model).__name__}: no BatchNorm folding for this model family (no deployable graph)")


def is_folded(model: nn.Module) -> bool:
    """No BatchNorm left: a DT-FENet with ``norm="none"`` or a classifier folded here."""
    return not any(isinstance(m, nn.BatchNorm1d) for m in model.modules())


def fold_classifier(model: nn.Module) -> nn.Module:
    """An eval-mode copy of a rhythm detector or beat CNN with every BatchNorm folded into the
    convolution before it and replaced by ``nn.Identity`` (outputs equal up to float rounding)."""
    folded = copy.deepcopy(model).eval()
    with torch.no_grad():
        for conv_path, norm_path in _fold_pairs(model):
            conv, norm = folded.get_submodule(conv_path), folded.get_submodule(norm_path)
            if not isinstance(norm, nn.BatchNorm1d):
                continue  # folded already
            weight, bias = _fold_into(conv, norm)
            conv.weight.copy_(weight)
            if conv.bias is None:
                conv.bias = nn.Parameter(bias.detach().clone())
            else:
                conv.bias.copy_(bias)
            parent_path, _, name = norm_path.rpartition(".")
            parent = folded.get_submodule(parent_path)
            if isinstance(parent, nn.ModuleList):
                parent[int(name)] = nn.Identity()
            else:
                setattr(parent, name, nn.Identity())
    return folded


def fold_any(model: nn.Module) -> nn.Module:
    """:func:`fold_batchnorm` for a DT-FENet, :func:`fold_classifier` for the others."""
    return fold_batchnorm(model) if isinstance(model, DTFENet) else fold_classifier(model)


def load_folded(checkpoint) -> tuple[nn.Module, nn.Module]:
    """Load a checkpoint (AfkdError on any problem) -> (model, folded model), both eval mode.

    Families without a deployable graph (the dense ResNet reference) are an AfkdError.
    """
    from afkd.training.checkpoint import load_checkpoint

    model, _meta = load_checkpoint(checkpoint)
    return model, fold_any(model)
