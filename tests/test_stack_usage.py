"""The stack bound comes from -fcallgraph-info: a worst case over the real call graph of the
generated STM32 firmware, below the stack its linker script reserves.

host_tools/stack_usage.py computes the bound; the footprint of export.json and of every
validation report is this bound (the one stack measure).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from afkd.export.firmware_project import export_firmware
from afkd.host_tools import footprint
from afkd.host_tools.stack_usage import (CORTEX_M4F_EXCEPTION_FRAME, firmware_stack_bound, harness_indirect_targets,
                                         library_frames, read_callgraph, worst_stack)
from tests.conftest import require_tool
from tiny_tflite import tiny_tflite

PREFIX = "tiny"


@pytest.fixture(scope="module", params=["int8", "int16x8"])
def stm32_build(request, tmp_path_factory):
    """export_firmware(target="stm32") of a tiny model (its build writes the .ci call graphs)."""
    require_tool("arm-none-eabi-gcc")
    require_tool("arm-none-eabi-objdump")
    root = tmp_path_factory.mktemp(f"stack_{request.param}")
    tflite = root / f"tiny_{request.param}.tflite"
    tflite.write_bytes(tiny_tflite(request.param))
    manifest = export_firmware(tflite, root / "project", "stm32", PREFIX, 250)
    build = root / "project" / "build"
    ci = sorted(p for p in (build / "CMakeFiles" / "firmware.dir").rglob("*.ci"))
    objects = sorted(p for p in (build / "CMakeFiles" / "firmware.dir").rglob("*.obj"))
    assert ci and len(ci) == len(objects), "every compiled unit must leave a .ci call graph"
    return {"project": root / "project", "elf": build / "firmware.elf", "map": build / "firmware.map",
            "ci": ci, "quant": request.param, "manifest": manifest}


def harness_putc_functions(main_c: Path) -> set[str]:
    """Every function main.c hands the protocol as its afkd_putc_fn (the indirect-call targets)."""
    return set(harness_indirect_targets(main_c))


def reserved_stack(build: dict) -> int:
    """AFKD_STACK_SIZE from the board's linker script, checked against the linked ELF."""
    script = (build["project"] / "afkd" / "boards" / "stm32f4" / "stm32f4.ld").read_text()
    from_script = int(re.search(r"AFKD_STACK_SIZE\s*=\s*(0x[0-9a-fA-F]+|\d+)\s*;", script)[1], 0)
    from_elf = footprint.analyze(build["elf"], build["map"]).stack["reserved_bytes"]
    assert from_script == from_elf, f"linker script says {from_script} bytes, the ELF {from_elf}"
    return from_script


@pytest.mark.slow
def test_step_path_bound_is_static_and_fits_reserved_stack(stm32_build):
    targets = harness_putc_functions(stm32_build["project"] / "afkd" / "harness" / "main.c")
    bound = firmware_stack_bound(stm32_build["elf"], stm32_build["ci"], indirect_targets=sorted(targets))
    assert bound["bounded"], bound["problems"]
    step = worst_stack(bound["graph"], "Reset_Handler", via="afkd_model_step", indirect_targets=sorted(targets),
                       external_frames=bound["library_frames"])
    names = [frame["function"] for frame in step["path"]]
    assert names[:3] == ["Reset_Handler", "main", "afkd_model_step"] and names[3] == f"{PREFIX}_step", names
    assert re.match(r"afkd_\w+_s(8|16)(_w16|_tail32)?$", names[4]), f"the deepest step path should end in a kernel: {names}"
    assert all(frame["qualifier"] in ("static", "library") for frame in step["path"]), step["path"]
    assert step["worst_bytes"] == sum(frame["bytes"] for frame in step["path"])
    assert step["worst_bytes"] <= bound["reset_path"]["worst_bytes"]
    handlers = len(bound["interrupts"])
    assert bound["worst_bytes"] >= step["worst_bytes"] + handlers * CORTEX_M4F_EXCEPTION_FRAME
    reserved = reserved_stack(stm32_build)
    assert bound["worst_bytes"] < reserved, f"stack bound {bound['worst_bytes']} B >= reserved {reserved} B"
    print(f"{stm32_build['quant']}: step path {step['worst_bytes']} B {names}; firmware bound "
          f"{bound['worst_bytes']} B ({handlers} handlers nested); reserved {reserved} B")


