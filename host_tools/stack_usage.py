"""Worst-case stack bound over the real call graph (GCC ``-fcallgraph-info=su``).

The footprint (``host_tools/footprint.py``) and so every report give this bound:

* GCC writes one ``<object>.ci`` file per translation unit (VCG text): a node per function it
  compiled, labelled with its frame ("N bytes (static)"), and an edge per call site *after*
  inlining, so a function inlined into its caller (``handle_samples`` into ``main``) is
  counted inside the caller's frame and never twice.
* The bound from a root is the longest path, summing frames, over that graph; recursion
  makes it unbounded.
* What the graph cannot know is listed under ``problems`` instead of being guessed:
  ``dynamic`` frames (alloca, VLAs), indirect calls (``__indirect_call``) with no declared
  targets, and callees without a frame (precompiled libc). Leaf library functions get their
  frame from the linked ELF's disassembly (:func:`library_frames`): every stack-pointer
  decrement in the function's body, summed.
* Interrupts: :func:`firmware_stack_bound` adds, for every distinct handler in the vector
  table, the hardware exception frame plus the handler's own worst path, as if all of them
  nested (the most conservative assumption about priorities).

Frames are in bytes; GCC's figure includes the saved registers and the call's return
address (pushed ``lr``) on ARM.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from afkd.errors import AfkdError

INDIRECT = "__indirect_call"
# Cortex-M4F exception entry with the FPU context (lazy stacking reserves it): 26 words,
# plus 4 bytes when the core re-aligns the stack to 8 bytes.
CORTEX_M4F_EXCEPTION_FRAME = 26 * 4 + 4

_NODE = re.compile(r'^node:\s*\{\s*title:\s*"(?P<title>[^"]*)"\s*label:\s*"(?P<label>[^"]*)"')
_EDGE = re.compile(r'^edge:\s*\{\s*sourcename:\s*"(?P<source>[^"]*)"\s*targetname:\s*"(?P<target>[^"]*)"')
_FRAME = re.compile(r"\\n(?P<bytes>\d+) bytes \((?P<qualifier>[^)]*)\)")


@dataclass
class CallGraph:
    """Functions by GCC title (``name``, or ``file:name`` for a static function)."""

    frames: dict[str, tuple[int, str]] = field(default_factory=dict)  # title -> (bytes, qualifier)
    names: dict[str, str] = field(default_factory=dict)  # title -> C name
    calls: dict[str, list[str]] = field(default_factory=dict)  # caller title -> callee titles

    def titles_named(self, name: str) -> list[str]:
        return sorted(t for t, n in self.names.items() if n == name and t in self.frames) or \
            sorted(t for t, n in self.names.items() if n == name)


def read_callgraph(paths: Iterable[str | Path]) -> CallGraph:
    """Merge GCC ``.ci`` files; a function's frame comes from the unit that defines it."""
    graph = CallGraph()
    count = 0
    for path in paths:
        count += 1
        for line in Path(path).read_text(errors="replace").splitlines():
            node = _NODE.match(line)
            if node:
                title, label = node["title"], node["label"]
                # A static function's title is "file:name"; a built-in's label says __builtin_.
                graph.names[title] = title.rsplit(":", 1)[-1]
                frame = _FRAME.search(label)
                if frame:
                    graph.frames[title] = (int(frame["bytes"]), frame["qualifier"])
                continue
            edge = _EDGE.match(line)
            if edge:
                graph.calls.setdefault(edge["source"], []).append(edge["target"])
    if not count:
        raise AfkdError("call graph: no .ci files given (build with -fcallgraph-info=su)")
    return graph


