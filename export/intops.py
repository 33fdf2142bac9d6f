"""NumPy twin of the afkd integer kernels (firmware/runtime/afkd_*_s8.c / _s16.c).

Every function here reproduces TFLite's reference integer kernel for one op bit for bit
(same rounding, same clamps) so the streaming reference and the C kernels can be checked
against the .tflite. Arrays are frame-major like the firmware: ``frames`` is (T, C),
int8 or int16 values held in any integer dtype; results come back as int8 / int16.

Quantization: real = scale * (q - zero_point). A real multiplier M > 0 is stored the
TFLite way as ``(multiplier, shift)`` with M = multiplier * 2^(shift - 31),
multiplier in [2^30, 2^31) and shift in [-31, 7] (positive = left).

Parameter derivation (scales as float32 from the .tflite, widened to double as TFLite
does) lives in ``export/intops_params.py``; it is re-exported here.
"""

from __future__ import annotations

import numpy as np

from afkd.export.intops_params import (  # noqa: F401  (re-exported API)
    AddParams,
    MulParams,
    PreluParams,
    activation_range,
    add_params,
    conv_output_multipliers,
    decoder_tap_offsets,
    fold_input_offset,
    mul_params,
    prelu_params,
    quantize_multiplier,
    requantize_params,
    sigmoid_params_s16,
    sigmoid_table_s8,
    SIGMOID_TABLE_U16,
)

INT8_RANGE = (-128, 127)
INT16_RANGE = (-32768, 32767)


