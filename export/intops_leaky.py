"""TFLite LEAKY_RELU for int8 and int16 (the 16x8 graph's stand-in for a one-slope PReLU).

Prepare (TFLM leaky_relu_common, in double):
    identity = input_scale / output_scale,  alpha = input_scale * alpha / output_scale
Eval (reference QuantizeLeakyRelu), per value:
    v = q_in - input_zero_point
    y = output_zero_point + requant(v, identity) if v >= 0 else ... + requant(v, alpha)
    clamp to the type's range (the op has no fused activation)
A negative slope gives a negative multiplier; TFLite's QuantizeMultiplier keeps the sign
(frexp and round are symmetric), and so does :func:`signed_quantize_multiplier`.

The int16 kernel's fast form (:func:`fast_form`): TFLite's two roundings of a branch
(SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT) compose into one floor,
floor((v * M + R) / 2^S), because a floor of a floor by powers of two is one floor. When a
multiplier M' and a rounding constant Ra give the same floor with S = 32 and R = Ra * 2^16,
one Cortex-M4 SMLAWB (Ra + (M' * v) >> 16, 32 x 16 bits) leaves the branch's output in the
top half of a register, and PKHTB packs two of them: three instructions per two values. A
multiplier of 0.5 or more is split as k + (m - k), k = round(m): the integer part is k
saturating additions of v (QADD16, which is also TFLite's clamp). The exporter searches M'
near the exact one and checks the whole form against TFLite on all 65,536 int16 inputs; a
layer where none is found keeps TFLite's form.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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
    # The int16 kernel's fast form (module docstring), 0 everywhere when it does not apply:
    # fast = 1: v >= 0 passes unchanged (the output keeps the input's scale) and v < 0 takes
    # sat16(whole * v + top16(round + (multiplier * v) >> 16)) with the fast_neg_ fields;
    # fast = 2: v >= 0 takes the same with the fast_pos_ fields.
    fast: int = 0
    fast_neg_multiplier: int = 0
    fast_neg_round: int = 0
    fast_neg_whole: int = 0
    fast_pos_multiplier: int = 0
    fast_pos_round: int = 0
    fast_pos_whole: int = 0


def leaky_relu_params(input_scale, input_zero_point, alpha, output_scale, output_zero_point,
                      int16: bool = False) -> LeakyReluParams:
    """TFLite's parameters; with ``int16`` (the 16x8 graph) also the kernel's fast form."""
    scale_in, scale_out = float(np.float32(input_scale)), float(np.float32(output_scale))
    identity = quantize_multiplier(scale_in / scale_out)
    slope = signed_quantize_multiplier(scale_in * float(np.float32(alpha)) / scale_out)
    params = LeakyReluParams(-int(input_zero_point), int(output_zero_point), identity[0], identity[1],
                             slope[0], slope[1])
    return fast_form(params) if int16 else params


def leaky_relu(values, params: LeakyReluParams, dtype=np.int8) -> np.ndarray:
    v = np.asarray(values, dtype=np.int64) + params.input_offset
    y = np.where(v >= 0, requantize(v, params.multiplier_identity, params.shift_identity),
                 requantize(v, params.multiplier_alpha, params.shift_alpha))
    info = np.iinfo(dtype)
    return np.clip(y + params.output_offset, info.min, info.max).astype(dtype)


INT16_VALUES = np.arange(-32768, 32768, dtype=np.int64)
_SEARCH = 256  # multipliers tried on each side of the exact one
MAX_WHOLE = 4  # at most this many saturating additions of v per branch
#: (fast, neg_whole, pos_whole) the int16 kernel has a loop for; other fast forms are exact too
#: but would run value by value, slower than TFLite's form, so the exporter keeps that one.
KERNEL_LOOPS = frozenset({(1, 0, 0), (1, 1, 0), *((2, 0, w) for w in range(5)), *((2, 1, w) for w in range(3))})


def _real(multiplier: int, shift: int) -> float:
    return float(multiplier) * 2.0 ** (shift - 31)


def _branch_form(multiplier: int, shift: int, values: np.ndarray) -> tuple[int, int, int] | None:
    """(M', Ra, k) with requant(v) = k v + top16(Ra + (M' * v) >> 16) for every v in ``values``
    (one sign), the top half fitting int16; or None. k = round(multiplier) keeps M' below 2^31
    for real multipliers of 0.5 and more (an integer times v comes out of the floor exactly)."""
    target = requantize(values, multiplier, shift)
    whole = int(round(_real(multiplier, shift)))
    if not 0 <= whole <= MAX_WHOLE:
        return None
    rest = target - whole * values  # what the SMLAW part must produce
    if rest.min() < -32768 or rest.max() > 32767:
        return None
    exact = (_real(multiplier, shift) - whole) * 2.0 ** 32
    centre = int(round(exact))
    for step in range(2 * _SEARCH + 1):  # centre, centre + 1, centre - 1, ...
        m = centre + (step + 1) // 2 * (1 if step % 2 else -1)
        if not -(1 << 31) <= m < (1 << 31):
            continue
        # floor((v m + Ra 2^16) / 2^32) = rest  <=>  rest 2^32 - v m <= Ra 2^16 < (rest + 1) 2^32 - v m
        low = int(((rest << 32) - values * m).max())
        high = int((((rest + 1) << 32) - values * m).min())
        ra = -((-low) >> 16)  # the smallest Ra with Ra 2^16 >= low
        if (ra << 16) < high and -(1 << 31) <= ra < (1 << 31):
            return m, ra, whole
    return None


def _saturate16(x: np.ndarray) -> np.ndarray:
    return np.clip(x, -32768, 32767)


def fast_branch(values: np.ndarray, multiplier: int, round_: int, whole: int) -> np.ndarray:
    """What the kernel computes for one branch: the top half of Ra + ((M * v) >> 16) (SMLAWB or
    SMLAWT, then PKHTB), then ``whole`` saturating additions of v (QADD16)."""
    v = np.asarray(values, dtype=np.int64)
    t = round_ + ((v * multiplier) >> 16)
    if t.min() < -(1 << 31) or t.max() >= (1 << 31):
        raise ValueError("fast leaky form: the 32-bit sum overflows")
    y = t >> 16
    for _ in range(whole):
        y = _saturate16(y + v)
    return y


def leaky_relu_fast(values, params: LeakyReluParams) -> np.ndarray:
    """The int16 kernel's fast loop, value for value (:func:`fast_form` proves it equals TFLite)."""
    v = np.asarray(values, dtype=np.int64)
    neg = fast_branch(v, params.fast_neg_multiplier, params.fast_neg_round, params.fast_neg_whole)
    pos = v if params.fast == 1 else fast_branch(v, params.fast_pos_multiplier, params.fast_pos_round,
                                                 params.fast_pos_whole)
    return np.where(v >= 0, pos, neg).astype(np.int16)