def library_frames(disassembly: str, names: Iterable[str]) -> tuple[dict[str, int], dict[str, str]]:
    """Frames of library functions from ``objdump -d`` text: ``(frames, refused)``.

    A function's own frame is the sum of every stack-pointer decrement in its body (push,
    vpush, stmdb sp!, a store with ``[sp, #-N]!``, ``sub sp``): an upper bound when no push
    sits in a loop that never pops, as in compiled C and libgcc. Direct calls and branches
    out of the body (tail calls such as ``__aeabi_uldivmod`` -> ``__aeabi_idiv0``) add the
    deepest callee, found the same way. A function that writes sp any other way, calls
    through a register, recurses or is not in the ELF is refused, with the reason.
    """
    bodies = _function_bodies(disassembly)
    frames: dict[str, int] = {}
    refused: dict[str, str] = {}

    def measure(name: str, active: tuple[str, ...]) -> int | None:
        if name in frames or name in refused:
            return frames.get(name)
        if name in active:
            refused[name] = "recursion"
            return None
        if name not in bodies:
            refused[name] = "not in the linked ELF"
            return None
        own, deepest = 0, 0
        for mnemonic, operands, target in bodies[name][2]:
            if target is not None and target != name:
                callee = measure(target, active + (name,))
                if callee is None:
                    refused[name] = f"calls {target}, which is refused"
                    return None
                deepest = max(deepest, callee)
            elif mnemonic.startswith("blx") or (mnemonic.startswith("bl") and target is None
                                                and not mnemonic.startswith(("bls", "blt", "ble"))):
                refused[name] = f"calls through a register ({mnemonic} {operands})"
                return None
            elif (decrement := _sp_decrement(mnemonic, operands)) is not None:
                own += decrement
            elif re.match(r"sp\b", operands) and not mnemonic.startswith(("str", "ldr", "add", "pop", "vpop", "ldm")):
                refused[name] = f"writes sp ({mnemonic} {operands})"
                return None
        frames[name] = own + deepest
        return frames[name]

    for name in names:
        measure(name, ())
    return frames, refused


def own_frames(disassembly: str, names: Iterable[str]) -> dict[str, int]:
    """Each named function's own stack-pointer decrements in the ELF (callees not included).

    GCC's call graph gives a naked function (afkd's assembly routines: its body is one asm
    statement that pushes registers and reserves locals itself) a frame of 0 bytes; the
    machine code is the only place its frame shows.
    """
    bodies = _function_bodies(disassembly)
    frames: dict[str, int] = {}
    for name in names:
        if name not in bodies:
            continue
        frames[name] = sum(_sp_decrement(m, o) or 0 for m, o, _ in bodies[name][2])
    return frames


def elf_calls(disassembly: str) -> dict[str, set[str]]:
    """function -> the functions its machine code calls or tail-branches to, by name."""
    return {name: {target for _, _, target in body[2] if target is not None and target != name}
            for name, body in _function_bodies(disassembly).items()}


def _function_bodies(disassembly: str) -> dict[str, tuple[int, int, list[tuple[str, str, str | None]]]]:
    """name -> (start, end, [(mnemonic, operands, called function or None)]) from
    ``objdump -d --no-show-raw-insn``; a branch counts as a call when it leaves the body."""
    raw: dict[str, list] = {}
    current = None
    for line in disassembly.splitlines():
        header = re.match(r"^([0-9a-f]+) <([^>]+)>:$", line)
        if header:
            current = header[2]
            raw[current] = [int(header[1], 16), int(header[1], 16), []]
            continue
        instruction = re.match(r"^\s+([0-9a-f]+):\s+(\S+)\s*(.*)$", line)
        if instruction and current is not None:
            raw[current][1] = int(instruction[1], 16) + 2
            raw[current][2].append((instruction[2], instruction[3].split(";")[0].strip()))
    bodies = {}
    for name, (start, end, instructions) in raw.items():
        decoded = []
        for mnemonic, operands in instructions:
            target = None
            branch = re.fullmatch(r"([0-9a-f]+) <([^>+]+)(\+0x[0-9a-f]+)?>", operands)
            is_branch = re.match(r"(b|bl|b[a-z]{2}|cbn?z)(\.[nw])?$", mnemonic) is not None
            if branch and is_branch and (mnemonic.startswith("bl") and mnemonic[:3] not in ("bls", "blt", "ble")
                                         or not start <= int(branch[1], 16) < end):
                target = branch[2]
            decoded.append((mnemonic, operands, target))
        bodies[name] = (start, end, decoded)
    return bodies


def _sp_decrement(mnemonic: str, operands: str) -> int | None:
    """Bytes one instruction takes off the stack pointer (push, vpush, stmdb sp!, a store with
    [sp, #-N]!, sub sp), or None when it is not one of those."""
    if mnemonic.startswith(("push", "vpush")) or (mnemonic.startswith("stmdb") and operands.startswith("sp!")):
        return _register_list_bytes(operands)
    if (m := re.search(r"\[sp,\s*#-(\d+)\]!", operands)) and mnemonic.startswith("str"):
        return int(m[1])
    if re.match(r"sub(\.w|w)?$", mnemonic) and re.match(r"sp,\s*(sp,\s*)?#\d+$", operands):
        return int(operands.rsplit("#", 1)[1])
    return None


