"""Flash and RAM footprint of a firmware ELF, split by what the bytes are for.

Sources: the ELF (section flags and addresses, symbol sizes; pyelftools), the GNU ld map file
(``-Wl,-Map=``: which object file put how many bytes into which output section) and, for the
stack, GCC's ``-fcallgraph-info=su`` call graph (``.ci`` files).

Flash splits into weights, generated code, runtime kernels, afkd's test harness (the UART
protocol loop, framing and CRC), libc (toolchain archives and crt*.o), startup/board (everything
else: vector table, board support) and padding (alignment fill and bytes no input section claims,
such as linker stubs). The first three are what an application embedding the model pays
(``model_flash_bytes``).
RAM splits into model state, scratch, other static data, heap (reserved by the linker script) and
stack. The categories of each split sum to ``flash_bytes`` / ``ram_bytes``.

Which bytes a section takes: with memory regions in the map (a real board script), a section takes
flash when its load address lies in a read-only region and it has contents, RAM when its run address
lies in a writable region. With the toolchain's default script (no regions) we fall back to what
``arm-none-eabi-size`` does: contents -> flash, writable -> RAM (so ``.data`` counts in both).

Stack: the bound of :mod:`afkd.host_tools.stack_usage`, the longest path over the real call graph
from the reset handler plus every interrupt handler nested once (``bounded`` False, with the
``problems``, when the graph cannot prove one).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from afkd.errors import AfkdError

_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_ARCHIVE_MEMBER = re.compile(r"^(?P<archive>.+\.a)\((?P<member>[^()]+)\)$")
_TOOLCHAIN_ARCHIVE = re.compile(r"(^|[/\\])lib(c|c_nano|g|g_nano|m|gcc|nosys|rdimon|rdpmon|stdc\+\+|supc\+\+)\.a$")
_TOOLCHAIN_OBJECT = re.compile(r"(^|[/\\])crt\w*\.o$")

# Symbols that mean a heap allocator is linked in (newlib's reentrant forms included).
ALLOCATOR_SYMBOLS = frozenset({"malloc", "_malloc_r", "calloc", "_calloc_r", "realloc", "_realloc_r",
                               "free", "_free_r", "_sbrk", "_sbrk_r", "sbrk"})
# Absolute symbols with which common linker scripts (STM32CubeIDE, CMSIS, Arm) size the heap / stack.
HEAP_SIZE_SYMBOLS = ("_Min_Heap_Size", "__heap_size__", "__HEAP_SIZE", "__heap_size", "Heap_Size", "_heap_size")
STACK_SIZE_SYMBOLS = ("_Min_Stack_Size", "__stack_size__", "__STACK_SIZE", "__stack_size", "Stack_Size", "_stack_size", "AFKD_STACK_SIZE")


FLASH_CATEGORIES = ("weights", "generated_code", "runtime", "harness", "libc", "startup_board", "padding")
#: What an application that embeds the model pays in flash: the model's constants, its generated
#: step code and the runtime kernels (not afkd's test harness, board code or libc).
MODEL_FLASH_CATEGORIES = ("weights", "generated_code", "runtime")
RAM_CATEGORIES = ("model_state", "scratch", "other_static", "heap", "stack")


@dataclass(frozen=True)
class FootprintRules:
    """How to recognise the bytes of each category (regular expressions, searched, not matched).

    Object patterns apply to the object path as the map prints it (for an archive member, the
    archive path and then the member). Symbol patterns apply to ELF data-object symbols and win
    over the object rule of the object that holds them.
    """

    # The C generator (export/codegen.py) writes the model's parameters as const arrays in
    # <prefix>_model.c and its one state instance in afkd_model_glue.c: read-only data of a
    # generated object is weights, its static RAM is model state, unless symbols say otherwise.
    weight_symbols: str | None = None
    weight_objects: str | None = r"weights?[^/\\]*\.o(bj)?$"
    generated_rodata_is_weights: bool = True
    generated_objects: str = r"(^|[/\\])(generated|gen|model)[/\\]|(^|[/\\])afkd_model[^/\\]*\.o(bj)?$|_model\.c\.o(bj)?$"
    runtime_objects: str = r"(^|[/\\])runtime[/\\]"
    # afkd's test harness: the UART protocol loop (harness/main.c) and its framing and CRC code.
    harness_objects: str = r"(^|[/\\])(harness[/\\]main|runtime[/\\]afkd_(protocol|crc))(\.c)?\.o(bj)?$"
    state_symbols: str | None = None
    scratch_symbols: str | None = r"scratch|arena"

    @classmethod
    def for_prefix(cls, prefix: str, **overrides) -> "FootprintRules":
        """Rules for a generated model whose C symbols start with ``prefix`` (export's ``--prefix``)."""
        p = re.escape(prefix)
        base = dict(generated_objects=cls.generated_objects + rf"|(^|[/\\]){p}[^/\\]*\.o(bj)?$",
                    state_symbols=rf"^{p}_(instance|state)$")
        base.update(overrides)
        return cls(**base)


@dataclass(frozen=True)
class MapEntry:
    """One input section placed by the linker: ``size`` bytes of ``section`` from ``obj``."""

    output_section: str
    section: str
    address: int
    size: int
    obj: str  # object path, or "archive(member)"; "*fill*" for padding the linker inserted


@dataclass
class MapFile:
    entries: list[MapEntry] = field(default_factory=list)
    output_sections: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (address, size)
    regions: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # name -> (origin, length, attrs)


def parse_map(text: str) -> MapFile:
    """Parse a GNU ld map file (the "Memory Configuration" and "Linker script and memory map" parts).

    Handles long input-section names that wrap onto the next line, archive(member) paths,
    ``*fill*`` padding, COMMON, and 32- or 64-bit wide addresses. "Discarded input sections" are
    skipped: they are not in the image.
    """
    out = MapFile()
    part, current, pending, pending_out = None, None, None, None
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("Memory Configuration"):
            part = "memory"
            continue
        if line.startswith("Linker script and memory map"):
            part = "layout"
            continue
        if line.startswith("Discarded input sections") or line.startswith("Archive member included"):
            part = None
            continue
        tokens = line.split()
        if not tokens or part is None:
            continue
        if part == "memory":
            if len(tokens) >= 3 and _HEX.match(tokens[1]) and _HEX.match(tokens[2]) and tokens[0] != "*default*":
                out.regions[tokens[0]] = (int(tokens[1], 16), int(tokens[2], 16), tokens[3] if len(tokens) > 3 else "")
            continue
        if not line[0].isspace():  # column 0: an output section (or LOAD / OUTPUT / START GROUP lines)
            pending = None
            if not line.startswith("."):
                current = None
                continue
            current = tokens[0]
            if len(tokens) >= 3 and _HEX.match(tokens[1]) and _HEX.match(tokens[2]):
                out.output_sections[current] = (int(tokens[1], 16), int(tokens[2], 16))
                pending_out = None
            else:
                pending_out = current  # address and size follow on the next line
            continue
        if current is None:
            continue
        if pending_out is not None and len(tokens) == 2 and all(_HEX.match(t) for t in tokens):
            out.output_sections[pending_out] = (int(tokens[0], 16), int(tokens[1], 16))
            pending_out = None
            continue
        pending_out = None
        if len(tokens) == 1 and (tokens[0].startswith(".") or tokens[0] == "COMMON"):
            pending = tokens[0]  # a long input section name; address, size and object follow
            continue
        if pending is not None and len(tokens) >= 3 and _HEX.match(tokens[0]) and _HEX.match(tokens[1]):
            section, rest = pending, tokens
        elif len(tokens) >= 3 and _HEX.match(tokens[1]) and _HEX.match(tokens[2]) and \
                (tokens[0].startswith(".") or tokens[0] in ("COMMON", "*fill*")):
            section, rest = tokens[0], tokens[1:]
        elif tokens[0] == "*fill*" and len(tokens) >= 3 and _HEX.match(tokens[2]):
            section, rest = "*fill*", tokens[1:]
        else:
            pending = None
            continue
        pending = None
        size = int(rest[1], 16)
        obj = "*fill*" if section == "*fill*" else " ".join(rest[2:])
        if size and obj:
            out.entries.append(MapEntry(current, section, int(rest[0], 16), size, obj))
    if not out.output_sections:
        raise AfkdError("map file: no 'Linker script and memory map' section found (is it a GNU ld map?)")
    return out


def stack_bound(elf_path: str | Path, ci_paths: Sequence[str | Path], indirect_targets: Sequence[str] = ()) -> dict:
    """The firmware's stack bound (:func:`afkd.host_tools.stack_usage.firmware_stack_bound`) as
    plain figures: ``worst_bytes`` (None when there is no bound), ``bounded``, ``problems``, the
    deepest ``path`` from reset, the ``interrupts`` nested on top and the ``method``."""
    from afkd.host_tools.stack_usage import firmware_stack_bound

    if not ci_paths:
        return {"worst_bytes": None, "bounded": False, "path": [], "interrupts": [],
                "problems": ["no call graph: the firmware was not compiled with -fcallgraph-info=su"],
                "method": "none"}
    try:
        bound = firmware_stack_bound(elf_path, ci_paths, indirect_targets=indirect_targets)
    except AfkdError as err:
        return {"worst_bytes": None, "bounded": False, "path": [], "interrupts": [], "problems": [str(err)],
                "method": "none"}
    return {"worst_bytes": bound["worst_bytes"], "bounded": bound["bounded"], "problems": bound["problems"],
            "path": bound["reset_path"]["path"],
            "interrupts": [{"handler": i["root"], "worst_bytes": i["worst_bytes"]} for i in bound["interrupts"]],
            "exception_frame_bytes": bound["exception_frame_bytes"], "method": bound["method"]}


@dataclass
class Footprint:
    flash_bytes: int
    ram_bytes: int
    flash: dict[str, int]
    ram: dict[str, int]
    stack: dict
    heap: dict
    static_ram_bytes: int  # .data + .bss + reserved sections, as the linker lays them out

    @property
    def model_flash_bytes(self) -> int:
        """Flash of the model alone: constants, generated step code and runtime kernels."""
        return sum(self.flash.get(c, 0) for c in MODEL_FLASH_CATEGORIES)

    def to_dict(self) -> dict:
        return {**asdict(self), "model_flash_bytes": self.model_flash_bytes}


def _category(obj: str, rules: FootprintRules) -> str:
    if obj == "*fill*":
        return "padding"
    m = _ARCHIVE_MEMBER.match(obj)
    path = m.group("archive") if m else obj
    if rules.weight_objects and not m and re.search(rules.weight_objects, obj) and \
            re.search(rules.generated_objects, obj):
        return "weights"
    if re.search(rules.generated_objects, obj):
        return "generated_code"
    if re.search(rules.harness_objects, obj):
        return "harness"
    if re.search(rules.runtime_objects, obj):
        return "runtime"
    if (m and _TOOLCHAIN_ARCHIVE.search(path)) or _TOOLCHAIN_OBJECT.search(obj):
        return "libc"
    return "startup_board"


def _in_regions(address: int, regions: dict, writable: bool) -> bool:
    return any(origin <= address < origin + length and (("w" in attrs.lower()) == writable)
               for origin, length, attrs in regions.values())


def analyze(elf_path: str | Path, map_path: str | Path, ci_paths: Iterable[str | Path] = (),
            rules: FootprintRules | None = None, *, scratch_in_state: int = 0,
            indirect_targets: Sequence[str] = ()) -> Footprint:
    """Footprint of ``elf_path`` using its GNU ld map file and, if given, its ``.ci`` call graph
    (the stack bound; ``indirect_targets``: every function an indirect call may reach, see
    :func:`afkd.host_tools.stack_usage.harness_indirect_targets`).

    ``scratch_in_state``: bytes of the model state that are per-step scratch (the generator puts
    its scratch frames inside the state struct; its context says how many): moved from
    ``model_state`` to ``scratch``.
    """
    from elftools.common.exceptions import ELFError
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile

    rules = rules or FootprintRules()
    ci_paths = list(ci_paths)
    try:
        mapfile = parse_map(Path(map_path).read_text(errors="replace"))
    except OSError as e:
        raise AfkdError(f"{map_path}: cannot read the map file ({e.strerror})") from None
    try:
        with open(elf_path, "rb") as f:
            elf = ELFFile(f)
            segments = [(s["p_vaddr"], s["p_paddr"], s["p_memsz"]) for s in elf.iter_segments() if s["p_type"] == "PT_LOAD"]
            sections = {}
            for s in elf.iter_sections():
                if s["sh_flags"] & SH_FLAGS.SHF_ALLOC and s["sh_size"]:
                    vma = s["sh_addr"]
                    lma = next((vma - v + p for v, p, n in segments if v <= vma < v + max(n, 1)), vma)
                    sections[s.name] = (vma, lma, s["sh_size"], s["sh_type"] != "SHT_NOBITS",
                                        bool(s["sh_flags"] & SH_FLAGS.SHF_WRITE))
            symtab = elf.get_section_by_name(".symtab")
            symbols = [(sym.name, sym["st_value"], sym["st_size"], sym["st_info"]["type"], sym["st_shndx"])
                       for sym in (symtab.iter_symbols() if symtab else ())]
    except (OSError, ELFError) as e:
        raise AfkdError(f"{elf_path}: not a readable ELF file ({e})") from None

    # Which output sections take flash, which take RAM.
    in_flash, in_ram = {}, {}
    for name, (vma, lma, size, has_bits, writable) in sections.items():
        if mapfile.regions:
            in_flash[name] = has_bits and _in_regions(lma, mapfile.regions, writable=False)
            in_ram[name] = _in_regions(vma, mapfile.regions, writable=True)
        else:
            in_flash[name], in_ram[name] = has_bits, writable
    flash_total = sum(s[2] for n, s in sections.items() if in_flash[n])
    static_ram = sum(s[2] for n, s in sections.items() if in_ram[n])

    flash = dict.fromkeys(FLASH_CATEGORIES, 0)
    ram = dict.fromkeys(RAM_CATEGORIES, 0)
    ram_by_object_category: dict[str, int] = {}
    entries = sorted((e for e in mapfile.entries if e.output_section in sections), key=lambda e: e.address)
    starts = [e.address for e in entries]
    category_of = {}
    for e in entries:
        cat = category_of.setdefault(e.obj, _category(e.obj, rules))
        if cat == "generated_code" and rules.generated_rodata_is_weights and e.section.startswith(".rodata") \
                and not in_ram[e.output_section]:
            cat = "weights"  # the generator's const parameter arrays
        if in_flash[e.output_section]:
            flash[cat] += e.size
        if in_ram[e.output_section]:
            ram_by_object_category[cat] = ram_by_object_category.get(cat, 0) + e.size

    def holder(address: int) -> MapEntry | None:
        i = bisect_right(starts, address) - 1
        return entries[i] if i >= 0 and address < entries[i].address + entries[i].size else None

    # Symbol rules: move named weights out of their object's flash category, state/scratch into theirs.
    state_bytes = scratch_bytes = 0
    moved_from_state_objects = 0
    for name, value, size, kind, shndx in symbols:
        if kind != "STT_OBJECT" or not size or not name:
            continue
        section = next((n for n, s in sections.items() if s[0] <= value < s[0] + s[2]), None)
        if section is None:
            continue
        owner = holder(value)
        owner_cat = category_of.get(owner.obj) if owner else None
        if rules.weight_symbols and re.search(rules.weight_symbols, name) and in_flash[section] \
                and not in_ram[section] and owner_cat != "weights":
            flash["weights"] += size
            if owner_cat:
                flash[owner_cat] -= size
        elif in_ram[section] and rules.state_symbols and re.search(rules.state_symbols, name):
            state_bytes += size
            moved_from_state_objects += size if owner_cat == "generated_code" else 0
        elif in_ram[section] and rules.scratch_symbols and re.search(rules.scratch_symbols, name):
            scratch_bytes += size
            moved_from_state_objects += size if owner_cat == "generated_code" else 0

    # Model state: the state symbols, else all static RAM of the generated model objects.
    generated_ram = ram_by_object_category.get("generated_code", 0) + ram_by_object_category.get("weights", 0)
    ram["model_state"] = state_bytes if state_bytes else generated_ram - moved_from_state_objects
    ram["scratch"] = scratch_bytes
    if scratch_in_state:
        if not 0 <= scratch_in_state <= ram["model_state"]:
            raise AfkdError(f"footprint: {scratch_in_state} scratch bytes do not fit in a model state of "
                            f"{ram['model_state']} bytes")
        ram["model_state"] -= scratch_in_state
        ram["scratch"] += scratch_in_state
    flash["padding"] += flash_total - sum(flash.values())

    sizes = {name: value for name, value, size, kind, shndx in symbols if shndx == "SHN_ABS"}
    heap_reserved = next((sizes[n] for n in HEAP_SIZE_SYMBOLS if n in sizes), None)
    if heap_reserved is None:
        heap_reserved = sum(s[2] for n, s in sections.items() if in_ram[n] and "heap" in n.lower() and "stack" not in n.lower())
    stack_reserved = next((sizes[n] for n in STACK_SIZE_SYMBOLS if n in sizes), None)
    if stack_reserved is None:
        stack_reserved = sum(s[2] for n, s in sections.items() if in_ram[n] and "stack" in n.lower() and "heap" not in n.lower())
    allocators = sorted({name for name, value, size, kind, shndx in symbols
                         if kind == "STT_FUNC" and shndx != "SHN_UNDEF" and name in ALLOCATOR_SYMBOLS})

    stack = stack_bound(elf_path, ci_paths, indirect_targets)
    stack["reserved_bytes"] = stack_reserved
    # Reserved heap/stack sections are already inside static RAM; count them once, under their names.
    ram["heap"] = heap_reserved
    ram["other_static"] = max(static_ram - ram["model_state"] - ram["scratch"] - heap_reserved - stack_reserved, 0)
    ram["stack"] = max(stack_reserved, stack["worst_bytes"] or 0)
    stack["fits_reserved"] = None if not stack_reserved or stack["worst_bytes"] is None \
        else stack["worst_bytes"] <= stack_reserved
    heap = {"reserved_bytes": heap_reserved, "allocator_symbols": allocators, "uses_heap": bool(allocators)}
    return Footprint(flash_total, sum(ram.values()), flash, ram, stack, heap, static_ram)