def _i64(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def rounding_divide_by_pot(x, exponent) -> np.ndarray:
    """x / 2^exponent rounded to nearest, ties away from zero (gemmlowp)."""
    x, exponent = np.broadcast_arrays(_i64(x), _i64(exponent))
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def doubling_high_mul(a, b) -> np.ndarray:
    """round(a * b / 2^31) ties away from zero, for int32 a and multipliers b >= 0."""
    return (_i64(a) * _i64(b) + (np.int64(1) << 30)) >> 31


def requantize(x, multiplier, shift) -> np.ndarray:
    """TFLite MultiplyByQuantizedMultiplier(int32 x, multiplier, shift) -> int64 array."""
    x, multiplier, shift = _i64(x), _i64(multiplier), _i64(shift)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = x << left
    if np.any((shifted < -(2**31)) | (shifted >= 2**31)):
        raise OverflowError("requantize: x * 2^shift leaves int32 (TFLite would overflow too)")
    return rounding_divide_by_pot(doubling_high_mul(shifted, multiplier), right)


def requantize64(x, multiplier, shift) -> np.ndarray:
    """TFLite MultiplyByQuantizedMultiplier(int64 x, ...) of the 16x8 convolutions.

    The multiplier is rounded to 16 bits first, then y = (x * m16 + 2^(14-shift)) >> (15-shift).
    """
    x, multiplier, shift = _i64(x), _i64(multiplier), _i64(shift)
    reduced = np.where(multiplier < 0x7FFF0000, (multiplier + (1 << 15)) >> 16, 0x7FFF)
    total_shift = 15 - shift
    return (x * reduced + (np.int64(1) << (total_shift - 1))) >> total_shift


def _finish(acc, multiplier, shift, output_zero_point, act_min, act_max, wide: bool, dtype):
    scaled = requantize64(acc, multiplier, shift) if wide else requantize(acc, multiplier, shift)
    return np.clip(scaled + output_zero_point, act_min, act_max).astype(dtype)


def _mode(frames, wide: bool | None) -> tuple[bool, type]:
    """The 16x8 mode (int64 accumulators and requant, int16 out) when ``wide`` says so, or,
    with ``wide=None``, when the activations are an int16 array."""
    if wide is None:
        wide = np.asarray(frames).dtype == np.int16
    return bool(wide), (np.int16 if wide else np.int8)


def pointwise(frames, weights, bias, input_zero_point, multiplier, shift,
              output_zero_point, act_min, act_max, wide: bool | None = None) -> np.ndarray:
    """1x1 conv (TFLite CONV_2D): frames (T, Cin), weights (Cout, Cin), bias (Cout,) or None.

    int8 frames: int32 accumulator, int32 requant; int16 frames (or wide=True): 16x8 path.
    """
    wide, dtype = _mode(frames, wide)
    x = _i64(frames) - input_zero_point                     # (T, Cin)
    acc = x @ _i64(weights).T                               # (T, Cout)
    if bias is not None:
        acc = acc + _i64(bias)
    return _finish(acc, multiplier, shift, output_zero_point, act_min, act_max, wide, dtype)


def encoder(signal, weights, bias, stride, input_zero_point, multiplier, shift,
            output_zero_point, act_min, act_max, wide: bool | None = None) -> np.ndarray:
    """Strided conv1d with one input channel (TFLite CONV_2D kernel (1,L), valid padding).

    signal (samples,), weights (N, L) -> (T, N) with T = (samples - L) // stride + 1;
    frame t reads samples [t*stride, t*stride + L).
    """
    signal = np.asarray(signal)
    length = np.asarray(weights).shape[1]
    count = (signal.shape[0] - length) // stride + 1
    index = np.arange(count)[:, None] * stride + np.arange(length)[None, :]
    windows = signal[index]                                 # (T, L)
    return pointwise(windows, weights, bias, input_zero_point, multiplier, shift,
                     output_zero_point, act_min, act_max, wide)


def depthwise(frames, weights, bias, dilation, input_zero_point, multiplier, shift,
              output_zero_point, act_min, act_max, wide: bool | None = None) -> np.ndarray:
    """Dilated depthwise conv1d, valid padding (TFLite DEPTHWISE_CONV_2D, multiplier 1).

    frames (T, C), weights (K, C) -> (T - (K-1)*dilation, C); output t uses input frames
    t + k*dilation, k = 0..K-1 (i.e. causal output frame t + (K-1)*dilation).
    """
    wide, dtype = _mode(frames, wide)
    x = _i64(frames) - input_zero_point
    taps, _ = np.asarray(weights).shape
    count = x.shape[0] - (taps - 1) * dilation
    acc = np.zeros((count, x.shape[1]), dtype=np.int64)
    for k in range(taps):
        acc += x[k * dilation: k * dilation + count] * _i64(weights)[k]
    if bias is not None:
        acc += _i64(bias)
    return _finish(acc, multiplier, shift, output_zero_point, act_min, act_max, wide, dtype)


def transpose_conv(frames, weights, bias, stride, input_zero_point, multiplier, shift,
                   output_zero_point, act_min, act_max, wide: bool | None = None) -> np.ndarray:
    """Transpose conv1d N -> 1 channel, valid padding (TFLite TRANSPOSE_CONV).

    frames (T, N), weights (L, N) -> ((T-1)*stride + L,): every frame t adds
    (x_t - zp) . w[k] to output t*stride + k; the bias is added once per output sample.
    """
    wide, dtype = _mode(frames, wide)
    x = _i64(frames) - input_zero_point
    length = np.asarray(weights).shape[0]
    contributions = x @ _i64(weights).T                     # (T, L)
    acc = np.zeros((x.shape[0] - 1) * stride + length, dtype=np.int64)
    for t in range(x.shape[0]):
        acc[t * stride: t * stride + length] += contributions[t]
    if bias is not None:
        acc += int(bias)
    return _finish(acc, multiplier, shift, output_zero_point, act_min, act_max, wide, dtype)


def prelu(frames, params: PreluParams) -> np.ndarray:
    """TFLite PRELU int8: frames (T, C); alpha shared or per channel (see PreluParams)."""
    v = _i64(frames) - params.input_zero_point
    alpha = _i64(params.alpha) - params.alpha_zero_point
    positive = requantize(v, params.multiplier_pos, params.shift_pos)
    negative = requantize(v * alpha, params.multiplier_neg, params.shift_neg)
    y = np.where(v >= 0, positive, negative) + params.output_zero_point
    return np.clip(y, *INT8_RANGE).astype(np.int8)


def sigmoid_s8(values, table) -> np.ndarray:
    """TFLite LOGISTIC int8 via the 256-entry table indexed by the input's uint8 bits."""
    return np.asarray(table, dtype=np.int8)[np.asarray(values).astype(np.int8).view(np.uint8)]


def sigmoid_s16(values, input_multiplier: int, input_left_shift: int) -> np.ndarray:
    """TFLite LOGISTIC int16 (reference_integer_ops::Logistic): table + interpolation."""
    if input_multiplier == 0:                               # power-of-two scale
        input_multiplier, input_left_shift = 3 << input_left_shift, 0
    rounding = (1 << (input_left_shift - 1)) if input_left_shift > 0 else 0
    x = (_i64(values) * input_multiplier + rounding) >> input_left_shift
    magnitude = np.abs(x)
    index = magnitude >> 9
    table = _i64(SIGMOID_TABLE_U16 + (SIGMOID_TABLE_U16[-1],))   # pad: index+1 is safe
    safe = np.minimum(index, 254)
    lo, hi = table[safe], table[safe + 1]
    y = np.where(index >= 255, 0x7FFF << 10, (lo << 9) + (magnitude & 0x1FF) * (hi - lo))
    y = np.where(x >= 0, y + (1 << 9), (1 << 25) - y + (1 << 9) - 1)
    return (y >> 10).astype(np.int16)


def add(a, b, params: AddParams) -> np.ndarray:
    """TFLite ADD (int8: left_shift 20, int16: 15): element-wise, same shapes."""
    dtype = np.int16 if params.left_shift == 15 else np.int8
    a_scaled = requantize((_i64(a) + params.input1_offset) << params.left_shift,
                          params.input1_multiplier, params.input1_shift)
    b_scaled = requantize((_i64(b) + params.input2_offset) << params.left_shift,
                          params.input2_multiplier, params.input2_shift)
    y = requantize(a_scaled + b_scaled, params.output_multiplier, params.output_shift)
    return np.clip(y + params.output_offset, params.act_min, params.act_max).astype(dtype)


def mul(a, b, params: MulParams, dtype=np.int8) -> np.ndarray:
    """TFLite MUL: requant((a + o1) * (b + o2)) + output_offset, clamped."""
    product = (_i64(a) + params.input1_offset) * (_i64(b) + params.input2_offset)
    y = requantize(product, params.output_multiplier, params.output_shift)
    return np.clip(y + params.output_offset, params.act_min, params.act_max).astype(dtype)


def requantize_values(values, input_zero_point, multiplier, shift, output_zero_point,
                      dtype=np.int8) -> np.ndarray:
    """TFLite QUANTIZE int->int of one type: requant(q - zp_in) + zp_out, type-clamped."""
    info = np.iinfo(dtype)
    y = requantize(_i64(values) - input_zero_point, multiplier, shift) + output_zero_point
    return np.clip(y, info.min, info.max).astype(dtype)
