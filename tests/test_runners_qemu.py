"""The dummy-model firmware on QEMU: netduinoplus2 (stm32f4 board) and mps2-an386.

Outputs against the Python expectation, INFO, instruction counts (exact for a loop of known
length, deterministic run to run, growing with the work), and a fast timeout on silence.
"""

import importlib.util
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from afkd.errors import AfkdError
from afkd.host_tools.runners import open_runner
from afkd.host_tools.runners.qemu import machine_for_elf
from conftest import require_tool

pytestmark = [pytest.mark.arm, pytest.mark.qemu, pytest.mark.slow]

_spec = importlib.util.spec_from_file_location(
    "dummy_build", Path(__file__).parent / "fixtures" / "dummy_model" / "dummy_build.py")
dummy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dummy)

BOARDS = {"stm32f4": ("netduinoplus2", 168_000_000, 3), "mps2_an386": ("mps2-an386", 25_000_000, 6)}

# Only a guard against a hung QEMU: a loaded machine can take seconds per answer at small
# icount shifts, and no test here measures wall time.
TIMEOUT_S = 30


@pytest.fixture(scope="module", params=sorted(BOARDS))
def arm_build(request, tmp_path_factory):
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    build = tmp_path_factory.mktemp(request.param)
    return request.param, dummy.build_dummy(request.param, build) / "firmware.elf"


def test_outputs_info_and_reset(arm_build):
    board, elf = arm_build
    machine, clock_hz, shift = BOARDS[board]
    assert machine_for_elf(elf) == machine
    with open_runner("qemu", elf, timeout_s=TIMEOUT_S) as runner:
        info = runner.info()
        assert (info.target, info.clock_hz, info.model_name, info.hop) == (board, clock_hz, "dummy_int8", 8)
        assert (info.counter_kind, info.icount_shift) == ("qemu_instructions", shift)
        x = dummy.random_samples(20, 1, seed=5)
        aa, va, counts = runner.run(x)
        want_aa, want_va, _ = dummy.expected_outputs(x, 1)
        np.testing.assert_array_equal(aa, want_aa)
        np.testing.assert_array_equal(va, want_va)
        assert counts.shape == (20,) and (counts > 0).all()
        runner.reset()
        np.testing.assert_array_equal(runner.run(x)[0], want_aa)


def test_known_loop_counts_its_instructions(arm_build):
    # The loop body is `subs; bne`: 2 instructions an iteration. The ticks->instructions
    # conversion must recover 2n up to the loop's set-up instruction, at several lengths
    # (a wrong clock or shift would be off by a factor).
    _, elf = arm_build
    with open_runner("qemu", elf, timeout_s=TIMEOUT_S) as runner:
        for iterations in (10, 1000, 100_000, 5_000_000):
            count = runner.calibrate(iterations)
            assert abs(count - 2 * iterations) <= 3, (iterations, count)


@pytest.mark.parametrize("shift", [0, 5])
def test_other_icount_shift_is_detected(arm_build, shift):
    _, elf = arm_build
    with open_runner("qemu", elf, timeout_s=TIMEOUT_S, icount_shift=shift) as runner:
        assert runner.info().icount_shift == shift
        # Coarser ticks at small shifts: one tick is up to 40 instructions (mps2, shift 0).
        assert abs(runner.calibrate(200_000) - 400_000) <= 48


def _counts(elf):
    with open_runner("qemu", elf, timeout_s=TIMEOUT_S) as runner:
        return runner.run(dummy.random_samples(20, 1, seed=9))[2]


@pytest.mark.slow
def test_counts_deterministic_and_scale_with_work(arm_build, tmp_path):
    board, elf = arm_build
    first, second = _counts(elf), _counts(elf)
    np.testing.assert_array_equal(first, second)
    heavy_elf = dummy.build_dummy(board, tmp_path / "heavy", extra_work=50) / "firmware.elf"
    heavy = _counts(heavy_elf)
    # 8 samples * 50 iterations of a loop of at least 3 instructions more per hop.
    extra = heavy.astype(np.int64) - first.astype(np.int64)
    assert (extra >= 8 * 50 * 3).all() and (extra <= 8 * 50 * 12).all(), extra


def test_silent_firmware_gives_afkd_error_fast(tmp_path):
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    firmware = dummy.REPO / "firmware"
    source = tmp_path / "silent.c"
    source.write_text("int main(void) { for (;;) { } }\n")
    elf = tmp_path / "silent.elf"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard",
                    "-mfpu=fpv4-sp-d16", "-O2", "-nostartfiles", "--specs=nano.specs",
                    f"-L{firmware / 'boards' / 'cortex_m'}",
                    f"-T{firmware / 'boards' / 'stm32f4' / 'stm32f4.ld'}", "-o", str(elf),
                    str(source), str(firmware / "boards" / "cortex_m" / "startup_cortex_m.c")],
                   check=True, capture_output=True)
    start = time.monotonic()
    with pytest.raises(AfkdError, match="did not boot"):
        open_runner("qemu", elf, timeout_s=0.5, boot_timeout_s=1.0)
    assert time.monotonic() - start < 4