def _register_list_bytes(operands: str) -> int:
    registers = re.search(r"\{([^}]*)\}", operands)
    if not registers:
        raise AfkdError(f"disassembly: cannot read the register list of {operands!r}")
    total = 0
    for item in registers[1].split(","):
        item = item.strip()
        span = re.match(r"([a-z]+)(\d+)-[a-z]+(\d+)$", item)
        kind, count = (span[1], int(span[3]) - int(span[2]) + 1) if span else (item.rstrip("0123456789"), 1)
        total += count * (8 if kind == "d" else 4)
    return total


def worst_stack(graph: CallGraph, root: str, *, via: str | None = None,
                indirect_targets: Sequence[str] = (), external_frames: Mapping[str, int] = ()) -> dict:
    """Deepest stack from the function named ``root``; with ``via``, over paths through it.

    ``indirect_targets``: names of every function an indirect call may reach (the caller
    vouches for this set). ``external_frames``: name -> bytes for callees the graph has no
    frame for (from :func:`library_frames`).
    Returns ``{"worst_bytes", "path": [{"function", "bytes", "qualifier"}], "bounded",
    "problems"}``; ``worst_bytes`` is None when no path reaches ``via``.
    """
    external_frames = dict(external_frames)
    indirect = [t for name in indirect_targets for t in graph.titles_named(name)]
    problems: set[str] = set()
    memo: dict[tuple[str, bool], tuple[int, list[str]] | None] = {}
    on_path: set[str] = set()

    def frame(title: str) -> int:
        if title in graph.frames:
            size, qualifier = graph.frames[title]
            if qualifier != "static" and "bounded" not in qualifier:
                problems.add(f"{graph.names[title]}: {qualifier} frame ({size} bytes known)")
            return size
        name = graph.names.get(title, title)
        if name in external_frames:
            return external_frames[name]
        problems.add(f"{name}: no frame known (not compiled with -fcallgraph-info, not a measured leaf)")
        return 0

    def callees(title: str) -> list[str]:
        out = []
        for target in dict.fromkeys(graph.calls.get(title, ())):
            if target == INDIRECT:
                if not indirect:
                    problems.add(f"{graph.names.get(title, title)}: indirect call with no declared targets")
                out.extend(indirect)
            else:
                # A declaration's title is the global name; static ones match their own title.
                out.append(target if target in graph.frames else next(iter(graph.titles_named(
                    graph.names.get(target, target))), target))
        return out

    def deepest(title: str, need_via: bool) -> tuple[int, list[str]] | None:
        key = (title, need_via)
        if key in memo:
            return memo[key]
        if title in on_path:
            problems.add(f"{graph.names.get(title, title)}: recursion, the stack is unbounded")
            return None
        on_path.add(title)
        still_needed = need_via and graph.names.get(title, title) != via
        best = None
        for callee in callees(title):
            below = deepest(callee, still_needed)
            if below is not None and (best is None or below[0] > best[0]):
                best = below
        on_path.discard(title)
        own = frame(title)
        if best is None:
            result = None if still_needed else (own, [title])
        else:
            result = (own + best[0], [title] + best[1])
        memo[key] = result
        return result

    roots = graph.titles_named(root)
    if not roots:
        raise AfkdError(f"call graph: no function {root!r}")
    found = deepest(roots[0], via is not None)
    path = [] if found is None else [
        {"function": graph.names.get(t, t), "bytes": frame(t),
         "qualifier": graph.frames.get(t, (None, "library" if graph.names.get(t, t) in external_frames else None))[1]}
        for t in found[1]]
    return {"root": root, "via": via, "worst_bytes": None if found is None else found[0], "path": path,
            "bounded": found is not None and not problems, "problems": sorted(problems)}


def vector_handlers(elf_path: str | Path) -> list[list[str]]:
    """The ``.isr_vector``'s distinct handlers (entry 0, the initial sp, skipped), each as
    the names of the function symbols at its address (weak aliases share one)."""
    from elftools.elf.elffile import ELFFile

    with open(elf_path, "rb") as f:
        elf = ELFFile(f)
        section = elf.get_section_by_name(".isr_vector")
        if section is None:
            raise AfkdError(f"{elf_path}: no .isr_vector section")
        data = section.data()
        functions: dict[int, list[str]] = {}
        for sym in elf.get_section_by_name(".symtab").iter_symbols():
            if sym["st_info"]["type"] == "STT_FUNC" and sym.name:
                functions.setdefault(sym["st_value"] & ~1, []).append(sym.name)
    words = [int.from_bytes(data[i:i + 4], "little") for i in range(4, len(data) - 3, 4)]
    addresses = dict.fromkeys(w & ~1 for w in words if w)
    return [sorted(functions.get(a, [f"0x{a:08x}"])) for a in addresses]


