"""Compile firmware/runtime's kernels on the host into a shared library and call them.

The ctypes structures mirror firmware/runtime/afkd_kernels.h field for field; :data:`MIRRORS`
names the C type of each, and :func:`probe_layouts` compiles a probe that prints the C sizes
and offsets, which tests/test_kernel_structs.py compares with ctypes'.
"""

from __future__ import annotations

import ctypes as C
import subprocess
from pathlib import Path

import numpy as np

RUNTIME = Path(__file__).resolve().parents[2] / "firmware" / "runtime"
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2"]


def kernel_sources() -> list[Path]:
    """The afkd_<op>_<dtype>.c kernel files (not the protocol/crc sources)."""
    return sorted(p for p in RUNTIME.glob("afkd_*_*.c")
                  if p.stem.rsplit("_", 1)[-1] in ("s8", "s16"))


def build(out_dir: Path, dsp_emulation: bool = False) -> C.CDLL:
    """Host build; with dsp_emulation the __ARM_FEATURE_DSP loops run on C models of the
    intrinsics (tests/kernel_harness/dsp_emulation.h)."""
    library = Path(out_dir) / ("libafkd_kernels_dsp.so" if dsp_emulation else "libafkd_kernels.so")
    extra = (["-I", str(Path(__file__).parent), '-DAFKD_DSP_EMULATION="dsp_emulation.h"']
             if dsp_emulation else [])
    subprocess.run(["gcc", *CFLAGS, *extra, "-fPIC", "-shared", "-o", str(library),
                    *map(str, kernel_sources()), "-lm"], check=True)
    return C.CDLL(str(library))


i32, i64, P = C.c_int32, C.c_int64, C.POINTER


class DenseS8(C.Structure):
    _fields_ = [("rows", i32), ("cols", i32), ("weights", P(C.c_int8)), ("bias", P(i32)),
                ("multiplier", P(i32)), ("shift", P(i32)), ("output_offset", i32),
                ("act_min", i32), ("act_max", i32), ("requant_32bit", i32),
                ("weights16", P(C.c_int16))]


class DenseS16(C.Structure):
    _fields_ = [("rows", i32), ("cols", i32), ("weights", P(C.c_int8)), ("bias", P(i32)),
                ("bias64", P(i64)), ("multiplier", P(C.c_int16)), ("shift", P(C.c_uint8)),
                ("act_min", i32), ("act_max", i32), ("multiplier32", P(i32)),
                ("weights16", P(C.c_int16))]


class SparseS8(C.Structure):
    _fields_ = [("dense", DenseS8), ("bitmap", P(C.c_uint32)), ("values", P(C.c_int8))]


class SparseS16(C.Structure):
    _fields_ = [("dense", DenseS16), ("bitmap", P(C.c_uint32)), ("values", P(C.c_int8))]


class DepthwiseS8(C.Structure):
    _fields_ = [("channels", i32), ("taps", i32), ("weights", P(C.c_int8)), ("bias", P(i32)),
                ("multiplier", P(i32)), ("shift", P(i32)), ("output_offset", i32),
                ("act_min", i32), ("act_max", i32), ("requant_32bit", i32)]


class DepthwiseS16(C.Structure):
    _fields_ = [("channels", i32), ("taps", i32), ("weights", P(C.c_int8)), ("bias", P(i32)),
                ("bias64", P(i64)), ("multiplier", P(C.c_int16)), ("shift", P(C.c_uint8)),
                ("act_min", i32), ("act_max", i32), ("multiplier32", P(i32)),
                ("weights16", P(C.c_int16))]


