"""Firmware-vs-reference comparisons on crafted arrays whose answers are known by construction."""

from __future__ import annotations

import math

import numpy as np
import pytest

from afkd.errors import AfkdError
from afkd.host_tools.compare import (Mismatch, compare_exact, compare_float, compare_streaming, dequantize,
                                     first_mismatching_layer)


def _segments(rng, n_segments=3, length=500):
    return [{"aa": rng.integers(-128, 128, length, dtype=np.int8),
             "va": rng.integers(-128, 128, length, dtype=np.int8)} for _ in range(n_segments)]


def test_equal_outputs_are_bit_exact():
    segs = _segments(np.random.default_rng(0))
    copy = [{k: v.copy() for k, v in s.items()} for s in segs]
    result = compare_exact(copy, segs)
    assert result.bit_exact and result.max_abs_lsb == 0 and result.mismatches == 0
    assert result.first is None
    assert result.samples == 3 * 2 * 500


def test_single_flipped_lsb_is_found_with_its_position():
    expected = _segments(np.random.default_rng(1))
    actual = [{k: v.copy() for k, v in s.items()} for s in expected]
    original = int(expected[1]["va"][123])
    actual[1]["va"][123] = original ^ 1  # flip the least significant bit
    result = compare_exact(actual, expected, segment_ids=["A001", "A002", "A003"])
    assert not result.bit_exact
    assert result.max_abs_lsb == 1 and result.mismatches == 1
    assert result.first == Mismatch("A002", "va", 123, original ^ 1, original)


def test_first_mismatch_is_the_earliest_and_int8_extremes_do_not_wrap():
    expected = {"aa": np.zeros(10, np.int8), "va": np.zeros(10, np.int8)}
    expected["aa"][9] = -128
    actual = {"aa": expected["aa"].copy(), "va": expected["va"].copy()}
    actual["aa"][9] = 127  # 255 LSB apart; int8 arithmetic would wrap to -1
    actual["va"][2] = 5
    result = compare_exact(actual, expected)
    assert result.max_abs_lsb == 255 and result.mismatches == 2
    assert (result.first.output, result.first.index, result.first.actual, result.first.expected) == ("aa", 9, 127, -128)


def test_exact_comparison_rejects_bad_input():
    a = {"aa": np.zeros(4, np.int8)}
    with pytest.raises(AfkdError, match="shape"):
        compare_exact({"aa": np.zeros(5, np.int8)}, a)
    with pytest.raises(AfkdError, match="missing"):
        compare_exact({"va": np.zeros(4, np.int8)}, a)
    with pytest.raises(AfkdError, match="integer"):
        compare_exact({"aa": np.zeros(4, np.float32)}, a)
    with pytest.raises(AfkdError, match="segments"):
        compare_exact([a, a], [a])


def test_first_mismatching_layer_stops_at_the_earliest_layer():
    rng = np.random.default_rng(2)
    layers = {name: rng.integers(-128, 128, (8, 16), dtype=np.int8) for name in ("enc", "tcn0", "tcn1", "mask", "dec")}
    fw = {k: v.copy() for k, v in layers.items()}
    fw["tcn1"][3, 4] += 2
    fw["mask"][0, 0] += 1  # inherited error further down must not be reported first
    result = first_mismatching_layer(fw, layers)
    assert result.first_layer == "tcn1"
    assert result.first.index == 3 * 16 + 4 and result.max_abs_lsb == 2
    assert first_mismatching_layer(layers, layers).bit_exact


def test_dequantize_is_the_tflite_affine_map():
    np.testing.assert_allclose(dequantize(np.array([-128, 0, 127], np.int8), 0.5, -1), [-63.5, 0.5, 64.0])
    with pytest.raises(AfkdError):
        dequantize(np.zeros(3), 0.0, 0)


def test_float_metrics_match_closed_forms():
    n = 1000
    reference = np.full(n, 2.0)
    error = np.where(np.arange(n) % 2 == 0, 0.1, -0.1)
    result = compare_float({"aa": reference + error}, {"aa": reference})
    # SNR = 10 log10(sum 4 / sum 0.01) = 10 log10(400); |error| is 0.1 everywhere.
    assert result.snr_db == pytest.approx(10 * math.log10(400))
    assert result.rmse == pytest.approx(0.1) and result.mae == pytest.approx(0.1)
    assert result.max_abs == pytest.approx(0.1)
    # cosine of (2.1, 1.9, ...) with (2, 2, ...) = 2 (2.1 + 1.9) / (sqrt(2.1^2 + 1.9^2) sqrt(8)) per pair
    assert result.cosine == pytest.approx(8.0 / (math.sqrt(2.1**2 + 1.9**2) * math.sqrt(8)))


def test_float_cosine_of_orthogonal_and_identical_signals():
    assert compare_float({"x": np.array([1.0, 0.0])}, {"x": np.array([0.0, 1.0])}).cosine == pytest.approx(0.0)
    same = compare_float({"x": np.array([1.0, -3.0])}, {"x": np.array([1.0, -3.0])})
    assert same.snr_db == math.inf and same.cosine == pytest.approx(1.0) and same.rmse == 0.0
    halves = compare_float({"x": np.array([1.0, 1.0])}, {"x": np.array([1.0, 0.0])})
    assert halves.cosine == pytest.approx(1 / math.sqrt(2))


def test_float_metrics_pool_segments_and_keep_each_output():
    ref = [{"aa": np.ones(4), "va": np.ones(4)}, {"aa": np.ones(4), "va": np.ones(4)}]
    act = [{"aa": np.ones(4), "va": np.ones(4) * 1.5}, {"aa": np.ones(4), "va": np.ones(4)}]
    result = compare_float(act, ref)
    assert result.samples == 16
    assert result.per_output["aa"]["snr_db"] == math.inf
    assert result.per_output["va"]["mae"] == pytest.approx(0.25)  # 4 of 8 va samples off by 0.5


def test_streaming_equal_or_first_difference():
    one_shot = {"aa": np.arange(100, dtype=np.int16), "va": np.zeros(100, np.int16)}
    assert compare_streaming({k: v.copy() for k, v in one_shot.items()}, one_shot).equal
    streamed = {k: v.copy() for k, v in one_shot.items()}
    streamed["aa"][7] += 3
    result = compare_streaming(streamed, one_shot)
    assert not result.equal and result.max_abs_diff == 3
    assert (result.first.output, result.first.index, result.first.actual, result.first.expected) == ("aa", 7, 10, 7)
    floats = compare_streaming({"aa": np.array([0.5, 0.25])}, {"aa": np.array([0.5, 0.25 + 1e-7])})
    assert not floats.equal and floats.first.index == 1