def _merge_elf_calls(graph: CallGraph, linked: dict[str, set[str]]) -> None:
    """Make the graph's direct calls those the linked machine code makes.

    GCC records a few library calls before the back end picks the final helper (an
    ``__aeabi_ldivmod`` edge where the code calls ``__aeabi_uldivmod``): for a function in the
    ELF, direct calls to functions the linker dropped are removed and calls seen in its code
    added. Indirect-call edges stay.
    """
    for title in list(graph.frames):
        name = graph.names[title]
        if name not in linked:
            continue  # dropped by --gc-sections (or inlined everywhere): never runs
        kept = [t for t in graph.calls.get(title, ()) if t == INDIRECT or graph.names.get(t, t) in linked]
        for callee in sorted(linked[name]):
            if not any(graph.names.get(t, t) == callee for t in kept):
                titles = graph.titles_named(callee)
                if not titles:
                    graph.names[callee] = callee
                kept.append(titles[0] if titles else callee)
        graph.calls[title] = kept


def harness_indirect_targets(main_c: str | Path) -> list[str]:
    """The functions afkd's harness (firmware/harness/main.c) hands the UART protocol as its
    byte writer (``afkd_tx_begin(&tx, put, ...)``, ``afkd_send_error(put, ...)``): every target
    of the protocol's one indirect call."""
    text = Path(main_c).read_text()
    passed = re.findall(r"afkd_tx_begin\(\s*&?\w+\s*,\s*(\w+)", text) + re.findall(r"afkd_send_error\(\s*(\w+)", text)
    if not passed:
        raise AfkdError(f"{main_c}: no afkd_tx_begin/afkd_send_error call names the byte writer")
    return sorted(set(passed))


def firmware_stack_bound(elf_path: str | Path, ci_paths: Iterable[str | Path], *, reset: str = "Reset_Handler",
                         indirect_targets: Sequence[str] = (), objdump: str = "arm-none-eabi-objdump",
                         exception_frame: int = CORTEX_M4F_EXCEPTION_FRAME) -> dict:
    """Stack bound of a Cortex-M firmware: the reset path plus every handler nested once.

    Library callees without a ``.ci`` frame are measured from the ELF's disassembly.
    """
    graph = read_callgraph(ci_paths)
    try:
        disassembly = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(elf_path)],
                                     capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        raise AfkdError(f"{elf_path}: {objdump} failed ({e})") from None
    _merge_elf_calls(graph, elf_calls(disassembly))
    # Frames GCC reported as 0 bytes: naked assembly routines push inside their asm.
    zero = {title: graph.names.get(title, title) for title, (size, _) in graph.frames.items() if size == 0}
    measured = own_frames(disassembly, set(zero.values()))
    for title, name in zero.items():
        if measured.get(name):
            graph.frames[title] = (measured[name], graph.frames[title][1])
    unknown = {graph.names.get(t, t) for callees in graph.calls.values() for t in callees
               if t != INDIRECT and not any(x in graph.frames for x in graph.titles_named(graph.names.get(t, t)))}
    externals, refused = library_frames(disassembly, sorted(unknown))
    options = dict(indirect_targets=indirect_targets, external_frames=externals)
    main_path = worst_stack(graph, reset, **options)
    handlers = []
    for names in vector_handlers(elf_path):
        if reset in names:
            continue
        known = [n for n in names if graph.titles_named(n)]
        if not known:
            raise AfkdError(f"{elf_path}: vector-table handler {'/'.join(names)} is not in the call graph")
        handlers.append(known[0])
    interrupts = [worst_stack(graph, h, **options) for h in handlers]
    total = None if main_path["worst_bytes"] is None else \
        main_path["worst_bytes"] + sum(exception_frame + (i["worst_bytes"] or 0) for i in interrupts)
    problems = sorted(set(main_path["problems"]).union(*(i["problems"] for i in interrupts)))
    return {"worst_bytes": total, "reset_path": main_path, "interrupts": interrupts,
            "exception_frame_bytes": exception_frame, "library_frames": externals, "library_refused": refused,
            "bounded": total is not None and not problems, "problems": problems, "graph": graph,
            "method": "longest path over GCC's -fcallgraph-info=su graph from the reset handler, plus every "
                      "vector-table handler nested once with a Cortex-M4F exception frame; leaf libc "
                      "frames from the ELF disassembly"}
