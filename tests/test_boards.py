"""Board support and build: ARM images with their side files, the memory maps and the
SysTick->instruction arithmetic (Renode: tests/test_renode.py)."""

import importlib.util
import subprocess
from pathlib import Path

import numpy as np
import pytest

from afkd.export.boards import BOARDS
from conftest import require_tool

_spec = importlib.util.spec_from_file_location(
    "dummy_build", Path(__file__).parent / "fixtures" / "dummy_model" / "dummy_build.py")
dummy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dummy)

FIRMWARE = dummy.REPO / "firmware"
ARM_BOARDS = sorted(name for name in BOARDS if name != "host")
# core -> (Tag_CPU_arch, Tag_FP_arch or None for soft float)
CORES = {"cortex-m4": ("v7E-M", "VFPv4-D16"), "cortex-m7": ("v7E-M", "FPv5/FP-D16 for ARMv8"),
         "cortex-m33": ("v8-M.mainline", "FPv5/FP-D16 for ARMv8"), "cortex-m0plus": ("v6S-M", None)}
# the MEMORY of each board's linker script: (flash start, RAM start); sizes from export/boards.py
ORIGINS = {"mps2_an386": (0x00000000, 0x20000000), "mps2_an500": (0x00000000, 0x20000000),
           "mps2_an505": (0x10000000, 0x38000000)}


@pytest.mark.slow
@pytest.mark.arm
@pytest.mark.parametrize("board", ARM_BOARDS)
def test_arm_build_outputs_and_memory_map(board, tmp_path):
    """Every board builds (each of its UARTs), for its own core, into its own memory map."""
    require_tool("arm-none-eabi-gcc")
    spec = BOARDS[board]
    for uart in spec.uarts:
        build = dummy.build_dummy(board, tmp_path / uart, sample_bytes=2, uart=uart)
    for name in ("firmware.elf", "firmware.bin", "firmware.hex", "firmware.map"):
        assert (build / name).stat().st_size > 0, name
    assert list(build.rglob("*.ci")), "-fcallgraph-info call graphs missing (the stack bound reads them)"
    from elftools.elf.elffile import ELFFile

    flash0, ram0 = ORIGINS.get(board, (0x08000000, 0x20000000))
    with open(build / "firmware.elf", "rb") as stream:
        elf = ELFFile(stream)
        sections = {s.name: s for s in elf.iter_sections()}
        vector = sections[".isr_vector"]
        assert vector["sh_addr"] == flash0
        stack_top, reset = np.frombuffer(vector.data()[:8], "<u4")
        assert stack_top == ram0 + spec.ram_bytes and reset & 1  # Thumb bit set
        for name in (".data", ".bss"):
            assert ram0 <= sections[name]["sh_addr"] < ram0 + spec.ram_bytes
        assert sections[".text"]["sh_addr"] + sections[".text"]["sh_size"] <= flash0 + spec.flash_bytes
    readelf = subprocess.run(["arm-none-eabi-readelf", "-A", str(build / "firmware.elf")],
                             capture_output=True, text=True).stdout
    arch, fp = CORES[spec.core]
    assert f"Tag_CPU_arch: {arch}\n" in readelf
    if fp is None:
        assert "Tag_ABI_VFP_args" not in readelf and "Tag_FP_arch" not in readelf
    else:  # hard-float calling convention recorded by the toolchain flags
        assert "Tag_ABI_VFP_args: VFP registers" in readelf and f"Tag_FP_arch: {fp}" in readelf


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["mps2_an500", "mps2_an505"])
def test_qemu_runs_the_m7_and_m33_boards_bit_exact_with_counts(board, tmp_path):
    require_tool("arm-none-eabi-gcc")
    require_tool("qemu-system-arm")
    from afkd.host_tools.runners import open_runner

    build = dummy.build_dummy(board, tmp_path / board)
    x = dummy.random_samples(6, 1, seed=3)
    want_aa, want_va, _ = dummy.expected_outputs(x, 1)
    with open_runner("qemu", build / "firmware.elf", machine=BOARDS[board].qemu_machine) as runner:
        info = runner.info()
        aa, va, counts = runner.run(x)
    assert (info.target, info.counter_kind, info.clock_hz) == (board, "qemu_instructions", BOARDS[board].clock_hz)
    np.testing.assert_array_equal(aa, want_aa)
    np.testing.assert_array_equal(va, want_va)
    assert np.all(counts > dummy.HOP)


