"""Compressed sparse weights are bit-exact: the bitmap-compressed pointwise kernels
(afkd_dense_sparse_s8/_s16, export/intops_sparse.py) against TFLite and TFLM on pruned 1x1
convolutions, and against the dense kernels on the same parameters.

Each case prunes a random 1x1 conv (an all-zero output channel, a 100 % dense one, the rest
at the given sparsity), converts it to int8 or int16x8, and checks the C kernel on every
output encoding the exporter writes (int8: requant_32bit or not; 16x8: (m16, ts), SMMULR
multipliers, int64 bias).
"""

from __future__ import annotations

import ctypes as C

import numpy as np
import pytest

from afkd.export import intops, intops_pack, intops_sparse
from tests.kernel_harness import clib, conv_cases, tflite_ops
from tests.kernel_harness.tflite_ops import assert_same
from tests.test_kernels_conv import LAYOUTS_S16, _dense_params


@pytest.fixture(scope="module", params=["portable", "dsp_emulated"])
def lib(request, tmp_path_factory):
    """The portable C build and the Cortex-M4 one (its output stages' DSP intrinsics on C models)."""
    return clib.build(tmp_path_factory.mktemp("afkd_kernels_sparse"), dsp_emulation=request.param == "dsp_emulated")


def _pruned_pointwise(mode: str, cin: int, cout: int, sparsity: float, relu: bool, seed: int):
    """(case, frames, TFLite's output) of a 1x1 conv pruned by a random mask."""
    model = conv_cases.conv_model("pointwise", cin, cout, relu=relu, seed=seed)
    conv = next(layer for layer in model.layers if layer.get_weights())
    kernel, bias = conv.get_weights()                       # kernel (1, 1, cin, cout)
    mask = np.random.default_rng(seed + 11).random(kernel.shape) >= sparsity
    mask[..., 0] = False                                    # a pruned filter: an all-zero row
    mask[..., 1] = True                                     # a 100 % dense row
    kernel = np.where(np.abs(kernel) < 0.05, 0.05, kernel)  # no weight that int8 rounds to 0 by itself
    conv.set_weights([kernel * mask, bias])
    flatbuffer = tflite_ops.convert(model, mode, seed=seed)
    case = conv_cases.extract(flatbuffer, "pointwise", relu)
    x = tflite_ops.random_input(tflite_ops.input_order(flatbuffer)[0], np.random.default_rng(seed + 1))
    outputs = tflite_ops.run_all(flatbuffer, [x])
    expected = outputs["tflite_ref"]
    assert_same(outputs["tflm"], expected, f"pruned pointwise {mode}: TFLM vs TFLite reference")
    frames = x.reshape(x.shape[2], x.shape[3])
    return case, frames, expected.reshape(frames.shape[0], cout)


def _sparse_params(case, keep, dense, wide: bool):
    """The sparse kernel's parameters: the dense ones' output stage, compressed weights."""
    bitmap, values = intops_sparse.compress(case["weights"])
    fields = {name: getattr(dense, name) for name, *_ in type(dense)._fields_}
    fields.update(weights=None, weights16=None)
    inner = (clib.DenseS16 if wide else clib.DenseS8)(**fields)
    mirror = clib.SparseS16 if wide else clib.SparseS8
    return mirror(dense=inner, bitmap=keep.ptr(bitmap, np.uint32, C.c_uint32),
                  values=keep.ptr(values if values.size else np.zeros(1, np.int8), np.int8, C.c_int8))