def wide_stage(keep: "Keep", bias, multiplier, shift, rows: int, terms: int, smmulr: bool = False) -> dict:
    """The 16x8 output-stage fields (export/intops_pack.py encodings) of DenseS16/DepthwiseS16:
    (m16, ts), or with smmulr the one-int32 form where it applies, as the exporter writes it."""
    from afkd.export import intops_pack

    bias32, bias64 = intops_pack.split_bias_s16(bias, rows, terms)
    m16, ts = intops_pack.reduced_multiplier_s16(multiplier, shift)
    m32 = intops_pack.smmulr_multiplier_s16(m16, ts) if smmulr and bias64 is None else None
    fields = dict(bias=None if bias32 is None else keep.ptr(bias32, np.int32, C.c_int32),
                  bias64=None if bias64 is None else keep.ptr(bias64, np.int64, C.c_int64))
    if m32 is not None:
        return dict(fields, multiplier32=keep.ptr(m32, np.int32, C.c_int32))
    return dict(fields, multiplier=keep.ptr(m16, np.int16, C.c_int16), shift=keep.ptr(ts, np.uint8, C.c_uint8))


class DecoderS8(C.Structure):
    _fields_ = [("channels", i32), ("kernel", i32), ("stride", i32), ("weights", P(C.c_int8)),
                ("tap_offset", P(i32)), ("bias", i32), ("multiplier", i32), ("shift", i32),
                ("output_offset", i32), ("act_min", i32), ("act_max", i32)]


class DecoderS16(C.Structure):
    _fields_ = [("channels", i32), ("kernel", i32), ("stride", i32), ("weights", P(C.c_int8)),
                ("bias", i64), ("multiplier", i32), ("shift", i32), ("act_min", i32),
                ("act_max", i32), ("weights16", P(C.c_int16)), ("multiplier32", i32)]


class PreluS8(C.Structure):
    _fields_ = [("channels", i32), ("alpha_per_channel", i32), ("alpha", P(C.c_int16)),
                ("input_offset", i32), ("output_offset", i32), ("multiplier_pos", i32),
                ("shift_pos", i32), ("multiplier_neg", i32), ("shift_neg", i32),
                ("linear_shift", i32), ("linear_threshold", i32), ("linear_k_pos", i32), ("linear_c_pos", i32),
                ("linear_k_neg", i32), ("linear_c_neg", i32)]


class SigmoidS16(C.Structure):
    _fields_ = [("input_multiplier", i32), ("input_left_shift", i32)]


class AddParams(C.Structure):
    _fields_ = [(name, i32) for name in (
        "input1_offset", "input2_offset", "output_offset", "left_shift", "input1_multiplier",
        "input1_shift", "input2_multiplier", "input2_shift", "output_multiplier",
        "output_shift", "act_min", "act_max")]


class AddS8Params(C.Structure):
    _fields_ = [("tflite", AddParams)] + [(name, i32) for name in ("linear_k1", "linear_k2", "linear_c", "linear_shift")]


def add_params_for(params, dtype, form=None):
    """The ctypes parameters of afkd_add_s8 (int8: TFLite's and the linear form's, if given)
    or afkd_add_s16 for an intops.AddParams."""
    tflite = AddParams(**params.__dict__)
    if np.dtype(dtype) != np.int8:
        return tflite
    linear = {f"linear_{name}": getattr(form, name) for name in form.__dataclass_fields__} if form else {}
    return AddS8Params(tflite=tflite, **linear)


class MulParams(C.Structure):
    _fields_ = [(name, i32) for name in (
        "input1_offset", "input2_offset", "output_offset", "output_multiplier", "output_shift",
        "act_min", "act_max")]


class ConvS8(C.Structure):
    _fields_ = [("out_steps", i32), ("step_values", i32), ("dense", DenseS8)]


class ConvS16(C.Structure):
    _fields_ = [("out_steps", i32), ("step_values", i32), ("dense", DenseS16)]


class MaxPool(C.Structure):
    _fields_ = [(name, i32) for name in ("channels", "pool", "stride", "out_steps", "act_min", "act_max")]


class Mean(C.Structure):
    _fields_ = [(name, i32) for name in ("count", "input_zero_point", "output_zero_point", "multiplier", "shift")]
