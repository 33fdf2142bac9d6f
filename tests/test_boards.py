"""Board support and build: ARM images with their side files, the memory maps, the
SysTick->instruction arithmetic, and the Renode files."""

import importlib.util
import subprocess
from pathlib import Path

import numpy as np
import pytest

from afkd import protocol as proto
from conftest import require_renode, require_tool

_spec = importlib.util.spec_from_file_location(
    "dummy_build", Path(__file__).parent / "fixtures" / "dummy_model" / "dummy_build.py")
dummy = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dummy)

FIRMWARE = dummy.REPO / "firmware"
# board -> (flash start, flash size, RAM start, RAM size)
MEMORY = {"stm32f4": (0x08000000, 1 << 20, 0x20000000, 128 << 10),
          "mps2_an386": (0x00000000, 4 << 20, 0x20000000, 4 << 20)}


@pytest.mark.slow
@pytest.mark.arm
@pytest.mark.parametrize("board", sorted(MEMORY))
def test_arm_build_outputs_and_memory_map(board, tmp_path):
    require_tool("arm-none-eabi-gcc")
    build = dummy.build_dummy(board, tmp_path / board, sample_bytes=2)
    for name in ("firmware.elf", "firmware.bin", "firmware.hex", "firmware.map"):
        assert (build / name).stat().st_size > 0, name
    assert list(build.rglob("*.ci")), "-fcallgraph-info call graphs missing (the stack bound reads them)"
    from elftools.elf.elffile import ELFFile

    flash0, flash_size, ram0, ram_size = MEMORY[board]
    with open(build / "firmware.elf", "rb") as stream:
        elf = ELFFile(stream)
        attributes = elf.get_section_by_name(".ARM.attributes").data()
        sections = {s.name: s for s in elf.iter_sections()}
        vector = sections[".isr_vector"]
        assert vector["sh_addr"] == flash0
        stack_top, reset = np.frombuffer(vector.data()[:8], "<u4")
        assert stack_top == ram0 + ram_size and reset & 1  # Thumb bit set
        for name in (".data", ".bss"):
            assert ram0 <= sections[name]["sh_addr"] < ram0 + ram_size
        assert sections[".text"]["sh_addr"] + sections[".text"]["sh_size"] <= flash0 + flash_size
    assert b"Cortex-M4" in attributes or b"7E-M" in attributes
    # Hard-float calling convention (Tag_ABI_VFP_args) recorded by the toolchain flags.
    readelf = subprocess.run(["arm-none-eabi-readelf", "-A", str(build / "firmware.elf")],
                             capture_output=True, text=True).stdout
    assert "Tag_ABI_VFP_args: VFP registers" in readelf and "VFPv4-D16" in readelf


def test_ticks_to_instructions_matches_the_formula(tmp_path):
    """cortex_m_ticks_to_instructions, compiled for the host, against ticks*1e9/(f*2^N)."""
    cases = [(0, 168_000_000, 3), (1, 168_000_000, 3), (1344, 168_000_000, 3),
             (268_800, 168_000_000, 0), (1_600_000, 25_000_000, 6), (40, 25_000_000, 0),
             ((1 << 33) + 12345, 25_000_000, 6), (7, 16_000_000, 10)]
    lines = "\n".join(f"    printf(\"%u\\n\", cortex_m_ticks_to_instructions({t}ull, {f}u, {n}));"
                      for t, f, n in cases)
    main = tmp_path / "main.c"
    main.write_text(f"#include <stdio.h>\n#include \"afkd_cortex_m.h\"\nint main(void) {{\n{lines}\n    return 0;\n}}\n")
    # Only the pure function is wanted: cut it out of the file, whose rest touches registers.
    exe = tmp_path / "ticks"
    source = (FIRMWARE / "boards" / "cortex_m" / "afkd_cortex_m_counter.c").read_text()
    function = source[source.index("uint32_t cortex_m_ticks_to_instructions"):]
    function = function[:function.index("\n}\n") + 3]
    lib = tmp_path / "ticks.c"
    lib.write_text("#include <stdint.h>\n#include \"afkd_cortex_m.h\"\n" + function)
    subprocess.run(["gcc", "-O2", "-Wall", f"-I{FIRMWARE / 'boards' / 'cortex_m'}", "-o", str(exe),
                    str(main), str(lib)], check=True, capture_output=True)
    got = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout.split()]
    want = [min(int(round(t * 1e9 / (f * 2 ** n))), 2 ** 32 - 1) for t, f, n in cases]
    assert got == want


def _fake_info():
    return proto.FirmwareInfo(proto.PROTOCOL_VERSION, 1, 8, 24, 168_000_000, "dwt_cycles", None, 256, 16, 0,
                              "dummy_int8", "0123456789abcdef", "stm32f4")


def test_renode_files_render_offline(tmp_path):
    from afkd.host_tools.runners.renode import REPL, render_resc, render_robot

    repl = REPL.read_text()
    assert "ApplySVD" not in repl and "http" not in repl
    assert "Miscellaneous.DWT @ sysbus 0xE0001000" in repl and "0x40011000" in repl
    resc = render_resc(tmp_path / "firmware.elf", 4567)
    assert "CreateServerSocketTerminal 4567" in resc and "connector Connect sysbus.usart1" in resc
    assert str(tmp_path / "firmware.elf") in resc
    x = dummy.random_samples(1, 1, seed=4)
    aa, va, _ = dummy.expected_outputs(x, 1)
    robot = render_robot(tmp_path / "firmware.elf", _fake_info(), x, aa, va)
    assert "{{" not in robot
    record = (aa.tobytes() + va.tobytes()).hex(" ")
    assert record in robot  # the expected hop travels into the test


@pytest.mark.renode
def test_renode_runs_the_dummy_firmware(tmp_path):
    require_renode()
    require_tool("arm-none-eabi-gcc")
    from afkd.host_tools.runners import open_runner

    build = dummy.build_dummy("stm32f4", tmp_path / "stm32f4")
    with open_runner("renode", build / "firmware.elf", timeout_s=20) as runner:
        assert runner.info().counter_kind == "dwt_cycles"
        x = dummy.random_samples(4, 1, seed=6)
        aa, va, counts = runner.run(x)
        want_aa, want_va, _ = dummy.expected_outputs(x, 1)
        np.testing.assert_array_equal(aa, want_aa)
        np.testing.assert_array_equal(va, want_va)
