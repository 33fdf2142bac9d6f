"""TFLite LEAKY_RELU for int8 and int16 (the 16x8 graph's stand-in for a one-slope PReLU).

Prepare (TFLM leaky_relu_common, in double):
    identity = input_scale / output_scale,  alpha = input_scale * alpha / output_scale
Eval (reference QuantizeLeakyRelu), per value:
    v = q_in - input_zero_point
    y = output_zero_point + requant(v, identity) if v >= 0 else ... + requant(v, alpha)
    clamp to the type's range (the op has no fused activation)
A negative slope gives a negative multiplier; TFLite's QuantizeMultiplier keeps the sign
(frexp and round are symmetric), and so does :func:`signed_quantize_multiplier`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from afkd.export.intops import requantize
from afkd.export.intops_params import quantize_multiplier


def signed_quantize_multiplier(real: float) -> tuple[int, int]:
    multiplier, shift = quantize_multiplier(abs(real))
    return (-multiplier if real < 0 else multiplier), shift


@dataclass(frozen=True)
class LeakyReluParams:
    """afkd_leaky_relu_params, field for field."""

    input_offset: int  # minus the input zero point
    output_offset: int  # the output zero point
    multiplier_identity: int
    shift_identity: int
    multiplier_alpha: int
    shift_alpha: int


def leaky_relu_params(input_scale, input_zero_point, alpha, output_scale, output_zero_point) -> LeakyReluParams:
    scale_in, scale_out = float(np.float32(input_scale)), float(np.float32(output_scale))
    identity = quantize_multiplier(scale_in / scale_out)
    slope = signed_quantize_multiplier(scale_in * float(np.float32(alpha)) / scale_out)
    return LeakyReluParams(-int(input_zero_point), int(output_zero_point), identity[0], identity[1], slope[0], slope[1])


def leaky_relu(values, params: LeakyReluParams, dtype=np.int8) -> np.ndarray:
    v = np.asarray(values, dtype=np.int64) + params.input_offset
    y = np.where(v >= 0, requantize(v, params.multiplier_identity, params.shift_identity),
                 requantize(v, params.multiplier_alpha, params.shift_alpha))
    info = np.iinfo(dtype)
    return np.clip(y + params.output_offset, info.min, info.max).astype(dtype)
