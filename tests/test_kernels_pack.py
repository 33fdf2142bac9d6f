"""The firmware's flash encodings (export/intops_pack.py): packed dense weights and the
compact 16x8 output stage must re-encode TFLite's parameters without changing one bit."""

from __future__ import annotations

import numpy as np
import pytest

from afkd.export import intops, intops_pack


@pytest.mark.parametrize("rows,cols", [(32, 32), (7, 13), (4, 3), (1, 1), (9, 20)])
@pytest.mark.parametrize("wide", [False, True])
def test_packed_weights_round_trip(rows, cols, wide):
    w = np.random.default_rng(rows * 100 + cols).integers(-128, 128, (rows, cols)).astype(np.int8)
    packed = intops_pack.pack_dense_weights(w, wide)
    assert packed.dtype == np.int8 and packed.size == w.size
    np.testing.assert_array_equal(intops_pack.unpack_dense_weights(packed, rows, cols, wide), w)


def test_packed_layout_groups_four_rows_per_block():
    """Block 0 holds 4 bytes of each of the first 4 rows; 16x8 swaps the middle two bytes."""
    w = np.arange(8 * 4, dtype=np.int8).reshape(8, 4)
    assert intops_pack.pack_dense_weights(w, wide=False)[:16].tolist() == list(range(16))
    assert intops_pack.pack_dense_weights(w, wide=True)[:4].tolist() == [0, 2, 1, 3]


def test_reduced_multiplier_matches_tflite_rounding():
    multipliers = np.array([1 << 30, (1 << 31) - 1, 0x7FFF0000, 0x7FFEFFFF, 1234567890, 0])
    shifts = np.array([-1, 0, -20, 7, -31, 0])
    m16, ts = intops_pack.reduced_multiplier_s16(multipliers, shifts)
    acc = np.array([123456789, -987654321, 2**40, -(2**46), 77, 5])
    np.testing.assert_array_equal(intops_pack.requantize_s16_reference(acc, m16, ts),
                                  intops.requantize64(acc, multipliers, shifts))


def test_fast_requantize_equals_int64_formula():
    """Every case of the C's 32-bit route (ts < 16, 16..32, > 32) on random and edge accs."""
    rng = np.random.default_rng(7)
    acc = np.concatenate([rng.integers(-(2**31), 2**31, 20000),
                          [-(2**31), 2**31 - 1, 0, 1, -1, 2**30, -(2**30)]])
    for ts in range(8, 47):
        m16 = rng.integers(0, 0x8000, acc.size)
        m16[:3] = [0x7FFF, 0, 1]
        ts_all = np.full(acc.size, ts)
        np.testing.assert_array_equal(intops_pack.requantize_s16_fast(acc, m16, ts_all),
                                      intops_pack.requantize_s16_reference(acc, m16, ts_all), f"ts {ts}")


def test_bias_split_proves_int32_sums_or_keeps_int64():
    small = np.array([5, -7, 0], np.int64)
    assert intops_pack.split_bias_s16(small, 3, 32)[0].dtype == np.int32
    assert intops_pack.split_bias_s16(np.zeros(3, np.int64), 3, 32) == (None, None)
    assert intops_pack.split_bias_s16(None, 3, 32) == (None, None)
    big = np.array([2**31 - 2**27, 0, 0], np.int64)       # + 32 * 2^22 reaches 2^31
    bias32, bias64 = intops_pack.split_bias_s16(big, 3, 32)
    assert bias32 is None and bias64.dtype == np.int64
    _, forced = intops_pack.split_bias_s16(None, 3, 1 << 9)  # 512 * 2^22 = 2^31: int64 even with no bias
    assert forced is not None and not forced.any()


@pytest.mark.parametrize("rows,cols", [(32, 32), (7, 13), (4, 3), (1, 1), (9, 20)])
def test_int16_stored_weights_hold_the_same_values(rows, cols):
    """The 16x8 fast layout: the int8 packing's grouping, natural byte order, int16 values."""
    w = np.random.default_rng(rows * 31 + cols).integers(-128, 128, (rows, cols)).astype(np.int8)
    w16 = intops_pack.pack_dense_weights16(w)
    assert w16.dtype == np.int16 and w16.size == w.size
    narrow = intops_pack.pack_dense_weights(w, wide=False)   # same grouping, natural order
    np.testing.assert_array_equal(w16, narrow.astype(np.int16))


def test_int16_depthwise_weights_pair_channels():
    w = np.arange(3 * 5, dtype=np.int8).reshape(3, 5)       # [K=3][C=5]
    packed = intops_pack.pack_depthwise_weights16(w)
    # pair (0, 1): taps 0..2 of both; ...; channel 4 paired with a zero
    assert packed[:6].tolist() == [0, 1, 5, 6, 10, 11]
    assert packed[-6:].tolist() == [4, 0, 9, 0, 14, 0]
    assert packed.dtype == np.int16 and packed.size == 3 * 6


def test_smmulr_multiplier_equals_the_int64_requant():
    """m16 << (32 - ts) with one SMMULR gives TFLite's (acc * m16 + 2^(ts-1)) >> ts for every
    ts in 16..32; outside that range no such multiplier is made."""
    rng = np.random.default_rng(11)
    acc = np.concatenate([rng.integers(-(2**31), 2**31, 20000), [-(2**31), 2**31 - 1, 0, 1, -1]])
    for ts in range(16, 33):
        m16 = rng.integers(0, 0x8000, acc.size)
        m16[:2] = [0x7FFF, 0]
        m32 = intops_pack.smmulr_multiplier_s16(m16, np.full(acc.size, ts)).astype(np.int64)
        smmulr = (acc * m32 + (1 << 31)) >> 32
        np.testing.assert_array_equal(smmulr, intops_pack.requantize_s16_reference(acc, m16, np.full(acc.size, ts)))
    assert intops_pack.smmulr_multiplier_s16(np.array([5, 5]), np.array([20, 15])) is None
    assert intops_pack.smmulr_multiplier_s16(np.array([5]), np.array([33])) is None


def test_int8_output_stage_form_and_the_branch_free_right_shift():
    """requant_mode_s8 picks the form the C output stage takes (afkd_kernels.h requant_32bit), and
    the right-shift form's formula (afkd_requant.h afkd_requant_right) equals TFLite's requant."""
    bias, shifts_right, shifts_mixed = np.array([100, -50]), np.array([-7, -1]), np.array([-7, 0])
    assert intops_pack.requant_mode_s8(bias, 16, shifts_right, -128, 127) == intops_pack.REQUANT_32BIT_RIGHT_FULL
    assert intops_pack.requant_mode_s8(bias, 16, shifts_right, -100, 127) == intops_pack.REQUANT_32BIT_RIGHT
    assert intops_pack.requant_mode_s8(bias, 16, shifts_mixed, -128, 127) == intops_pack.REQUANT_32BIT
    assert intops_pack.requant_mode_s8(np.array([2**30, 0]), 16, shifts_right, -128, 127) == intops_pack.REQUANT_64BIT
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.integers(-(2**30) + 1, 2**30, 20000), [0, 1, -1, 2**30 - 1, -(2**30) + 1]])
    for down in range(1, 32):
        m = rng.integers(2**30, 2**31, x.size)
        high = (2 * x * m + (1 << 31)) >> 32                       # SMMULR of the doubled value
        fast = (high + (high >> 31) + ((1 << down) >> 1)) >> down  # C: (high + [sign] + half) >> down
        np.testing.assert_array_equal(fast, intops.requantize(x, m, np.full(x.size, -down)), f"down {down}")
