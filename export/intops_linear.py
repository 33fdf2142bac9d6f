"""One multiply-add per value for int8 PRELU and ADD, proven on every input.

An int8 element-wise op sees at most 256 (PRELU with one slope) or 256 x 256 (ADD) inputs, and
TFLite's integer arithmetic for it is, branch by branch, a floor of an affine function of the
inputs: each rounding step (SaturatingRoundingDoublingHighMul, RoundingDivideByPOT) is a floor
of an integer plus a constant over a power of two, and floor(floor(x / m) / n) = floor(x / (m n))
collapses nested ones. So the same bits usually come from

    PRELU:  y = ssat8((x * k + c) >> shift)            with (k, c) chosen by the side of x
    ADD:    y = clamp((a * k1 + b * k2 + c) >> shift)  (ADD's inner rounding of one input is
                                                        below the output's resolution)

in int32, one or two MLAs instead of two or three requantizations. The constants are searched
here and kept only if they reproduce ``intops.prelu`` / ``intops.add`` on every possible input
and no intermediate leaves int32; otherwise the kernel keeps TFLite's form (the functions return
None). The proof is exhaustive, so the firmware stays bit-exact with TFLite by construction;
``tests/test_intops_linear.py`` and the kernel tests check it again against TFLite itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from afkd.export import intops
from afkd.export.intops_params import AddParams, PreluParams

SHIFTS = tuple(range(16, 25))  # 16 first: the kernels fold that shift into SSAT
_INT8 = np.arange(-128, 128, dtype=np.int64)
_INT32 = (-(2**31), 2**31 - 1)
_SEARCH_1D = 768  # slopes tried on each side of the least-squares estimate (PRELU)
_SEARCH_2D = 4    # the same per input of ADD: (2 * 4 + 1)^2 pairs per shift, on a sample first
_SAMPLE = np.random.default_rng(0).choice(65536, 2048, replace=False)  # spread pairs for a first test
_PAIRS = sorted(((d1, d2) for d1 in range(-_SEARCH_2D, _SEARCH_2D + 1) for d2 in range(-_SEARCH_2D, _SEARCH_2D + 1)),
                key=lambda d: abs(d[0]) + abs(d[1]))


@dataclass(frozen=True)
class PreluLinear:
    """afkd_prelu_s8_params.linear_*: x >= threshold takes (k_pos, c_pos), else (k_neg, c_neg)."""

    threshold: int
    k_pos: int
    c_pos: int
    k_neg: int
    c_neg: int
    shift: int


@dataclass(frozen=True)
class AddLinear:
    """afkd_add_params.linear_*: out = clamp((a * k1 + b * k2 + c) >> shift, act_min, act_max)."""

    k1: int
    k2: int
    c: int
    shift: int


def _fits_int32(values: np.ndarray) -> bool:
    return bool(values.min() >= _INT32[0] and values.max() <= _INT32[1])


def _offset_range(target: np.ndarray, base: np.ndarray, shift: int) -> tuple[int, int]:
    """The constants c with floor((base + c) / 2^shift) == target everywhere: [low, high]."""
    return int(np.max((target << shift) - base)), int(np.min(((target + 1) << shift) - 1 - base))


def _fit_1d(x: np.ndarray, target: np.ndarray, shift: int) -> tuple[int, int] | None:
    """(k, c) with floor((x * k + c) / 2^shift) == target for every x, or None.

    Any two points bound the slope: x_i k + c and x_j k + c must land in their own output
    steps, so (t_j - t_i - 1) 2^shift + 1 <= (x_j - x_i) k <= (t_j - t_i + 1) 2^shift - 1.
    The slopes inside every pair's bounds are tried in turn for a common offset."""
    if x.size == 1:
        return 0, int(target[0]) << shift
    i, j = np.triu_indices(x.size, 1)
    gap, rise = x[j] - x[i], target[j] - target[i]      # x is sorted: gap > 0
    lowest = int(np.max(-((-((rise - 1) * (1 << shift) + 1)) // gap)))   # ceil
    highest = int(np.min(((rise + 1) * (1 << shift) - 1) // gap))      # floor
    for k in range(lowest, min(highest, lowest + _SEARCH_1D) + 1):
        low, high = _offset_range(target, x * k, shift)
        if low <= high:
            return k, low
    return None


def prelu_linear_form(params: PreluParams, shifts: tuple[int, ...] = SHIFTS) -> PreluLinear | None:
    """The one-MLA form of an int8 PRELU with one shared slope, or None (per-channel slopes,
    or no constants found that give TFLite's bits on all 256 inputs). ``shifts``: the shifts
    tried, in order (tests pick others to reach the kernels' general loops)."""
    if len(params.alpha) != 1:
        return None
    exact = intops.prelu(_INT8[:, None], params)[:, 0].astype(np.int64)
    v = _INT8 - params.input_zero_point
    alpha = int(params.alpha[0]) - params.alpha_zero_point
    # the branches before TFLite's clamp to int8: SSAT in the kernel does that clamp
    positive = intops.requantize(v, params.multiplier_pos, params.shift_pos) + params.output_zero_point
    negative = intops.requantize(v * alpha, params.multiplier_neg, params.shift_neg) + params.output_zero_point
    upper = v >= 0
    threshold = int(params.input_zero_point)  # x >= zero point  <=>  v >= 0
    for shift in shifts:
        pos = _fit_1d(_INT8[upper], positive[upper], shift) if upper.any() else (0, 0)
        neg = _fit_1d(_INT8[~upper], negative[~upper], shift) if (~upper).any() else (0, 0)
        if pos is None or neg is None:
            continue
        form = PreluLinear(threshold, pos[0], pos[1], neg[0], neg[1], shift)
        accumulator = _prelu_accumulator(_INT8, form)
        if _fits_int32(accumulator) and np.array_equal(prelu_linear(_INT8, form), exact):
            return form
    return None


def _prelu_accumulator(x: np.ndarray, form: PreluLinear) -> np.ndarray:
    x = np.asarray(x, np.int64)
    return np.where(x >= form.threshold, x * form.k_pos + form.c_pos, x * form.k_neg + form.c_neg)


def prelu_linear(x, form: PreluLinear) -> np.ndarray:
    """NumPy twin of afkd_prelu_s8's linear loop."""
    return np.clip(_prelu_accumulator(x, form) >> form.shift, -128, 127).astype(np.int8)


def add_linear_form(params: AddParams, shifts: tuple[int, ...] = SHIFTS) -> AddLinear | None:
    """The two-MLA form of an int8 ADD, or None (int16 ADD, or no constants found that give
    TFLite's bits on all 65,536 input pairs). ``shifts`` as for ``prelu_linear_form``.

    The slopes are searched around the least-squares fit first (cheap, usually enough), then
    around the centre of the widest slab that holds every pair (a small linear program)."""
    if params.left_shift != 20:  # int16 inputs: 2^32 pairs, too many to prove
        return None
    a = np.repeat(_INT8, 256)
    b = np.tile(_INT8, 256)
    # TFLite's value before its clamp: the linear form reproduces it, then clamps the same way
    wide = AddParams(**{**params.__dict__, "act_min": -(2**31), "act_max": 2**31 - 1})
    unclamped = _add_unclamped(a, b, wide)
    exact = intops.add(a, b, params).astype(np.int64)
    design = np.stack([a, b, np.ones_like(a)], 1).astype(np.float64)
    fitted = np.linalg.lstsq(design, unclamped.astype(np.float64) + 0.5, rcond=None)[0][:2]
    for centre in (fitted, lambda: _widest_slab(a, b, unclamped)):
        centre = centre() if callable(centre) else centre
        if centre is None:
            return None
        for shift in shifts:
            form = _pair_search(a, b, unclamped, centre, shift)
            if form is not None and np.array_equal(add_linear(a, b, form, params), exact):
                return form
    return None


def _pair_search(a, b, unclamped, centre, shift) -> AddLinear | None:
    """(k1, k2) within _SEARCH_2D of centre * 2^shift, nearest first, whose offset interval is
    not empty: on a sample of the pairs first, then on all of them; int32 throughout."""
    sample = _SAMPLE
    start1, start2 = (int(round(s * (1 << shift))) for s in centre)
    for d1, d2 in _PAIRS:
        k1, k2 = start1 + d1, start2 + d2
        low, high = _offset_range(unclamped[sample], a[sample] * k1 + b[sample] * k2, shift)
        if low > high:
            continue
        low, high = _offset_range(unclamped, a * k1 + b * k2, shift)
        if low <= high and _fits_int32(a * k1 + b * k2 + low):
            return AddLinear(k1, k2, low, shift)
    return None


def _widest_slab(a, b, unclamped) -> np.ndarray | None:
    """Real slopes (s1, s2) and offset g maximising the margin d with
    unclamped + d <= a s1 + b s2 + g <= unclamped + 1 - d for every pair (linear program);
    the slopes, or None when no positive margin exists (then no integer form can either)."""
    from scipy.optimize import linprog

    t = unclamped.astype(np.float64)
    ones = np.ones_like(t)
    rows = np.concatenate([np.stack([-a, -b, -ones, ones], 1), np.stack([a, b, ones, ones], 1)])
    result = linprog([0, 0, 0, -1], A_ub=rows.astype(np.float64), b_ub=np.concatenate([-t, t + 1]),
                     bounds=[(None, None)] * 3 + [(None, 1)], method="highs")
    if result.status != 0 or result.x[3] <= 0:
        return None
    return result.x[:2]


def _add_unclamped(a: np.ndarray, b: np.ndarray, params: AddParams) -> np.ndarray:
    a_scaled = intops.requantize((a + params.input1_offset) << params.left_shift,
                                 params.input1_multiplier, params.input1_shift)
    b_scaled = intops.requantize((b + params.input2_offset) << params.left_shift,
                                 params.input2_multiplier, params.input2_shift)
    return intops.requantize(a_scaled + b_scaled, params.output_multiplier, params.output_shift) + params.output_offset


def add_linear(a, b, form: AddLinear, params: AddParams) -> np.ndarray:
    """NumPy twin of afkd_add_s8's linear loop (the clamp is ADD's own act_min / act_max)."""
    accumulator = np.asarray(a, np.int64) * form.k1 + np.asarray(b, np.int64) * form.k2 + form.c
    return np.clip(accumulator >> form.shift, params.act_min, params.act_max).astype(np.int8)