@pytest.mark.slow
def test_the_footprint_reports_this_bound_and_inlining_is_counted_once(stm32_build):
    graph = read_callgraph(stm32_build["ci"])
    # handle_samples (and handle_frame) are inlined into main: no frame of their own, and
    # main calls the model directly, so their locals are inside main's frame, counted once.
    assert not graph.titles_named("handle_samples")
    assert "afkd_model_step" in {graph.names.get(t, t) for t in graph.calls["main"]}
    targets = sorted(harness_putc_functions(stm32_build["project"] / "afkd" / "harness" / "main.c"))
    bound = firmware_stack_bound(stm32_build["elf"], stm32_build["ci"], indirect_targets=targets)
    stack = stm32_build["manifest"]["footprint"]["stack"]
    assert stack["bounded"] and stack["worst_bytes"] == bound["worst_bytes"]
    assert [frame["function"] for frame in stack["path"]] == [f["function"] for f in bound["reset_path"]["path"]]
    assert stack["fits_reserved"] and stm32_build["manifest"]["footprint"]["ram"]["stack"] >= stack["worst_bytes"]


@pytest.mark.slow
def test_undeclared_indirect_calls_leave_the_bound_open(stm32_build):
    bound = firmware_stack_bound(stm32_build["elf"], stm32_build["ci"])
    assert not bound["bounded"]
    assert any("indirect call" in problem for problem in bound["problems"]), bound["problems"]


def _ci(*lines: str) -> str:
    return 'graph: { title: "t.c"\n' + "\n".join(lines) + "\n}\n"


def _node(name: str, size: int | None = None, qualifier: str = "static") -> str:
    label = name if size is None else f"{name}\\nt.c:1:1\\n{size} bytes ({qualifier})"
    return f'node: {{ title: "{name}" label: "{label}" }}'


def _edge(caller: str, callee: str) -> str:
    return f'edge: {{ sourcename: "{caller}" targetname: "{callee}" }}'


def test_longest_path_takes_the_deepest_branch(tmp_path):
    (tmp_path / "a.ci").write_text(_ci(_node("main", 16), _node("small", 8), _node("big", 40), _node("leaf", 24),
                                       _edge("main", "small"), _edge("main", "big"), _edge("small", "leaf")))
    result = worst_stack(read_callgraph([tmp_path / "a.ci"]), "main")
    assert result["worst_bytes"] == 16 + 40 and result["bounded"]
    through = worst_stack(read_callgraph([tmp_path / "a.ci"]), "main", via="leaf")
    assert through["worst_bytes"] == 16 + 8 + 24


def test_recursion_dynamic_frames_and_unknown_callees_are_problems(tmp_path):
    (tmp_path / "a.ci").write_text(_ci(_node("main", 16), _node("self", 8), _node("vla", 32, "dynamic"),
                                       _node("libfn"), _edge("main", "self"), _edge("self", "self"),
                                       _edge("main", "vla"), _edge("main", "libfn")))
    result = worst_stack(read_callgraph([tmp_path / "a.ci"]), "main")
    assert not result["bounded"]
    text = " ".join(result["problems"])
    assert "self: recursion" in text and "vla: dynamic" in text and "libfn: no frame" in text


def test_library_frames_from_disassembly():
    listing = """
08000100 <leafy>:
 8000100:	push	{r4, r5, r6, lr}
 8000102:	sub	sp, #16
 8000104:	vpush	{d8-d9}
 8000108:	bl	8000200 <helper>
 800010c:	pop	{r4, r5, r6, pc}

08000200 <helper>:
 8000200:	strd	r4, r5, [sp, #-8]!
 8000204:	b.w	8000300 <tail>

08000300 <tail>:
 8000300:	bx	lr

08000400 <via_register>:
 8000400:	blx	r3
"""
    frames, refused = library_frames(listing, ["leafy", "via_register", "absent"])
    # leafy: 4 registers + 16 + two d registers, plus helper's 8 (which tail-branches to tail: 0)
    assert frames["leafy"] == 16 + 16 + 16 + 8 and frames["helper"] == 8 and frames["tail"] == 0
    assert "register" in refused["via_register"] and "not in the linked ELF" in refused["absent"]


@pytest.mark.slow
def test_assembly_routines_get_their_frames_from_the_elf(stm32_build):
    """GCC's call graph gives the naked assembly routines (afkd_dense16_m4.h) 0 bytes; the bound
    must use the registers and locals their own pushes take, read from the linked ELF (16x8;
    an int8 firmware does not link them at all)."""
    bound = firmware_stack_bound(stm32_build["elf"], stm32_build["ci"])
    graph = bound["graph"]
    frames = {graph.names.get(t, t): size for t, (size, _) in graph.frames.items()}
    linked = "<afkd_dense16_groups_full>:" in subprocess.run(
        ["arm-none-eabi-objdump", "-d", str(stm32_build["elf"])], capture_output=True, text=True, check=True).stdout
    if stm32_build["quant"] == "int8":
        assert not linked
        return
    assert linked, "the 16x8 build no longer links afkd_dense16_groups_full"
    assert frames["afkd_dense16_groups_full"] == 9 * 4 + 12  # push {r4-r11, lr} and 12 bytes of locals
