"""Footprint from real ARM ELF + map + .ci call graphs built here, checked against what the sources declare."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from afkd.errors import AfkdError
from afkd.host_tools.footprint import FootprintRules, analyze, parse_map
from conftest import require_tool

CFLAGS = ["-mcpu=cortex-m4", "-mthumb", "-O1", "-ffunction-sections", "-fdata-sections", "-fcallgraph-info=su"]
W0, W1, STATE, SCRATCH, GAIN, SHIFT = 300, 100, 256, 32 * 4, 4 * 4, 8 * 4  # bytes declared below

SOURCES = {
    "gen/model_weights.c": f"""#include <stdint.h>
const int8_t tst_w_conv0[{W0}] = {{1}};
const int8_t tst_weights_fc[{W1}] = {{2}};
""",
    "gen/model.c": f"""#include <stdint.h>
extern const int8_t tst_w_conv0[{W0}]; extern const int8_t tst_weights_fc[{W1}];
int8_t tst_state[{STATE}];
int32_t tst_scratch[{SCRATCH // 4}];
int32_t tst_gain[{GAIN // 4}] = {{1, 2, 3, 4}};
static const int32_t tst_layer_shift[{SHIFT // 4}] = {{1, 2, 3, 4, 5, 6, 7, 8}};
int kern(const int8_t *w, int n, int8_t *s);
void tst_model_step(int8_t *in) {{
  volatile int32_t buf[8]; buf[0] = in[0] * tst_gain[in[1] & 3] + tst_layer_shift[in[2] & 7];
  tst_scratch[0] = kern(tst_w_conv0, {W0}, tst_state) + kern(tst_weights_fc, {W1}, tst_state) + buf[0];
}}
""",
    "runtime/afkd_protocol.c": """int afkd_proto_frame(int x) { return x * 3 + 1; }
""",
    "runtime/afkd_kern.c": """#include <stdint.h>
int kern(const int8_t *w, int n, int8_t *s) {
  volatile int8_t tmp[40]; int acc = 0;
  for (int i = 0; i < n; i++) { tmp[i % 40] = w[i]; acc += tmp[i % 40] * s[i % 256]; }
  return acc;
}
""",
}
HARNESS = """#include <stdint.h>
#include <stdlib.h>
void tst_model_step(int8_t *in);
int afkd_proto_frame(int x);
static int8_t input[4];
__attribute__((noinline)) void harness_run(void) { volatile char b[64]; b[0] = (char)afkd_proto_frame(1); tst_model_step(input); %s }
int main(void) { for (;;) harness_run(); }
"""
BOARD_MAIN = """#include <stdint.h>
void tst_model_step(int8_t *in);
static int8_t input[4];
__attribute__((noinline)) void harness_run(void) { volatile char b[64]; b[0] = 1; tst_model_step(input); }
int main(void) { for (;;) harness_run(); }
void Reset_Handler(void) { main(); }
__attribute__((section(".isr_vector"), used)) void (*const vectors[2])(void) = {0, Reset_Handler};
"""
BOARD_LD = """MEMORY { FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 64K
         RAM (xrw) : ORIGIN = 0x20000000, LENGTH = 16K }
_Min_Heap_Size = 0x400;
_Min_Stack_Size = 0x800;
ENTRY(Reset_Handler)
SECTIONS {
  .isr_vector : { KEEP(*(.isr_vector)) } >FLASH
  .text : { *(.text*) *(.rodata*) } >FLASH
  .data : { *(.data*) } >RAM AT> FLASH
  .bss (NOLOAD) : { *(.bss*) *(COMMON) } >RAM
  ._user_heap_stack (NOLOAD) : { . = ALIGN(8); . = . + _Min_Heap_Size; . = . + _Min_Stack_Size; } >RAM
}
"""
RULES = FootprintRules(weight_symbols=r"^tst_(w|weights)_", state_symbols=r"^tst_state")


def _build(tmp: Path, main_c: str, link: list[str]) -> tuple[Path, Path, list[Path]]:
    gcc = require_tool("arm-none-eabi-gcc")
    objects = []
    for rel, text in {**SOURCES, "main.c": main_c}.items():
        (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp / rel).write_text(text)
        obj = rel.replace(".c", ".o")
        subprocess.run([gcc, *CFLAGS, "-c", rel, "-o", obj], cwd=tmp, check=True)
        objects.append(obj)
    subprocess.run([gcc, "-mcpu=cortex-m4", "-mthumb", *link, "-Wl,--gc-sections", "-Wl,-Map=fw.map",
                    *objects, "-o", "fw.elf"], cwd=tmp, check=True)
    return tmp / "fw.elf", tmp / "fw.map", sorted(tmp.rglob("*.ci"))


def _berkeley_size(elf: Path) -> tuple[int, int, int]:
    """(text, data, bss) as arm-none-eabi-size prints them: an oracle independent of our parser."""
    out = subprocess.run([require_tool("arm-none-eabi-size"), str(elf)], capture_output=True, text=True, check=True)
    text, data, bss = out.stdout.splitlines()[1].split()[:3]
    return int(text), int(data), int(bss)


def _ci_frames(paths: list[Path]) -> dict[str, int]:
    from afkd.host_tools.stack_usage import read_callgraph

    graph = read_callgraph(paths)
    return {graph.names[t]: size for t, (size, _) in graph.frames.items()}


def test_split_of_a_newlib_program_matches_its_sources(tmp_path):
    elf, map_file, su = _build(tmp_path, HARNESS % "", ["--specs=nano.specs", "--specs=nosys.specs"])
    fp = analyze(elf, map_file, su, RULES)
    text, data, bss = _berkeley_size(elf)
    assert fp.flash_bytes == text + data and fp.static_ram_bytes == data + bss
    assert sum(fp.flash.values()) == fp.flash_bytes and sum(fp.ram.values()) == fp.ram_bytes
    assert fp.flash["weights"] == W0 + W1 + SHIFT  # named arrays + the generated object's other const data
    assert fp.ram["model_state"] == STATE and fp.ram["scratch"] == SCRATCH
    assert fp.flash["libc"] > 0  # crt0, atexit, memset... come from the toolchain
    # the UART protocol code is afkd's test harness, not part of what the model costs
    assert fp.flash["harness"] > 0 and fp.flash["runtime"] > 0
    assert fp.model_flash_bytes == fp.flash["weights"] + fp.flash["generated_code"] + fp.flash["runtime"]
    assert fp.to_dict()["model_flash_bytes"] == fp.model_flash_bytes
    # newlib's start-up has no Reset_Handler to start the stack bound from: no bound, and why
    assert fp.stack["worst_bytes"] is None and "no function 'Reset_Handler'" in fp.stack["problems"][0]
    assert fp.heap == {"reserved_bytes": 0, "allocator_symbols": [], "uses_heap": False}


@pytest.mark.parametrize("rule, weights", [
    (dict(weight_symbols=r"^tst_(w|weights)_", weight_objects=None, generated_rodata_is_weights=False), W0 + W1),
    (dict(weight_symbols=None, generated_rodata_is_weights=False), W0 + W1),  # the weights object alone
    (dict(), W0 + W1 + SHIFT),  # defaults: every const array of a generated object
])
def test_each_weight_rule_alone(tmp_path, rule, weights):
    elf, map_file, su = _build(tmp_path, HARNESS % "", ["--specs=nano.specs", "--specs=nosys.specs"])
    fp = analyze(elf, map_file, su, FootprintRules(**rule))
    assert fp.flash["weights"] == weights
    assert sum(fp.flash.values()) == fp.flash_bytes


def test_model_state_defaults_to_the_generated_objects_static_ram(tmp_path):
    elf, map_file, su = _build(tmp_path, HARNESS % "", ["--specs=nano.specs", "--specs=nosys.specs"])
    fp = analyze(elf, map_file, su, FootprintRules(scratch_symbols=None))
    assert fp.ram["model_state"] == STATE + SCRATCH + GAIN and fp.ram["scratch"] == 0
    moved = analyze(elf, map_file, su, FootprintRules(scratch_symbols=None), scratch_in_state=100)
    assert moved.ram["model_state"] == STATE + SCRATCH + GAIN - 100 and moved.ram["scratch"] == 100
    assert moved.ram_bytes == fp.ram_bytes
    with pytest.raises(AfkdError, match="scratch"):
        analyze(elf, map_file, su, FootprintRules(scratch_symbols=None), scratch_in_state=10**6)


def test_a_program_calling_malloc_is_flagged(tmp_path):
    call = "volatile char *p = malloc(16); p[0] = 1;"
    elf, map_file, su = _build(tmp_path, HARNESS % call, ["--specs=nano.specs", "--specs=nosys.specs"])
    heap = analyze(elf, map_file, su, RULES).heap
    assert heap["uses_heap"] and "malloc" in heap["allocator_symbols"] and "_sbrk" in heap["allocator_symbols"]


def test_board_script_with_regions_heap_and_stack_reservation(tmp_path):
    (tmp_path / "board.ld").write_text(BOARD_LD)
    elf, map_file, su = _build(tmp_path, BOARD_MAIN, ["-nostdlib", "-T", "board.ld"])
    mapfile = parse_map(map_file.read_text())
    assert mapfile.regions["FLASH"][:2] == (0x08000000, 64 * 1024)
    assert "w" in mapfile.regions["RAM"][2]
    fp = analyze(elf, map_file, su, RULES)
    text, data, bss = _berkeley_size(elf)
    assert fp.flash_bytes == text + data  # .data's load image sits in flash
    assert fp.static_ram_bytes == data + bss
    assert fp.heap["reserved_bytes"] == 0x400 and fp.ram["heap"] == 0x400
    # the bound: the deepest path from reset over the call graph, every frame as GCC reports it
    frames = _ci_frames(su)
    path = ["Reset_Handler", "harness_run", "tst_model_step", "kern"]  # GCC inlines main into Reset_Handler
    assert [level["function"] for level in fp.stack["path"]] == path and fp.stack["bounded"]
    assert fp.stack["worst_bytes"] == sum(frames[f] for f in path) and not fp.stack["interrupts"]
    assert fp.stack["reserved_bytes"] == 0x800 and fp.stack["fits_reserved"]
    assert fp.ram["stack"] == 0x800  # the reservation covers the bound
    assert fp.flash["weights"] == W0 + W1 + SHIFT and fp.ram["model_state"] == STATE
    assert sum(fp.ram.values()) == fp.ram_bytes


MAP_TEXT = """Archive member included to satisfy reference by file (symbol)

/opt/lib/libc_nano.a(lib_a-memcpy.o)
                              build/main.o (memcpy)

Discarded input sections

 .text          0x00000000       0x40 build/gen/model.o

Memory Configuration

Name             Origin             Length             Attributes
FLASH            0x08000000         0x00100000         xr
RAM              0x20000000         0x00020000         xrw
*default*        0x00000000         0xffffffff

Linker script and memory map

LOAD build/main.o
.text           0x08000000      0x1a0
 *(.text*)
 .text.afkd_model_step_with_a_very_long_name
                0x08000000      0x100 build/gen/afkd_model.c.obj
                0x08000000                afkd_model_step_with_a_very_long_name
 .text          0x08000100       0x7e /opt/lib/libc_nano.a(lib_a-memcpy.o)
 *fill*         0x0800017e        0x2 
 .text.k        0x08000180       0x20 build/firmware/runtime/afkd_conv_s8.c.obj

.bss            0x20000000       0x10
 COMMON         0x20000000       0x10 build/main.o
"""


def test_map_parser_reads_wrapped_names_archives_fill_and_skips_discarded():
    m = parse_map(MAP_TEXT)
    assert m.output_sections == {".text": (0x08000000, 0x1A0), ".bss": (0x20000000, 0x10)}
    assert set(m.regions) == {"FLASH", "RAM"}
    got = [(e.section, e.size, e.obj) for e in m.entries]
    assert got == [(".text.afkd_model_step_with_a_very_long_name", 0x100, "build/gen/afkd_model.c.obj"),
                   (".text", 0x7E, "/opt/lib/libc_nano.a(lib_a-memcpy.o)"),
                   ("*fill*", 2, "*fill*"),
                   (".text.k", 0x20, "build/firmware/runtime/afkd_conv_s8.c.obj"),
                   ("COMMON", 0x10, "build/main.o")]
    with pytest.raises(AfkdError, match="map file"):
        parse_map("not a map\n")
