"""Fake quantization that follows TFLite's full-integer scheme, tensor by tensor.

What afkd's exporter produces (``export/tflite_export.py``: TFLiteConverter with a
representative dataset), and so what this module reproduces on the folded graph of
:mod:`afkd.training.quant_graph`:

- weights: int8, symmetric, one scale per output channel, ``s_c = max|w_c| / 127``,
  ``q = round(w / s_c)`` in [-127, 127] (the decoder's transposed convolution has one
  output channel, so one scale);
- biases: int32 (int8 mode) or int64 (int16x8) with scale ``s_input * s_c``;
- activations: the float min/max of each tensor over the calibration windows (each also
  multiplied by the headroom gain when it is above 1), widened to include 0 (a biased
  convolution that feeds an ADD: the union with the ADD's range, as the converter does); int8 is
  asymmetric, ``s = (max - min) / 255``, ``z = round(-128 - min / s)``; int16 is symmetric,
  ``s = max(|min|, |max|) / 32767``, ``z = 0``;
- LOGISTIC's output has TFLite's fixed scale: 1/256 with z = -128 (int8), 1/32768 (int16).

A value ``x`` becomes ``s * (clamp(round(x / s) + z, qmin, qmax) - z)``. Gradients pass
straight through the rounding, and are cut where an activation clips (the straight-through
estimator with clipping). Scales are not learned: they are what the converter will compute
from the trained weights, so :func:`calibrate` recomputes them as the weights move.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import torch

from afkd.training.quant_graph import FloatHook, RangeObserver, biased_add_operands, graph_features

MODES = ("int8", "int16x8")
DEFAULT_HEADROOM = {"int8": 1.0, "int16x8": 8.0}  # the exporter's defaults (export/tflite_export.py)
WEIGHT_QMAX = 127
_ACTIVATION = {"int8": (-128, 127), "int16x8": (-32768, 32767)}
_LOGISTIC = {"int8": (1.0 / 256.0, -128), "int16x8": (1.0 / 32768.0, 0)}


@dataclass(frozen=True)
class QParams:
    """One tensor's quantization: real = scale * (q - zero_point), q in [qmin, qmax]."""

    scale: float
    zero_point: int
    qmin: int
    qmax: int


def is_logistic(name: str) -> bool:
    """The mask tensors (``aa_mask``, ``va_mask``) are LOGISTIC outputs."""
    return name.endswith("_mask")


