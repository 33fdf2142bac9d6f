"""The deployable DT-FENet graph in PyTorch, with a hook at every tensor TFLite quantizes.

:func:`graph_features` computes what the exported model computes, layer for layer as the Keras
rebuild writes it (``export/keras_model.py``), from a model whose BatchNorm is already folded
(``norm="none"``). Each quantized tensor passes through a *hook* under the name of the Keras
layer that produces it, the name its TFLite tensor carries (``aa_block0_in``, ``va_mask_sum``;
the input is ``ecg``). Each convolution's weights and bias pass through the hook as well.
Tensors that TFLite keeps at their input's quantization (PAD, the delay's PAD + STRIDED_SLICE,
the output crop) get no hook of their own.

Two hooks use it: :class:`RangeObserver` records the float min/max of every tensor over
calibration windows (what TFLite's converter does), :class:`afkd.training.fake_quant.FakeQuantizer`
rounds every tensor as the integer model will.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import nn
from torch.nn import functional as F

from afkd.training.model import DTFENet

INPUT = "ecg"
PATHS = ("aa", "va")


class Hook(Protocol):
    def act(self, name: str, x: torch.Tensor) -> torch.Tensor: ...
    def weight(self, name: str, w: torch.Tensor, channel_dim: int | None) -> torch.Tensor: ...
    def bias(self, name: str, b: torch.Tensor, w: torch.Tensor, channel_dim: int | None,
             input_name: str) -> torch.Tensor: ...


class FloatHook:
    """Changes nothing: the graph is then the folded model's float forward."""

    def act(self, name, x):
        return x

    def weight(self, name, w, channel_dim):
        return w

    def bias(self, name, b, w, channel_dim, input_name):
        return b


class RangeObserver(FloatHook):
    """Running min/max of every activation (the converter's calibration statistic)."""

    def __init__(self):
        self.ranges: dict[str, tuple[float, float]] = {}

    def act(self, name, x):
        lo, hi = float(x.detach().min()), float(x.detach().max())
        if name in self.ranges:
            old_lo, old_hi = self.ranges[name]
            lo, hi = min(lo, old_lo), max(hi, old_hi)
        self.ranges[name] = (lo, hi)
        return x


def _conv(hook: Hook, conv: nn.Conv1d, x: torch.Tensor, name: str, input_name: str,
          padding: tuple[int, int] = (0, 0)) -> torch.Tensor:
    """A Conv1d (dense or depthwise) with hooked weights (per output channel, dim 0) and bias."""
    w = hook.weight(name, conv.weight, 0)
    b = None if conv.bias is None else hook.bias(name, conv.bias, conv.weight, 0, input_name)
    if padding != (0, 0):
        x = F.pad(x, padding)
    return F.conv1d(x, w, b, stride=conv.stride, dilation=conv.dilation, groups=conv.groups)


def _prelu(act: nn.PReLU, x: torch.Tensor) -> torch.Tensor:
    return F.prelu(x, act.weight)


def _tcn(hook: Hook, tcn, x: torch.Tensor, path: str, x_name: str) -> torch.Tensor:
    """(batch, N, frames) -> h (batch, B, frames), as keras_model._tcn builds it."""
    name = f"{path}_bottleneck"
    h = hook.act(name, _conv(hook, tcn.bottleneck, x, name, x_name))
    h_name = name
    for i, block in enumerate(tcn.blocks):
        base = f"{path}_block{i}"
        y = hook.act(f"{base}_in", _conv(hook, block.in_conv, h, f"{base}_in", h_name))
        y = hook.act(f"{base}_prelu1", _prelu(block.act1, y))
        left = block.pad if block.causal else block.pad // 2
        y = _conv(hook, block.depthwise, y, f"{base}_depthwise", f"{base}_prelu1", (left, block.pad - left))
        y = hook.act(f"{base}_depthwise", y)
        y = hook.act(f"{base}_prelu2", _prelu(block.act2, y))
        y = hook.act(f"{base}_out", _conv(hook, block.out_conv, y, f"{base}_out", f"{base}_prelu2"))
        h = hook.act(f"{base}_residual", h + y)
        h_name = f"{base}_residual"
    return hook.act(f"{path}_prelu_out", _prelu(tcn.out_act, h))


def biased_add_operands(model: DTFENet) -> list[tuple[str, str]]:
    """(convolution, ADD) pairs where a convolution with a bias feeds an ADD directly.

    TFLite's converter calibrates such a convolution's output over the union of its own range
    and the ADD's output range (measured on afkd's exports: every TCN block's ``out`` with its
    ``residual``, each ``mask_self`` with its ``mask_sum``; the bias-free ``mask_cross`` keeps
    its own range), so :func:`afkd.training.fake_quant.calibrate` does the same.
    """
    pairs = []
    for path in PATHS:
        for i, block in enumerate(getattr(model, f"tcn_{path}").blocks):
            if block.out_conv.bias is not None:
                pairs.append((f"{path}_block{i}_out", f"{path}_block{i}_residual"))
        head = getattr(model, f"mask_{path}")
        if head.cross_conv is not None and head.self_conv.bias is not None:
            pairs.append((f"{path}_mask_self", f"{path}_mask_sum"))
    return pairs


def graph_features(model: DTFENet, x: torch.Tensor, hook: Hook) -> dict[str, torch.Tensor]:
    """The folded model's graph on x (batch, T) mV with ``hook`` at every quantized tensor.

    Returns the same dict as :meth:`DTFENet.features`: enc_aa, enc_va, mask_aa, mask_va
    (batch, N_path, frames) and aa, va (batch, T).
    """
    cfg = model.cfg
    if cfg.norm == "batch":
        raise ValueError("graph_features needs a folded model (norm='none'): fold BatchNorm first")
    x = model._input(x)  # (batch, 1, T)
    S, T = cfg.hop, x.shape[-1]
    x = hook.act(INPUT, x)
    padded = F.pad(x, (S, 0))  # the causal pad keeps the input's quantization
    enc, h = {}, {}
    for path in PATHS:
        name = f"{path}_encoder"
        enc[path] = hook.act(name, F.relu(_conv(hook, getattr(model, f"encoder_{path}"), padded, name, INPUT)))
        h[path] = _tcn(hook, getattr(model, f"tcn_{path}"), enc[path], path, name)
    out = {f"enc_{p}": enc[p] for p in PATHS}
    for path, other in (("aa", "va"), ("va", "aa")):
        head = getattr(model, f"mask_{path}")
        z = hook.act(f"{path}_mask_self", _conv(hook, head.self_conv, h[path], f"{path}_mask_self", f"{path}_prelu_out"))
        if head.cross_conv is not None:
            cross = hook.act(f"{path}_mask_cross",
                             _conv(hook, head.cross_conv, h[other], f"{path}_mask_cross", f"{other}_prelu_out"))
            z = hook.act(f"{path}_mask_sum", z + cross)
        mask = hook.act(f"{path}_mask", torch.sigmoid(z))
        masked = hook.act(f"{path}_masked", model._delayed(enc[path]) * mask)  # the delay keeps enc's quantization
        deconv = getattr(model, f"decoder_{path}")
        w = hook.weight(f"{path}_decoder", deconv.weight, None)  # one output channel: one scale
        y = hook.act(f"{path}_decoder", F.conv_transpose1d(masked, w, None, stride=deconv.stride))
        out[f"mask_{path}"] = mask
        out[path] = y[:, 0, S : S + T]  # the crop keeps the decoder's quantization
    return out
