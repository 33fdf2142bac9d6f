"""The kernels' Cortex-M4 DSP paths (SMLAD/SXTB16), run on QEMU mps2-an386: same bits as
export/intops.py, plus instructions per MAC under -icount (printed, for the report); at -O2 and at
-Os, where GCC aligns functions to 2 bytes only (the assembly routines must not care)."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import require_tool
from tests.kernel_harness import clib, m4_cases

FIRMWARE = clib.RUNTIME.parent
FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16",
         "-std=c99", "-Wall", "-Wextra", "-Werror", "-ffunction-sections", "-fdata-sections"]


@pytest.mark.slow
@pytest.mark.parametrize("optimization", ["-O2", "-Os"])  # -Os: afkd export --optimize size
def test_dsp_kernels_on_cortex_m4(tmp_path, arm_gcc, qemu_arm, optimization):
    cases = tmp_path / "m4_cases.c"
    cases.write_text(m4_cases.standard_cases())
    harness = clib.Path(m4_cases.__file__).parent
    sources = [cases, harness / "m4_support.c", FIRMWARE / "boards/cortex_m/startup_cortex_m.c",
               FIRMWARE / "boards/cortex_m/afkd_cortex_m_counter.c", *clib.kernel_sources()]
    elf = tmp_path / "m4_check.elf"
    includes = [f"-I{p}" for p in (clib.RUNTIME, harness, FIRMWARE / "boards/cortex_m",
                                   FIRMWARE / "harness")]
    subprocess.run([arm_gcc, *FLAGS, optimization, *includes, *map(str, sources), "-nostartfiles",
                    "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections",
                    f"-L{FIRMWARE / 'boards/cortex_m'}",
                    f"-T{FIRMWARE / 'boards/mps2_an386/mps2_an386.ld'}", "-o", str(elf), "-lm"],
                   check=True)
    run = subprocess.run([qemu_arm, "-M", "mps2-an386", "-nographic", "-monitor", "none",
                          "-serial", "null", "-semihosting-config", "enable=on,target=native",
                          "-icount", "shift=6,sleep=off", "-kernel", str(elf)],
                         capture_output=True, text=True, timeout=60)
    output = run.stdout + run.stderr               # semihosting text arrives on stderr
    print(output)
    assert "ALL OK" in output and run.returncode == 0, output