def fast_form(params: LeakyReluParams, kernel_loops_only: bool = True) -> LeakyReluParams:
    """``params`` with the fast form filled in when one exists (checked on every int16 input)
    and, with ``kernel_loops_only``, the kernel has a loop for it (KERNEL_LOOPS)."""
    if params.input_offset != 0 or params.output_offset != 0:
        return params
    negative, positive = INT16_VALUES[INT16_VALUES < 0], INT16_VALUES[INT16_VALUES >= 0]
    neg = _branch_form(params.multiplier_alpha, params.shift_alpha, negative)
    if neg is None:
        return params
    same_scale = np.array_equal(requantize(positive, params.multiplier_identity, params.shift_identity), positive)
    pos = (0, 0, 0) if same_scale else _branch_form(params.multiplier_identity, params.shift_identity, positive)
    if pos is None:
        return params
    kind = 1 if same_scale else 2
    if kernel_loops_only and (kind, neg[2], pos[2]) not in KERNEL_LOOPS:
        return params
    fast = replace(params, fast=kind,
                   fast_neg_multiplier=neg[0], fast_neg_round=neg[1], fast_neg_whole=neg[2],
                   fast_pos_multiplier=pos[0], fast_pos_round=pos[1], fast_pos_whole=pos[2])
    if not np.array_equal(leaky_relu_fast(INT16_VALUES, fast), leaky_relu(INT16_VALUES, params, np.int16)):
        return params  # the exhaustive check is the proof; without it, TFLite's form
    return fast
