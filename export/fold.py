"""Fold BatchNorm into the convolution before it: the deployable graph has no norm layers.

In every TCN block the BatchNorm sits directly after a convolution (the 1x1 ``in_conv`` and
the depthwise conv), so with ``s = gamma / sqrt(var + eps)`` per output channel::

    BN(conv(x)) = s * (W x + b - mean) + beta = (s W) x + (s (b - mean) + beta)

holds exactly for every input, zero padding included (the pad comes before the conv).
The result is a :class:`DTFENet` whose config says ``norm="none"``; its outputs equal the
unfolded model's in eval mode up to float rounding.

The classifiers fold the same way: the rhythm detector's TCN blocks are DT-FENet's, and every
convolution of the beat CNN is followed by its BatchNorm (before the ReLU and the pooling).
Their configs have no norm switch, so the folded copy keeps its class and has
``nn.Identity`` where the norms were (:func:`is_folded` tells).
"""

from __future__ import annotations

import copy
import dataclasses

import torch
from torch import nn

from afkd.errors import AfkdError
from afkd.training.model import DTFENet


def _fold_into(conv: nn.Conv1d, bn: nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of ``bn(conv(x))`` as one conv; weight (out, in/groups, k), bias (out,)."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # (out,)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    weight = conv.weight * scale[:, None, None]
    return weight, (bias - bn.running_mean) * scale + bn.bias


def fold_batchnorm(model: DTFENet) -> DTFENet:
    """A copy of ``model`` with every BatchNorm folded away (config ``norm="none"``), eval mode.

    A model with ``norm="none"`` comes back as an eval-mode copy; ``norm="gln"`` (the
    teacher's global layer norm looks at the whole signal) cannot fold and is an AfkdError.
    """
    cfg = model.cfg
    if cfg.norm == "none":
        return copy.deepcopy(model).eval()
    if cfg.norm != "batch":
        raise AfkdError(f"model norm {cfg.norm!r}: only BatchNorm folds into a deployable graph")
    folded = DTFENet(dataclasses.replace(cfg, norm="none")).eval()
    source = model.state_dict()
    target = {k: v for k, v in source.items() if k in folded.state_dict()}
    with torch.no_grad():
        for path in ("tcn_aa", "tcn_va"):
            for i, block in enumerate(getattr(model, path).blocks):
                prefix = f"{path}.blocks.{i}."
                for conv_name, bn_name in (("in_conv", "norm1"), ("depthwise", "norm2")):
                    w, b = _fold_into(getattr(block, conv_name), getattr(block, bn_name))
                    target[prefix + conv_name + ".weight"] = w.detach().clone()
                    target[prefix + conv_name + ".bias"] = b.detach().clone()
    folded.load_state_dict(target, strict=True)
    return folded


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