def activation_params(lo: float, hi: float, mode: str) -> tuple[float, int]:
    """(scale, zero_point) TFLite's quantizer gives a tensor whose calibrated range is [lo, hi]."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)  # the range must hold 0 exactly
    if mode == "int16x8":
        bound = max(-lo, hi)
        return (bound / 32767.0 if bound > 0 else 1.0), 0
    qmin, qmax = _ACTIVATION["int8"]
    if hi - lo < np.finfo(np.float64).eps:
        return 1.0, qmin
    scale = (hi - lo) / (qmax - qmin)
    # As MLIR's nudging does: take the zero point from whichever end adds less rounding error.
    from_min, from_max = qmin - lo / scale, qmax - hi / scale
    zp = from_min if abs(qmin) + abs(lo / scale) < abs(qmax) + abs(hi / scale) else from_max
    return float(np.float32(scale)), int(min(max(round_half_away(zp), qmin), qmax))


def round_half_away(x):
    """Round half away from zero (std::round, what TFLite's quantizers use), numbers or tensors."""
    if isinstance(x, torch.Tensor):
        return torch.sign(x) * torch.floor(x.abs() + 0.5)
    return float(np.sign(x) * np.floor(abs(x) + 0.5))


def params_from_ranges(ranges: dict[str, tuple[float, float]], mode: str) -> dict[str, QParams]:
    if mode not in MODES:
        raise ValueError(f"quantization mode {mode!r}: choose one of {', '.join(MODES)}")
    qmin, qmax = _ACTIVATION[mode]
    params = {}
    for name, (lo, hi) in ranges.items():
        scale, zp = _LOGISTIC[mode] if is_logistic(name) else activation_params(lo, hi, mode)
        params[name] = QParams(scale, zp, qmin, qmax)
    return params


@torch.no_grad()
def calibrate(model, windows: Iterable[np.ndarray], mode: str, headroom: float | None = None) -> dict[str, QParams]:
    """Every activation's QParams from the folded float model on the calibration windows.

    ``windows``: float32 (T,) mV each. With ``headroom`` > 1 every window also runs times the
    gain, as the exporter calibrates (``convert``: each window and the window times the gain).
    """
    gain = DEFAULT_HEADROOM[mode] if headroom is None else float(headroom)
    gains = (1.0,) if gain == 1.0 else (1.0, gain)
    observer = RangeObserver()
    was_training = model.training
    model.eval()
    try:
        for x in windows:
            for g in gains:
                graph_features(model, torch.from_numpy(np.asarray(x, np.float32) * np.float32(g))[None], observer)
    finally:
        model.train(was_training)
    ranges = dict(observer.ranges)
    for conv, add in biased_add_operands(model):  # the converter's rule (quant_graph docstring)
        ranges[conv] = (min(ranges[conv][0], ranges[add][0]), max(ranges[conv][1], ranges[add][1]))
    return params_from_ranges(ranges, mode)


def _straight_through(x: torch.Tensor, rounded: torch.Tensor, keep_grad: torch.Tensor | None = None) -> torch.Tensor:
    """Value ``rounded``; gradient 1 (or ``keep_grad``, a 0/1 mask) with respect to x."""
    if keep_grad is None:
        return x + (rounded - x).detach()
    return x * keep_grad + (rounded - x * keep_grad).detach()


def fake_quant_activation(x: torch.Tensor, p: QParams) -> torch.Tensor:
    q = torch.clamp(round_half_away(x / p.scale) + p.zero_point, p.qmin, p.qmax)
    inside = ((x >= (p.qmin - p.zero_point) * p.scale) & (x <= (p.qmax - p.zero_point) * p.scale)).to(x.dtype)
    return _straight_through(x, (q - p.zero_point) * p.scale, inside)


def weight_scales(w: torch.Tensor, channel_dim: int | None) -> torch.Tensor:
    """Symmetric int8 scales, broadcastable against w: per channel along ``channel_dim``, or one."""
    w = w.detach()
    if channel_dim is None:
        bound = w.abs().max()
    else:
        dims = [d for d in range(w.dim()) if d != channel_dim]
        bound = w.abs().amax(dim=dims, keepdim=True)
    scale = bound / WEIGHT_QMAX
    return torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero channel stays zero


def fake_quant_weight(w: torch.Tensor, channel_dim: int | None) -> torch.Tensor:
    scale = weight_scales(w, channel_dim)
    q = torch.clamp(round_half_away(w / scale), -WEIGHT_QMAX, WEIGHT_QMAX)
    return _straight_through(w, q * scale)


class FakeQuantizer(FloatHook):
    """The graph hook that rounds weights, biases and activations as the integer model does."""

    def __init__(self, params: dict[str, QParams]):
        self.params = params

    def act(self, name, x):
        p = self.params.get(name)
        if p is None:
            raise KeyError(f"no quantization parameters for tensor {name!r}: calibrate this model first")
        return fake_quant_activation(x, p)

    def weight(self, name, w, channel_dim):
        return fake_quant_weight(w, channel_dim)

    def bias(self, name, b, w, channel_dim, input_name):
        # The bias's integer scale is the input's scale times the channel's weight scale.
        scale = self.params[input_name].scale * weight_scales(w, channel_dim).reshape(-1)
        return _straight_through(b, round_half_away(b / scale) * scale)


def float_features(model, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The folded graph without quantization (equals the model's own forward)."""
    return graph_features(model, x, FloatHook())