def test_clock_and_uart_choices_are_checked():
    from afkd.errors import AfkdError
    from afkd.export.boards import board_for, clock_for, uart_for

    l476 = board_for("stm32", "stm32l476")
    assert clock_for(l476, None) == 80_000_000 and clock_for(l476, 4_000_000) == 4_000_000
    assert uart_for(l476, None) == "usart2"  # the Nucleo-64's ST-LINK virtual COM port
    with pytest.raises(AfkdError, match="--clock-hz 100000000: board stm32l476 runs at 4000000 or 80000000 Hz"):
        clock_for(l476, 100_000_000)
    with pytest.raises(AfkdError, match="--uart usart3: board stm32l476 talks on usart2, usart1"):
        uart_for(l476, "usart3")
    with pytest.raises(AfkdError, match="--board stm32u585: Renode has no afkd platform"):
        board_for("renode", "stm32u585")
    with pytest.raises(AfkdError, match="--board stm32g071: QEMU does not model it"):
        board_for("qemu", "stm32g071")
    assert board_for("qemu", None).name == "mps2_an386" and board_for("renode", "stm32g071").core == "cortex-m0plus"


def test_every_board_folder_is_registered_and_every_board_has_its_files():
    folders = {p.name for p in (FIRMWARE / "boards").iterdir() if p.is_dir()} - {"cortex_m", "stm32", "__pycache__"}
    assert folders == set(BOARDS)
    for name, spec in BOARDS.items():
        assert (FIRMWARE / "boards" / name / f"board_{name}.c").is_file()
        if name != "host":
            assert (FIRMWARE / "boards" / name / f"{name}.ld").is_file()
            assert (FIRMWARE / "cmake" / spec.toolchain).is_file()


def test_ticks_to_instructions_matches_the_formula(tmp_path):
    """cortex_m_ticks_to_instructions, compiled for the host, against ticks*1e9/(f*2^N)."""
    cases = [(0, 168_000_000, 3), (1, 168_000_000, 3), (1344, 168_000_000, 3),
             (268_800, 168_000_000, 0), (1_600_000, 25_000_000, 6), (40, 25_000_000, 0),
             ((1 << 33) + 12345, 25_000_000, 6), (7, 16_000_000, 10)]
    lines = "\n".join(f"    printf(\"%u\\n\", cortex_m_ticks_to_instructions({t}ull, {f}u, {n}));"
                      for t, f, n in cases)
    main = tmp_path / "main.c"
    main.write_text(f"#include <stdio.h>\n#include \"afkd_cortex_m.h\"\nint main(void) {{\n{lines}\n    return 0;\n}}\n")
    # Only the pure functions are wanted (the conversion and its 64-bit division): cut them out
    # of the file, whose rest touches registers.
    exe = tmp_path / "ticks"
    source = (FIRMWARE / "boards" / "cortex_m" / "afkd_cortex_m_counter.c").read_text()
    function = source[source.index("static uint64_t counter_udiv64"):]
    end = function.index("uint32_t cortex_m_ticks_to_instructions")
    function = function[:end + function[end:].index("\n}\n") + 3]
    lib = tmp_path / "ticks.c"
    lib.write_text("#include <stdint.h>\n#include \"afkd_cortex_m.h\"\n" + function)
    subprocess.run(["gcc", "-O2", "-Wall", f"-I{FIRMWARE / 'boards' / 'cortex_m'}", "-o", str(exe),
                    str(main), str(lib)], check=True, capture_output=True)
    got = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]
    want = [min(int(round(t * 1e9 / (f * 2 ** n))), 2 ** 32 - 1) for t, f, n in cases]
    assert got == want
