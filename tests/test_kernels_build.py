"""The runtime kernels compile warning-free for the host and for Cortex-M4 (DSP paths),
and the C-side constants agree with export/intops.py."""

from __future__ import annotations

import ctypes as C
import re
import subprocess

import numpy as np
import pytest

from afkd.export import intops
from tests.conftest import require_tool
from tests.kernel_harness import clib

M4_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-O2",
            "-Wall", "-Wextra", "-Werror", "-std=c99"]


def test_every_kernel_declared_in_header():
    header = (clib.RUNTIME / "afkd_kernels.h").read_text()
    for source in clib.kernel_sources():
        assert re.search(rf"\b{source.stem}\(", header), f"{source.name}: not in afkd_kernels.h"


@pytest.mark.slow
def test_cortex_m4_build_uses_dsp(tmp_path, arm_gcc):
    for source in clib.kernel_sources():
        subprocess.run([arm_gcc, *M4_FLAGS, "-I", str(clib.RUNTIME), "-c", str(source),
                        "-o", str(tmp_path / f"{source.stem}.o")], check=True)
    objdump = require_tool("arm-none-eabi-objdump")
    listing = subprocess.run([objdump, "-d", str(tmp_path / "afkd_pointwise_s8.o")],
                             capture_output=True, text=True, check=True).stdout
    assert "smlad" in listing and "sxtb16" in listing, "pointwise_s8 lost its DSP inner loop"


def test_sigmoid_s16_table_matches_intops():
    source = (clib.RUNTIME / "afkd_sigmoid_s16.c").read_text()
    body = source.split("afkd_sigmoid_table_u16[256] = {", 1)[1].split("};", 1)[0]
    assert tuple(int(v) for v in re.findall(r"\d+", body)) == intops.SIGMOID_TABLE_U16


def test_quantize_multiplier_reconstructs_real():
    rng = np.random.default_rng(0)
    for real in np.concatenate([rng.uniform(1e-6, 1.0, 200), rng.uniform(1.0, 100.0, 50)]):
        multiplier, shift = intops.quantize_multiplier(float(real))
        assert 2**30 <= multiplier < 2**31
        assert abs(multiplier * 2.0 ** (shift - 31) - real) <= real * 2.0**-30
    assert intops.quantize_multiplier(0.5) == (2**30, 0)
    assert intops.quantize_multiplier(1.0) == (2**30, 1)


def test_requantize_ties_follow_gemmlowp():
    # M = 1/2 is all in DoublingHighMul, whose nudge (2^30 or 1 - 2^30, then truncation)
    # sends exact halves up: -2.5 -> -2, 2.5 -> 3. A symmetric rounding would fail here.
    m, s = intops.quantize_multiplier(0.5)
    x = np.array([-5, -3, -1, 1, 3, 5])
    assert intops.requantize(x, m, s).tolist() == [-2, -1, 0, 1, 2, 3]
    # M = 1/4 puts the division in RoundingDivideByPOT: ties away from zero.
    m, s = intops.quantize_multiplier(0.25)
    assert intops.requantize(np.array([-6, -2, 2, 6]), m, s).tolist() == [-2, -1, 1, 2]


@pytest.fixture(scope="module")
def requant_lib(tmp_path_factory):
    directory = tmp_path_factory.mktemp("requant")
    source = directory / "requant_shim.c"
    source.write_text('#include "afkd_requant.h"\n'
                      "int32_t shim32(int32_t x, int32_t m, int32_t s)"
                      "{ return afkd_requantize(x, m, s); }\n"
                      "int32_t shim64(int64_t x, int32_t m, int32_t s)"
                      "{ return afkd_requantize64(x, m, s); }\n")
    library = directory / "librequant.so"
    subprocess.run(["gcc", *clib.CFLAGS, "-fPIC", "-shared", "-I", str(clib.RUNTIME),
                    "-o", str(library), str(source)], check=True)
    lib = C.CDLL(str(library))
    lib.shim64.argtypes = [C.c_int64, C.c_int32, C.c_int32]
    return lib


def test_c_requantize_equals_intops(requant_lib):
    rng = np.random.default_rng(1)
    for _ in range(300):
        m, s = intops.quantize_multiplier(float(rng.uniform(1e-5, 0.99)))
        x = int(rng.integers(-(2**31), 2**31))
        m64, s64 = intops.quantize_multiplier(float(rng.uniform(1e-7, 1e-3)))
        x64 = int(rng.integers(-(2**40), 2**40))        # result stays in int32, as TFLite needs
        assert requant_lib.shim32(x, m, s) == int(intops.requantize(x, m, s)), (x, m, s)
        assert requant_lib.shim64(x64, m64, s64) == int(intops.requantize64(x64, m64, s64))
