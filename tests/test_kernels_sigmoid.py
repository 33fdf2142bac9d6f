"""Sigmoid (LOGISTIC) over its whole input range and many input quantizations.

One-op models built straight from the schema (export/intops_logistic.py) let the tests pick
any input scale, including the power-of-two int16 scale 2^-12 that the 16x8 converter never
produces but TFLite treats as a special case. Every int8 and int16 input value is run
through the TFLite reference kernels, TFLite's default kernels and TFLM.
"""

from __future__ import annotations

import numpy as np
import pytest

from afkd.export import intops
from afkd.export.intops_logistic import logistic_model
from tests.kernel_harness import clib, tflite_ops
from tests.kernel_harness.tflite_ops import assert_same


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    return clib.build(tmp_path_factory.mktemp("afkd_kernels"))


@pytest.mark.parametrize("scale,zero_point", [(0.0625, 0), (0.031, -17), (0.2, 40), (0.004, 5)])
def test_sigmoid_s8_table_all_inputs(lib, scale, zero_point):
    values = np.arange(-128, 128, dtype=np.int8)
    outputs = tflite_ops.run_all(logistic_model(scale, zero_point), [values])
    assert_same(outputs["tflm"], outputs["tflite_ref"], "LOGISTIC int8: TFLM vs TFLite ref")
    assert_same(outputs["tflite_builtin"], outputs["tflite_ref"],
                "LOGISTIC int8: TFLite builtin vs ref")
    table = intops.sigmoid_table_s8(scale, zero_point)
    assert_same(intops.sigmoid_s8(values, table), outputs["tflite_ref"], "intops.sigmoid_s8")
    import ctypes as C

    actual = clib.call_elementwise(lib.afkd_sigmoid_s8, (C.c_int8 * 256)(*table.tolist()), values)
    assert_same(actual, outputs["tflite_ref"], "afkd_sigmoid_s8")


@pytest.mark.parametrize("scale", [2.0**-12, 2.0**-11, 1.0 / 32767, 8.0 / 32767, 1e-5, 0.01])
def test_sigmoid_s16_all_inputs(lib, scale):
    values = np.arange(-32768, 32768, dtype=np.int16)
    chunk = 8192                                  # TFLM's default arena holds this much
    model = logistic_model(scale, 0, size=chunk, int16=True)
    outputs = {}
    for start in range(0, values.size, chunk):
        part = tflite_ops.run_all(model, [values[start:start + chunk]])
        for name, value in part.items():
            outputs.setdefault(name, []).append(value)
    outputs = {name: np.concatenate(parts) for name, parts in outputs.items()}
    assert_same(outputs["tflm"], outputs["tflite_ref"], "LOGISTIC int16: TFLM vs TFLite ref")
    tflite_ops.note_builtin_disagreement(outputs, f"LOGISTIC int16 scale {scale}")
    multiplier, left_shift = intops.sigmoid_params_s16(scale)
    assert_same(intops.sigmoid_s16(values, multiplier, left_shift), outputs["tflite_ref"],
                "intops.sigmoid_s16")
    actual = clib.call_elementwise(lib.afkd_sigmoid_s16,
                                   clib.SigmoidS16(multiplier, left_shift), values)
    assert_same(actual, outputs["tflite_ref"], "afkd_sigmoid_s16")
