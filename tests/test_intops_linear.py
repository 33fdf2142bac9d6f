"""The exporter's linear forms of int8 PRELU and ADD (export/intops_linear.py): every form it
returns gives TFLite's bits (intops, itself checked against TFLite in test_kernels_elementwise)
on every possible input, and it returns none where it cannot prove one."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from afkd.export import intops, intops_linear

INT8 = np.arange(-128, 128)
PAIRS_A, PAIRS_B = np.repeat(INT8, 256), np.tile(INT8, 256)


def _prelu_cases(count):
    rng = np.random.default_rng(21)
    for _ in range(count):
        yield intops.prelu_params(float(rng.uniform(0.005, 0.05)), int(rng.integers(-60, 60)),
                                  [int(rng.integers(-128, 128))], float(rng.uniform(0.001, 0.01)),
                                  int(rng.integers(-10, 10)), float(rng.uniform(0.004, 0.06)),
                                  int(rng.integers(-60, 60)))


def _add_cases(count):
    rng = np.random.default_rng(22)
    for i in range(count):
        scales = rng.uniform(0.003, 0.05, 3)
        zero_points = rng.integers(-60, 60, 3)
        yield intops.add_params(scales[0], zero_points[0], scales[1], zero_points[1], scales[2], zero_points[2],
                                activation="RELU" if i % 4 == 3 else "NONE")


def test_prelu_forms_give_tflite_bits_on_every_input():
    found = 0
    for params in _prelu_cases(40):
        form = intops_linear.prelu_linear_form(params)
        if form is None:
            continue
        found += 1
        np.testing.assert_array_equal(intops_linear.prelu_linear(INT8, form),
                                      intops.prelu(INT8[:, None], params)[:, 0])
        for k in (form.k_pos, form.k_neg):
            assert abs(k) * 128 + max(abs(form.c_pos), abs(form.c_neg)) < 2**31
    assert found >= 38  # the form nearly always exists; the exporter falls back where not


def test_add_forms_give_tflite_bits_on_every_pair():
    found = 0
    for params in _add_cases(16):
        form = intops_linear.add_linear_form(params)
        if form is None:
            continue
        found += 1
        np.testing.assert_array_equal(intops_linear.add_linear(PAIRS_A, PAIRS_B, form, params),
                                      intops.add(PAIRS_A, PAIRS_B, params))
        assert (abs(form.k1) + abs(form.k2)) * 128 + abs(form.c) < 2**31
    assert found >= 14


def test_the_proof_can_fail():
    """One constant off by a step changes the bits somewhere: the equality checks have teeth."""
    params = next(_prelu_cases(1))
    form = intops_linear.prelu_linear_form(params)
    exact = intops.prelu(INT8[:, None], params)[:, 0]
    for change in ({"c_pos": form.c_pos + (1 << form.shift)}, {"k_neg": form.k_neg + (1 << form.shift)}):
        assert not np.array_equal(intops_linear.prelu_linear(INT8, dataclasses.replace(form, **change)), exact)
    params, form = next((p, f) for p in _add_cases(16) if (f := intops_linear.add_linear_form(p)) is not None)
    shifted = dataclasses.replace(form, c=form.c - (1 << (form.shift - 1)))
    assert not np.array_equal(intops_linear.add_linear(PAIRS_A, PAIRS_B, shifted, params),
                              intops.add(PAIRS_A, PAIRS_B, params))


@pytest.mark.parametrize("shift", [16, 18, 20])
def test_a_chosen_shift_is_kept(shift):
    params = next(_prelu_cases(1))
    assert intops_linear.prelu_linear_form(params, (shift,)).shift == shift


def test_no_form_where_none_can_be_proven():
    per_channel = intops.prelu_params(0.02, 3, [5, -7, 100], 0.004, 0, 0.015, -2)
    assert intops_linear.prelu_linear_form(per_channel) is None
    int16_add = intops.add_params(0.01, 0, 0.013, 0, 0.02, 0, dtype=np.int16)
    assert intops_linear.add_linear_form(int16_add) is None
