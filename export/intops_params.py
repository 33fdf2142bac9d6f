"""Kernel parameters derived from TFLite quantization parameters, exactly as TFLite does.

Scales come from the .tflite as float32 and are widened to double before any product or
quotient (TFLite's Prepare functions do the same), so the integer multipliers match bit
for bit. Zero points and offsets follow TFLite: ``input_offset = -input_zero_point``,
``output_offset = output_zero_point``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from afkd.errors import AfkdError
from afkd.export.intops_tables import SIGMOID_TABLE_U16  # noqa: F401  (re-exported)


def _double(scale) -> float:
    """A .tflite scale (float32) widened to double, as TFLite's kernels read it."""
    return float(np.float32(scale))


def quantize_multiplier(real: float) -> tuple[int, int]:
    """TFLite QuantizeMultiplier: real -> (multiplier in [2^30, 2^31), shift), real ~ m*2^(s-31).

    Rounds half away from zero (std::round); a zero or vanishing multiplier gives (0, 0).
    """
    if real < 0:
        raise AfkdError(f"multiplier {real}: must not be negative")
    if real == 0.0:
        return 0, 0
    fraction, shift = math.frexp(real)
    fixed = math.floor(fraction * (1 << 31) + 0.5)
    if fixed == 1 << 31:
        fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        raise AfkdError(f"multiplier {real}: too large for a 32-bit fixed-point multiplier")
    return int(fixed), int(shift)


def conv_output_multipliers(input_scale, weight_scales, output_scale):
    """Per-channel (multipliers, shifts) int32 arrays for CONV_2D / DEPTHWISE / TRANSPOSE_CONV.

    effective_scale[c] = input_scale * weight_scale[c] / output_scale (in double).
    """
    pairs = [quantize_multiplier(_double(input_scale) * _double(w) / _double(output_scale))
             for w in np.atleast_1d(weight_scales)]
    return (np.array([p[0] for p in pairs], dtype=np.int32),
            np.array([p[1] for p in pairs], dtype=np.int32))


def fold_input_offset(bias, weights, input_zero_point: int) -> np.ndarray:
    """Folded int32 bias for the int8 kernels: bias[r] - input_zero_point * sum_k w[r][k].

    weights (rows, terms) for dense/encoder; pass a depthwise (K, C) array transposed.
    bias None means zero. Raises if the folded bias leaves int32.
    """
    weights = np.asarray(weights, dtype=np.int64)
    base = np.zeros(weights.shape[0], np.int64) if bias is None else np.asarray(bias, np.int64)
    folded = base - int(input_zero_point) * weights.sum(axis=1)
    if np.any(np.abs(folded) >= 2**31):
        raise AfkdError("folded bias: leaves int32")
    return folded.astype(np.int32)


def decoder_tap_offsets(weights, input_zero_point: int) -> np.ndarray:
    """afkd_decoder_s8 tap_offset[k] = -input_zero_point * sum_c w[k][c], weights (L, N)."""
    return fold_input_offset(None, weights, input_zero_point)


def activation_range(activation: str, scale, zero_point: int, dtype) -> tuple[int, int]:
    """TFLite CalculateActivationRangeQuantized for a fused activation ("NONE", "RELU",
    "RELU6", "RELU_N1_TO_1"): the clamp in output integers."""
    info = np.iinfo(dtype)
    lo, hi = int(info.min), int(info.max)

    def quantize(real: float) -> int:
        return int(zero_point) + int(round(real / float(np.float32(scale))))

    if activation == "NONE":
        return lo, hi
    if activation == "RELU":
        return max(lo, quantize(0.0)), hi
    if activation == "RELU6":
        return max(lo, quantize(0.0)), min(hi, quantize(6.0))
    if activation == "RELU_N1_TO_1":
        return max(lo, quantize(-1.0)), min(hi, quantize(1.0))
    raise AfkdError(f"fused activation {activation!r}: not supported")


@dataclass(frozen=True)
class PreluParams:
    """TFLite PRELU int8 parameters; ``alpha`` holds the raw int8 alpha values (1 or C)."""

    input_zero_point: int
    alpha_zero_point: int
    output_zero_point: int
    multiplier_pos: int
    shift_pos: int
    multiplier_neg: int
    shift_neg: int
    alpha: tuple

    def alpha_minus_zero_point(self) -> np.ndarray:
        """The afkd_prelu_s8_params.alpha array (int16)."""
        return (np.asarray(self.alpha, np.int32) - self.alpha_zero_point).astype(np.int16)