@pytest.mark.parametrize("mode", ["int8", "int16"])
@pytest.mark.parametrize("cin,cout,sparsity,relu", [(8, 12, 0.5, False), (40, 9, 0.8, True), (70, 6, 0.3, False)])
def test_sparse_pointwise_matches_tflite_and_the_dense_kernel(lib, mode, cin, cout, sparsity, relu):
    case, frames, expected = _pruned_pointwise(mode, cin, cout, sparsity, relu, seed=cin)
    w = case["weights"]
    assert not w[0].any() and np.count_nonzero(w[1]) == cin  # the zero row and the dense row survived quantization
    assert 0 < np.count_nonzero(w) < w.size
    wide = mode == "int16"
    suffix = "s16" if wide else "s8"
    keep = clib.Keep()
    for layout in LAYOUTS_S16[:2] if wide else ("int8",):     # every output-stage encoding
        dense = _dense_params(case, keep, layout=layout)
        assert_same(clib.call_frames(getattr(lib, f"afkd_pointwise_{suffix}"), dense, frames, cout), expected,
                    f"afkd_pointwise_{suffix} ({layout})")
        sparse = _sparse_params(case, keep, dense, wide)
        assert_same(clib.call_frames(getattr(lib, f"afkd_dense_sparse_{suffix}"), sparse, frames, cout), expected,
                    f"afkd_dense_sparse_{suffix} ({layout} output stage)")
        if not wide:                                           # the slow exact requant as well
            dense.requant_32bit = 0
            sparse = _sparse_params(case, keep, dense, wide)
            assert_same(clib.call_frames(lib.afkd_dense_sparse_s8, sparse, frames, cout), expected,
                        "afkd_dense_sparse_s8 (requant_32bit 0)")


def test_sparse_s16_int64_bias_path(lib):
    """A bias too large for int32 sums: the sparse kernel's int64 path gives TFLite's formula."""
    case, frames, _ = _pruned_pointwise("int16", 40, 9, 0.6, False, seed=3)
    offset = (1 << 31) + 12345
    keep = clib.Keep()
    dense = _dense_params(case, keep, bias_offset=offset)
    assert dense.bias64 and not dense.bias
    bias = (np.zeros(9, np.int64) if case["bias"] is None else case["bias"]).astype(np.int64)
    bias[0] += offset
    expected = intops.pointwise(frames, case["weights"], bias, input_zero_point=case["input_zero_point"],
                                multiplier=case["multiplier"], shift=case["shift"],
                                output_zero_point=case["output_zero_point"], act_min=case["act_min"],
                                act_max=case["act_max"])
    assert_same(clib.call_frames(lib.afkd_dense_sparse_s16, _sparse_params(case, keep, dense, True), frames, 9),
                expected, "afkd_dense_sparse_s16 (int64 bias)")


def test_a_wrong_bitmap_gives_wrong_outputs(lib):
    """The check can fail: one weight moved to another column changes the outputs."""
    case, frames, expected = _pruned_pointwise("int8", 8, 12, 0.5, False, seed=8)
    keep = clib.Keep()
    dense = _dense_params(case, keep)
    moved = dict(case)
    w = case["weights"].copy()
    row = 1                                                    # the dense row: swap two unequal weights
    k = int(np.flatnonzero(w[row] != w[row, 0])[0])
    w[row, 0], w[row, k] = w[row, k], w[row, 0]
    moved["weights"] = w
    actual = clib.call_frames(lib.afkd_dense_sparse_s8, _sparse_params(moved, keep, dense, False), frames, 12)
    assert not np.array_equal(actual, expected)


@pytest.mark.parametrize("rows,cols", [(1, 1), (5, 32), (7, 33), (4, 100)])
def test_compress_round_trips_and_counts_its_bytes(rows, cols):
    rng = np.random.default_rng(rows * cols)
    w = rng.integers(-127, 128, (rows, cols)).astype(np.int8)
    w[rng.random(w.shape) < 0.6] = 0
    w[0] = 0
    bitmap, values = intops_sparse.compress(w)
    assert bitmap.dtype == np.uint32 and bitmap.size == rows * -(-cols // 32)
    assert values.size == np.count_nonzero(w) and not (values == 0).any()
    assert np.array_equal(intops_sparse.expand(bitmap, values, rows, cols), w)
    assert intops_sparse.sparse_bytes(w) == bitmap.nbytes + values.nbytes


def test_sparse_pays_only_when_smaller_than_int8():
    w = np.ones((8, 32), np.int8)
    assert not intops_sparse.sparse_pays(w)                    # dense: 32 + 4 bytes a row
    w[:, :5] = 0                                               # 27 + 4 = 31 < 32
    assert intops_sparse.sparse_pays(w)
    w[:, :4] = 1
    w[:, 4] = 0                                                # 31 + 4 = 35 > 32
    assert not intops_sparse.sparse_pays(w)
