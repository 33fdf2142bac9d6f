"""The firmware's front end (ADC counts -> the model's input codes): the generated C equals the
Python fixed-point twin bit for bit, and the twin follows the dataset import (float64
resample_poly + causal 0.01 Hz high-pass, then the model's quantization) within one input step,
on synthetic records at 250/300/360/500/1000 Hz and on real CinC 2017 and MIT-BIH records."""

import subprocess
from pathlib import Path

import numpy as np
import pytest

from afkd.errors import AfkdError
from afkd.export.checks import quantize
from afkd.export.preprocess_fixed import FrontEnd, render
from afkd.training.data.preprocess import preprocess
from afkd.training.data.synth import synthesize_record
from conftest import require_shared_data, require_tool

INT16_SCALE = 0.68e-3  # the shipped int16x8 student's input step (mV)
INT8_SCALE = 19e-3


def _import_path(mv: np.ndarray, fs_in: int, scale: float, zero_point: int, dtype) -> np.ndarray:
    return quantize(preprocess(mv, fs_in, 250), scale, zero_point, dtype).astype(np.int64)


def _compare(spec: FrontEnd, counts: np.ndarray, mv: np.ndarray) -> tuple[int, float]:
    """(largest difference in input steps, share of samples that differ) twin vs import."""
    dtype = np.int8 if spec.sample_bytes == 1 else np.int16
    twin = spec.run(counts).astype(np.int64)
    reference = _import_path(mv, spec.fs_in, spec.input_scale, spec.input_zero_point, dtype)
    # The twin's stream is the import's, delay_samples later: it ends that much earlier.
    assert twin.size == reference.size - spec.delay_samples
    difference = twin - reference[: twin.size]
    return int(np.abs(difference).max()), float(np.count_nonzero(difference) / difference.size)


@pytest.mark.parametrize("fs_in", [250, 300, 360, 500, 1000])
@pytest.mark.parametrize("scale, zero_point, sample_bytes", [(INT16_SCALE, 0, 2), (INT8_SCALE, -3, 1)])
def test_twin_follows_the_import_within_one_input_step(fs_in, scale, zero_point, sample_bytes):
    record = synthesize_record(3, 20.0, fs_in, 11)["ecg"].astype(np.float64) + 2.0  # with a DC offset
    gain, offset = 0.0025, 2048  # a 2.5 uV/count ADC reading 0 mV at mid-scale
    counts = np.round(record / gain).astype(np.int64) + offset
    spec = FrontEnd(fs_in, 250, gain, offset, scale, zero_point, sample_bytes)
    worst, share = _compare(spec, counts, (counts - offset) * gain)
    assert worst <= 1 and share < 0.05, (worst, share)
    assert spec.delay_samples == (0 if fs_in == 250 else 10)


def test_twin_follows_the_import_on_real_records(shared_data):
    """Raw ADC counts as the recorders stored them: CinC 2017 (AliveCor, 300 Hz, 1000 counts/mV)
    and MIT-BIH 100 (360 Hz, 200 counts/mV around 1024)."""
    import wfdb

    from afkd.training.data.wfdb_io import open_record

    for path in (shared_data / "cinc2017" / "A00001", shared_data / "mitdb" / "100"):
        require_shared_data(*path.relative_to(shared_data).parent.parts)
        with open_record(path) as (_, readable):  # CinC headers need afkd's tolerant reading
            record = wfdb.rdrecord(str(readable), physical=False, channels=[0])
        counts = record.d_signal[:, 0].astype(np.int64)[: 60 * record.fs]
        gain, baseline = float(record.adc_gain[0]), int(record.baseline[0])
        spec = FrontEnd(int(record.fs), 250, 1.0 / gain, baseline, INT16_SCALE, 0, 2)
        worst, share = _compare(spec, counts, (counts - baseline) / gain)
        assert worst <= 1 and share < 0.05, (path.name, worst, share)


def _build_c(spec: FrontEnd, folder) -> "Path":  # noqa: F821
    folder.mkdir()
    for name, text in render(spec, "dtfe", "test.tflite").items():
        (folder / name).write_text(text)
    ctype = "int8_t" if spec.sample_bytes == 1 else "int16_t"
    (folder / "main.c").write_text(f"""#include <stdio.h>
#include "dtfe_preprocess.h"
int main(void)
{{
    dtfe_preprocess_state state;
    dtfe_preprocess_init(&state);
    long count;
    {ctype} out[4];
    while (scanf("%ld", &count) == 1) {{
        const int n = dtfe_preprocess_push(&state, (int32_t)count, out);
        for (int i = 0; i < n; ++i) printf("%d\\n", out[i]);
    }}
    return 0;
}}
""")
    program = folder / "front_end"
    subprocess.run(["gcc", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", str(program), str(folder / "main.c"),
                    str(folder / "dtfe_preprocess.c")], check=True, capture_output=True)
    return program


@pytest.mark.parametrize("fs_in, sample_bytes", [(250, 2), (300, 2), (360, 1), (500, 2), (1000, 1)])
def test_generated_c_equals_the_twin_bit_for_bit(fs_in, sample_bytes, tmp_path):
    require_tool("gcc")
    spec = FrontEnd(fs_in, 250, 0.005, -100, INT16_SCALE if sample_bytes == 2 else INT8_SCALE, 0, sample_bytes)
    program = _build_c(spec, tmp_path / "c")
    rng = np.random.default_rng(fs_in)
    counts = -100 + np.cumsum(rng.integers(-80, 81, 30 * fs_in))  # a random walk: wander and steps
    counts[1000:1020] = (1 << 24) - 1   # clipping both ways
    counts[2000:2020] = -(1 << 24)
    out = subprocess.run([str(program)], input="\n".join(map(str, counts)), capture_output=True, text=True,
                         check=True).stdout
    np.testing.assert_array_equal(np.array(out.split(), dtype=np.int64), spec.run(counts).astype(np.int64))


def test_arm_m0plus_build_of_the_front_end_is_clean(tmp_path):
    """No FPU, no 64-bit divide: the M0+ compiles it warning-free (64-bit multiplies, shifts)."""
    require_tool("arm-none-eabi-gcc")
    spec = FrontEnd(360, 250, 0.005, 1024, INT16_SCALE, 0, 2)
    for name, text in render(spec, "dtfe", "test.tflite").items():
        (tmp_path / name).write_text(text)
    result = subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m0plus", "-mthumb", "-O2", "-std=c11", "-Wall",
                             "-Wextra", "-Werror", "-c", str(tmp_path / "dtfe_preprocess.c"), "-o",
                             str(tmp_path / "pre.o")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    symbols = subprocess.run(["arm-none-eabi-nm", str(tmp_path / "pre.o")], capture_output=True, text=True).stdout
    assert "__aeabi_ldivmod" not in symbols and "__aeabi_d" not in symbols and "__aeabi_f" not in symbols


@pytest.mark.parametrize("kwargs, message", [
    ({"fs_in": 200}, "below the model's 250 Hz"),
    ({"gain_mv": 0.0}, "--adc-gain-mv 0.0: outside"),
    ({"offset_counts": 1 << 25}, "--adc-offset 33554432: outside"),
])
def test_bad_front_ends_are_refused(kwargs, message):
    values = {"fs_in": 500, "fs_out": 250, "gain_mv": 0.001, "offset_counts": 0, "input_scale": INT16_SCALE,
              "input_zero_point": 0, "sample_bytes": 2, **kwargs}
    with pytest.raises(AfkdError, match=message):
        FrontEnd(**values)