def prelu_params(input_scale, input_zero_point, alpha_values, alpha_scale, alpha_zero_point,
                 output_scale, output_zero_point) -> PreluParams:
    """multiplier_pos = in/out scale, multiplier_neg = in*alpha/out scale (TFLM prelu_common)."""
    pos = quantize_multiplier(_double(input_scale) / _double(output_scale))
    neg = quantize_multiplier(_double(input_scale) * _double(alpha_scale) / _double(output_scale))
    return PreluParams(int(input_zero_point), int(alpha_zero_point), int(output_zero_point),
                       pos[0], pos[1], neg[0], neg[1],
                       tuple(int(a) for a in np.ravel(alpha_values)))


@dataclass(frozen=True)
class AddParams:
    """afkd_add_params, field for field."""

    input1_offset: int
    input2_offset: int
    output_offset: int
    left_shift: int
    input1_multiplier: int
    input1_shift: int
    input2_multiplier: int
    input2_shift: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


def add_params(scale1, zero_point1, scale2, zero_point2, output_scale, output_zero_point,
               dtype=np.int8, activation: str = "NONE") -> AddParams:
    """TFLite ADD Prepare (general scales): left_shift 20 for int8, 15 for int16.

    Both inputs are scaled by s_i / (2 max(s1, s2)) after the left shift; the output stage
    by 2 max(s1, s2) / (2^left_shift * s_out).
    """
    left_shift = 15 if np.dtype(dtype) == np.int16 else 20
    twice_max = 2.0 * max(_double(scale1), _double(scale2))
    m1 = quantize_multiplier(_double(scale1) / twice_max)
    m2 = quantize_multiplier(_double(scale2) / twice_max)
    mo = quantize_multiplier(twice_max / ((1 << left_shift) * _double(output_scale)))
    lo, hi = activation_range(activation, output_scale, output_zero_point, dtype)
    return AddParams(-int(zero_point1), -int(zero_point2), int(output_zero_point), left_shift,
                     m1[0], m1[1], m2[0], m2[1], mo[0], mo[1], lo, hi)


@dataclass(frozen=True)
class MulParams:
    """afkd_mul_params, field for field."""

    input1_offset: int
    input2_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int


def mul_params(scale1, zero_point1, scale2, zero_point2, output_scale, output_zero_point,
               dtype=np.int8, activation: str = "NONE") -> MulParams:
    """TFLite MUL Prepare: one multiplier s1 * s2 / s_out."""
    m = quantize_multiplier(_double(scale1) * _double(scale2) / _double(output_scale))
    lo, hi = activation_range(activation, output_scale, output_zero_point, dtype)
    return MulParams(-int(zero_point1), -int(zero_point2), int(output_zero_point), m[0], m[1],
                     lo, hi)


def requantize_params(input_scale, input_zero_point, output_scale, output_zero_point):
    """afkd_requantize_params as (input_offset, output_offset, multiplier, shift)."""
    m = quantize_multiplier(_double(input_scale) / _double(output_scale))
    return -int(input_zero_point), int(output_zero_point), m[0], m[1]


def _checked_log2(x: float) -> tuple[bool, int]:
    """TFLite CheckedLog2: (x is a power of two within 1e-3 in log2, rounded log2)."""
    log2 = math.log(x) * (1.0 / math.log(2.0))
    rounded = math.floor(log2 + 0.5) if log2 >= 0 else -math.floor(-log2 + 0.5)
    return abs(log2 - rounded) < 1e-3, int(rounded)


def sigmoid_params_s16(input_scale, input_zero_point: int = 0) -> tuple[int, int]:
    """TFLite/TFLM LOGISTIC int16 Prepare -> (input_multiplier, input_left_shift).

    Power-of-two scale 2^-12 gives multiplier 0 (the kernel then multiplies by 3). Otherwise
    the input is rescaled by scale * 3 * 4096, doubled until above 32767/2 (left_shift
    counts the doublings) and truncated.
    """
    if input_zero_point != 0:
        raise AfkdError(f"LOGISTIC int16 input zero point {input_zero_point}: must be 0")
    scale = _double(input_scale)
    is_pot, log2 = _checked_log2(scale)
    left_shift = (15 - 3) + log2
    if is_pot and left_shift == 0:
        return 0, 0
    multiplier = scale * 4096.0 * 3.0
    left_shift = 0
    while multiplier <= 32767.0 / 2.0 and left_shift <= 30:
        left_shift += 1
        multiplier *= 2.0
    return int(multiplier), left_shift


def sigmoid_table_s8(input_scale, input_zero_point: int) -> np.ndarray:
    """The 256-entry afkd_sigmoid_s8 table (int8, indexed by the input's uint8 bits).

    Computed by running TFLite's LOGISTIC int8 on all 256 inputs (see intops_logistic).
    """
    from afkd.export.intops_logistic import logistic_s8_all_inputs

    outputs = logistic_s8_all_inputs(input_scale, input_zero_point)   # for q = -128..127
    table = np.empty(256, np.int8)
    table[np.arange(-128, 128).astype(np.int8).view(np.uint8)] = outputs
    return table