#: ctypes mirror -> the C parameter type it stands for (every field checked against a compiled probe).
MIRRORS = {"DenseS8": "afkd_dense_s8_params", "DenseS16": "afkd_dense_s16_params",
           "SparseS8": "afkd_sparse_s8_params", "SparseS16": "afkd_sparse_s16_params",
           "DepthwiseS8": "afkd_depthwise_s8_params", "DepthwiseS16": "afkd_depthwise_s16_params",
           "DecoderS8": "afkd_decoder_s8_params", "DecoderS16": "afkd_decoder_s16_params",
           "PreluS8": "afkd_prelu_s8_params", "SigmoidS16": "afkd_sigmoid_s16_params",
           "AddParams": "afkd_add_params", "AddS8Params": "afkd_add_s8_params", "MulParams": "afkd_mul_params",
           "ConvS8": "afkd_conv_s8_params", "ConvS16": "afkd_conv_s16_params",
           "MaxPool": "afkd_max_pool_params", "Mean": "afkd_mean_params"}


def probe_layouts(out_dir: Path, structures: dict[str, tuple[str, type]]) -> dict[str, dict[str, int]]:
    """{label: {"sizeof": n, field: offset, ...}} as the host C compiler lays out each C type
    ``structures[label][0]`` for the field names of the ctypes class ``structures[label][1]``."""
    lines = ["#include <stddef.h>", "#include <stdio.h>", '#include "afkd_kernels.h"', "int main(void)", "{"]
    for label, (c_type, mirror) in structures.items():
        lines.append(f'    printf("{label} sizeof %zu\\n", sizeof({c_type}));')
        for name, *_ in mirror._fields_:
            lines.append(f'    printf("{label} {name} %zu\\n", offsetof({c_type}, {name}));')
    lines += ["    return 0;", "}"]
    source = Path(out_dir) / "layout_probe.c"
    source.write_text("\n".join(lines) + "\n")
    program = Path(out_dir) / "layout_probe"
    subprocess.run(["gcc", *CFLAGS, "-I", str(RUNTIME), "-o", str(program), str(source)], check=True)
    layouts: dict[str, dict[str, int]] = {}
    for line in subprocess.run([str(program)], capture_output=True, text=True, check=True).stdout.splitlines():
        label, name, value = line.split()
        layouts.setdefault(label, {})[name] = int(value)
    return layouts


class Keep:
    """Holds NumPy arrays alive while C structures point into them."""

    def __init__(self):
        self.arrays = []

    def ptr(self, values, dtype, ctype):
        array = np.ascontiguousarray(values, dtype=dtype)
        self.arrays.append(array)
        return array.ctypes.data_as(P(ctype))


def ptr(array: np.ndarray, ctype):
    return array.ctypes.data_as(P(ctype))


CTYPE = {np.dtype(np.int8): C.c_int8, np.dtype(np.int16): C.c_int16,
         np.dtype(np.int32): C.c_int32, np.dtype(np.int64): C.c_int64}


def call_frames(function, params, frames: np.ndarray, out_channels: int) -> np.ndarray:
    """Call a one-frame kernel f(&params, in, out) on each row of frames (T, Cin)."""
    frames = np.ascontiguousarray(frames)
    out = np.zeros((frames.shape[0], out_channels), frames.dtype)
    ctype = CTYPE[frames.dtype]
    for t in range(frames.shape[0]):
        function(C.byref(params), ptr(frames[t], ctype), ptr(out[t], ctype))
    return out


def call_elementwise(function, params, *arrays) -> np.ndarray:
    """Call f([&params,] in..., out, n) on flat arrays of one dtype."""
    arrays = [np.ascontiguousarray(a).ravel() for a in arrays]
    out = np.zeros_like(arrays[0])
    ctype = CTYPE[out.dtype]
    head = [] if params is None else [params if isinstance(params, C.Array)
                                      else C.byref(params)]
    function(*head, *[ptr(a, ctype) for a in arrays], ptr(out, ctype), i32(out.size))
    return out
