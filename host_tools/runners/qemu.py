"""The ``qemu`` runner: qemu-system-arm with the firmware's UART on stdio, under -icount.

The machine follows from where the ELF loads: 0x08000000 (STM32 flash) -> netduinoplus2,
0x00000000 -> mps2-an386, 0x10000000 (secure SSRAM1) -> mps2-an505, unless the project's export.json names the board (mps2-an500 for
mps2_an500, mps2-an505 for mps2_an505). ``-icount shift=N,sleep=off`` makes virtual time 2^N ns per
instruction, which the firmware's SysTick turns into an instruction count; N is chosen per
machine so one SysTick tick is about one instruction or finer (168 MHz * 8 ns = 1.34 ticks per
instruction on netduinoplus2, 25 MHz * 64 ns = 1.6 on mps2-an386).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from afkd.errors import AfkdError
from afkd.host_tools.runners.client import FirmwareRunner
from afkd.host_tools.runners.link import ProcessLink

DEFAULT_ICOUNT_SHIFT = {"netduinoplus2": 3, "mps2-an386": 6, "mps2-an500": 6, "mps2-an505": 6}


def machine_for_elf(elf: Path) -> str:
    """netduinoplus2 or mps2-an386, from the lowest loadable segment's physical address."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(elf, "rb") as stream:
            elf_file = ELFFile(stream)
            if elf_file["e_machine"] != "EM_ARM":
                raise AfkdError(f"{elf}: not an ARM ELF ({elf_file['e_machine']})")
            addresses = [s["p_paddr"] for s in elf_file.iter_segments()
                         if s["p_type"] == "PT_LOAD" and s["p_filesz"] > 0]
    except (ELFError, OSError) as error:
        raise AfkdError(f"{elf}: cannot read as ELF: {error}") from error
    if not addresses:
        raise AfkdError(f"{elf}: no loadable segment")
    lowest = min(addresses)
    if 0x08000000 <= lowest < 0x08100000:
        return "netduinoplus2"
    if lowest < 0x00400000:
        return "mps2-an386"
    if 0x10000000 <= lowest < 0x10400000:
        return "mps2-an505"
    raise AfkdError(f"{elf}: loads at 0x{lowest:08x}, neither STM32 flash nor MPS2 SSRAM")


def qemu_command(elf: Path, machine: str, icount_shift: int) -> list[str]:
    """The QEMU command line: no display, no monitor, the first serial port on stdio without
    the monitor multiplexer (which would eat 0x01 bytes), semihosting for the firmware's exit."""
    return [
        "qemu-system-arm", "-M", machine, "-nographic", "-monitor", "none",
        "-chardev", "stdio,id=afkd_uart,mux=off,signal=off", "-serial", "chardev:afkd_uart",
        "-icount", f"shift={icount_shift},sleep=off",
        "-semihosting-config", "enable=on,target=native",
        "-kernel", str(elf),
    ]


def start_qemu(target: str | os.PathLike, *, timeout_s: float, boot_timeout_s: float,
               icount_shift: int | None = None, machine: str | None = None) -> FirmwareRunner:
    from afkd.host_tools.runners import find_firmware

    if shutil.which("qemu-system-arm") is None:
        raise AfkdError("qemu: qemu-system-arm is not on PATH")
    elf = find_firmware(target, ("firmware.elf",)).resolve()
    if machine is None:  # the exported board says which machine; else the load address does
        from afkd.export.boards import BOARDS
        from afkd.host_tools.runners import exported_firmware

        board = BOARDS.get(exported_firmware(elf).get("board", ""))
        machine = board.qemu_machine if board and board.qemu_machine else machine_for_elf(elf)
    shift = DEFAULT_ICOUNT_SHIFT.get(machine, 3) if icount_shift is None else icount_shift
    if not 0 <= shift <= 10:
        raise AfkdError(f"qemu: icount shift {shift} outside 0..10")
    scratch = Path(tempfile.mkdtemp(prefix="afkd-qemu-"))
    link = ProcessLink(qemu_command(elf, machine, shift), name=f"qemu:{machine}",
                       stderr_path=scratch / "stderr.txt")
    return FirmwareRunner(link, name=f"qemu:{machine}:{elf.name}", timeout_s=timeout_s,
                          boot_timeout_s=boot_timeout_s,
                          on_close=lambda: shutil.rmtree(scratch, ignore_errors=True))
