"""Fold BatchNorm into the convolution before it: the deployable graph has no norm layers.

In every TCN block the BatchNorm sits directly after a convolution (the 1x1 ``in_conv`` and
the depthwise conv), so with ``s = gamma / sqrt(var + eps)`` per output channel::

    BN(conv(x)) = s * (W x + b - mean) + beta = (s W) x + (s (b - mean) + beta)

holds exactly for every input, zero padding included (the pad comes before the conv).
The result is a :class:`DTFENet` whose config says ``norm="none"``; its outputs equal the
unfolded model's in eval mode up to float rounding. The exporter folds before it builds the
graph; quantization-aware training folds before it trains, so that it rounds the weights the
exporter will round (``afkd.training.qat``).
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
