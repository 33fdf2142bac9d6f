"""NumPy twins of the one-window kernels (the beat CNN): MEAN, SUB, CONV_2D over a window,
MAX_POOL_2D and FULLY_CONNECTED, bit for bit with TFLM's reference kernels.

Layouts follow the firmware: a window tensor is (t, C), time-major (NHWC with N = H = 1).
The parameters come from the .tflite's quantization, derived as TFLM's Prepare functions do
(``mean_params``); the others reuse ``export.intops`` (conv and dense output stages, ADD's
parameters for SUB).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from afkd.export import intops
from afkd.export.intops_params import AddParams, _double, quantize_multiplier


@dataclass(frozen=True)
class MeanParams:
    """afkd_mean_params: TFLM's QuantizedMeanOrSum with its 1/count folded into the multiplier."""

    count: int  # values averaged
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int


def mean_params(input_scale, input_zero_point: int, output_scale, output_zero_point: int, count: int) -> MeanParams:
    """TFLM MEAN Prepare + the mean's rescale: M = s_in / s_out as (m, e), then with
    k = min(floor(log2 count), 32, 31 + e): m' = floor(m * 2^k / count), e' = e - k."""
    multiplier, shift = quantize_multiplier(_double(input_scale) / _double(output_scale))
    k = min(int(count).bit_length() - 1, 32, 31 + shift)
    return MeanParams(int(count), int(input_zero_point), int(output_zero_point),
                      int((multiplier << k) // count), shift - k)


def mean(values, params: MeanParams, dtype) -> np.ndarray:
    """TFLite MEAN over all ``values`` (one output): requant(sum - zp * count) + zp_out, clamped."""
    values = np.asarray(values, dtype=np.int64).reshape(-1)
    if values.size != params.count:
        raise ValueError(f"mean: {values.size} values, the parameters are for {params.count}")
    total = int(values.sum()) - params.input_zero_point * params.count
    info = np.iinfo(dtype)
    y = int(intops.requantize(total, params.multiplier, params.shift)) + params.output_zero_point
    return np.array([min(max(y, info.min), info.max)], dtype=dtype)


def sub(a, b, params: AddParams, dtype) -> np.ndarray:
    """TFLite SUB (TFLM reference Sub / BroadcastQuantSubSlow): ADD's parameters, a' - b'.
    ``b`` may be one value, broadcast over ``a``."""
    a64, b64 = np.asarray(a, np.int64), np.asarray(b, np.int64)
    a_scaled = intops.requantize((a64 + params.input1_offset) << params.left_shift,
                                 params.input1_multiplier, params.input1_shift)
    b_scaled = intops.requantize((b64 + params.input2_offset) << params.left_shift,
                                 params.input2_multiplier, params.input2_shift)
    y = intops.requantize(a_scaled - b_scaled, params.output_multiplier, params.output_shift)
    return np.clip(y + params.output_offset, params.act_min, params.act_max).astype(dtype)


def pad_window(x, pad_before: int, pad_after: int, zero_point: int) -> np.ndarray:
    """(t, C) -> (pad_before + t + pad_after, C) with the input zero point (real 0) around it:
    what TFLite's skipped out-of-range taps contribute, so every tap reads a real value."""
    x = np.asarray(x)
    return np.pad(x, ((pad_before, pad_after), (0, 0)), constant_values=zero_point)


def conv_window(padded, weights, bias, kernel: int, stride: int, input_zero_point, multiplier, shift,
                output_zero_point, act_min, act_max, wide: bool) -> np.ndarray:
    """CONV_2D (1,K) over a padded window: padded (t_p, Cin), weights (Cout, K*Cin) OHWI
    flattened -> (t_out, Cout), t_out = (t_p - K) // stride + 1. Position j reads the K*Cin
    contiguous values from j*stride*Cin: a dense product, as the firmware computes it."""
    padded = np.asarray(padded)
    cin = padded.shape[1]
    flat = padded.reshape(-1)
    count = (padded.shape[0] - kernel) // stride + 1
    index = (np.arange(count)[:, None] * stride * cin) + np.arange(kernel * cin)[None, :]
    return intops.pointwise(flat[index], weights, bias, input_zero_point, multiplier, shift,
                            output_zero_point, act_min, act_max, wide)


def max_pool(x, pool: int, stride: int, act_min: int, act_max: int) -> np.ndarray:
    """MAX_POOL_2D (1,P) stride (1,s), VALID: (t, C) -> ((t - P) // s + 1, C), clamped to the
    fused activation's range (same quantization in and out)."""
    x = np.asarray(x)
    count = (x.shape[0] - pool) // stride + 1
    windows = np.stack([x[j * stride : j * stride + pool] for j in range(count)])  # (t_out, P, C)
    return np.clip(windows.max(axis=1), act_min, act_max).astype(x.dtype)
