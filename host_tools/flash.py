"""``afkd flash``: write an exported firmware to a board through a debug probe.

    afkd flash --build DIR [--probe openocd|pyocd|stlink] [--serial SN] [--dry-run]

The board comes from ``DIR/export.json`` (``afkd export --board``); the probe tool runs as a
child process with its own output on the terminal. ``--dry-run`` prints the exact command and
runs nothing. The three probes:

- ``openocd`` (default): ``openocd -f interface/stlink.cfg -f target/<family>.cfg -c "program
  <elf> verify reset exit"``, the ST-LINK of every Nucleo and Discovery board;
- ``pyocd``: ``pyocd flash --target <part> <elf>`` (the part's CMSIS pack must be installed
  once: ``pyocd pack install <part>``);
- ``stlink``: the open-source stlink tools, ``st-flash --reset write <bin> 0x08000000``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from afkd.errors import AfkdError

PROBES = ("openocd", "pyocd", "stlink")
FLASH_BASE = 0x08000000  # every STM32 board afkd has


def flash_command(build: Path, probe: str, serial: str | None = None) -> list[str]:
    """The command that writes ``build``'s firmware with ``probe``; AfkdError when it cannot."""
    from afkd.export.boards import BOARDS

    build = Path(build)
    manifest_path = build / "export.json"
    if not manifest_path.is_file():
        raise AfkdError(f"{build}: not an afkd firmware build (no export.json; run afkd export --target stm32)")
    try:
        firmware = json.loads(manifest_path.read_text()).get("firmware") or {}
    except json.JSONDecodeError as error:
        raise AfkdError(f"{manifest_path}: not valid JSON ({error.msg})") from None
    board = BOARDS.get(firmware.get("board", ""))
    if board is None:
        raise AfkdError(f"{manifest_path}: no firmware board recorded (export with --target stm32)")
    if not board.openocd_target:
        raise AfkdError(f"{build}: board {board.name} is not flashed by a probe (it runs on the host or an emulator)")
    if not firmware.get("firmware"):
        raise AfkdError(f"{build}: the project was exported with --no-build; build it first")
    elf = (build / firmware["firmware"]).resolve()
    image = elf.with_suffix(".bin") if probe == "stlink" else elf
    if not image.is_file():
        raise AfkdError(f"{image}: missing (rebuild the project: cmake --build {build / 'build'})")
    if probe == "openocd":
        command = ["openocd", "-f", "interface/stlink.cfg"]
        if serial:
            command += ["-c", f"adapter serial {serial}"]
        return command + ["-f", f"target/{board.openocd_target}.cfg", "-c", f"program {image} verify reset exit"]
    if probe == "pyocd":
        return ["pyocd", "flash", "--target", board.pyocd_target, *(["--uid", serial] if serial else []), str(image)]
    if probe == "stlink":
        return ["st-flash", *(["--serial", serial] if serial else []), "--reset", "write", str(image),
                f"0x{FLASH_BASE:08x}"]
    raise AfkdError(f"--probe {probe}: choose one of {', '.join(PROBES)}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--build", required=True, help="an afkd export --target stm32 output directory")
    parser.add_argument("--probe", choices=PROBES, default="openocd",
                        help="openocd (default), pyocd or stlink (st-flash); all drive the board's ST-LINK")
    parser.add_argument("--serial", default=None, help="the probe's serial number, when several are plugged in")
    parser.add_argument("--dry-run", action="store_true", help="print the command and run nothing")


def run(args: argparse.Namespace) -> int:
    command = flash_command(Path(args.build), args.probe, args.serial)
    print(shlex.join(command))
    if args.dry_run:
        return 0
    if shutil.which(command[0]) is None:
        raise AfkdError(f"--probe {args.probe}: {command[0]} is not on PATH (install it, or choose another probe)")
    result = subprocess.run(command)
    if result.returncode:
        print(f"afkd flash: {command[0]} exited with {result.returncode} (is the board connected and powered?)",
              file=sys.stderr)
        return 1
    return 0
