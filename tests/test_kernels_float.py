"""The float32 kernels (for a float build) against plain NumPy float arithmetic."""

from __future__ import annotations

import ctypes as C

import numpy as np
import pytest

from tests.kernel_harness import clib

F = C.c_float
PF = C.POINTER(F)


class DenseF32(C.Structure):
    _fields_ = [("rows", C.c_int32), ("cols", C.c_int32), ("weights", PF), ("bias", PF),
                ("act_min", F), ("act_max", F)]


class DepthwiseF32(C.Structure):
    _fields_ = [("channels", C.c_int32), ("taps", C.c_int32), ("weights", PF), ("bias", PF),
                ("act_min", F), ("act_max", F)]


class DecoderF32(C.Structure):
    _fields_ = [("channels", C.c_int32), ("kernel", C.c_int32), ("stride", C.c_int32),
                ("weights", PF), ("bias", F), ("act_min", F), ("act_max", F)]


class PreluF32(C.Structure):
    _fields_ = [("channels", C.c_int32), ("alpha_per_channel", C.c_int32), ("alpha", PF)]


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    return clib.build(tmp_path_factory.mktemp("afkd_kernels"))


def _f(a):
    return np.ascontiguousarray(a, dtype=np.float32)


def test_pointwise_and_depthwise_f32(lib):
    rng = np.random.default_rng(0)
    w, b, x = _f(rng.standard_normal((5, 7))), _f(rng.standard_normal(5)), _f(rng.standard_normal((4, 7)))
    p = DenseF32(5, 7, clib.ptr(w, F), clib.ptr(b, F), 0.0, np.inf)   # fused ReLU
    out = clib.call_frames(lib.afkd_pointwise_f32, p, x, 5)
    np.testing.assert_allclose(out, np.maximum(x @ w.T + b, 0), rtol=1e-5, atol=1e-6)
    wd, bd, frames = _f(rng.standard_normal((3, 6))), _f(rng.standard_normal(6)), _f(rng.standard_normal((9, 6)))
    pd = DepthwiseF32(6, 3, clib.ptr(wd, F), clib.ptr(bd, F), -np.inf, np.inf)
    out = np.zeros(6, np.float32)
    taps = (PF * 3)(*[clib.ptr(frames[k * 4], F) for k in range(3)])     # dilation 4
    lib.afkd_depthwise_f32(C.byref(pd), taps, clib.ptr(out, F))
    np.testing.assert_allclose(out, sum(frames[k * 4] * wd[k] for k in range(3)) + bd, rtol=1e-5)


def test_decoder_f32_overlap_add(lib):
    rng = np.random.default_rng(1)
    w, frames = _f(rng.standard_normal((16, 4))), _f(rng.standard_normal((6, 4)))
    expected = np.zeros(5 * 8 + 16, np.float32)
    for t in range(6):
        expected[t * 8: t * 8 + 16] += w @ frames[t]
    p = DecoderF32(4, 16, 8, clib.ptr(w, F), 0.25, -np.inf, np.inf)
    tail, out = np.zeros(16, np.float32), np.zeros((7, 8), np.float32)
    stream = _f(np.concatenate([frames, np.zeros((1, 4))]))
    for t in range(7):
        lib.afkd_decoder_f32(C.byref(p), clib.ptr(stream[t], F), clib.ptr(tail, F),
                             clib.ptr(out[t], F))
    np.testing.assert_allclose(out.ravel(), expected + 0.25, rtol=1e-5, atol=1e-5)


def test_elementwise_f32(lib):
    rng = np.random.default_rng(2)
    a, b = _f(rng.standard_normal(50)), _f(rng.standard_normal(50))
    out = np.zeros(50, np.float32)
    lib.afkd_sigmoid_f32(clib.ptr(a, F), clib.ptr(out, F), C.c_int32(50))
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-a)), rtol=1e-6)
    lib.afkd_add_f32(clib.ptr(a, F), clib.ptr(b, F), clib.ptr(out, F), C.c_int32(50), F(-np.inf), F(0.5))
    np.testing.assert_allclose(out, np.minimum(a + b, 0.5), rtol=1e-6)
    lib.afkd_mul_f32(clib.ptr(a, F), clib.ptr(b, F), clib.ptr(out, F), C.c_int32(50), F(-np.inf), F(np.inf))
    np.testing.assert_allclose(out, a * b, rtol=1e-6)
    alpha = _f([0.1, -0.2, 0.3, 0.4, 0.5])
    p = PreluF32(5, 1, clib.ptr(alpha, F))
    frames = _f(rng.standard_normal((10, 5)))
    np.testing.assert_allclose(clib.call_frames(lib.afkd_prelu_f32, p, frames, 5),
                               np.where(frames >= 0, frames, alpha * frames), rtol=1e-6)
